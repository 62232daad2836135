"""Enable-at / disable-at, carried out when due by the recurring job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nous.flags import service

ACTOR = "admin@nous.test"


def test_schedules_switch_flags_when_due_and_only_then(ctx, make_flag) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    make_flag("launch", enable_at="2026-12-01T09:00:00+00:00")
    make_flag("sunset", enabled=True, disable_at="2026-12-01T10:30:00+01:00")  # 09:30 UTC
    make_flag("later", enable_at=(now + timedelta(days=1)).isoformat())
    assert service.apply_schedules(now - timedelta(seconds=1)) == []
    assert service.apply_schedules(now) == ["launch"]
    assert service.apply_schedules(now) == []  # carried out once
    launch = service.get_flag("launch")
    assert launch.enabled is True and launch.enable_at is None
    version = service.history("launch")[0]
    assert version.action == "schedule" and version.actor == service.SCHEDULE_ACTOR and "enable at" in version.note
    assert service.apply_schedules(now + timedelta(minutes=31)) == ["sunset"]
    assert service.get_flag("sunset").enabled is False
    assert service.get_flag("later").enabled is False


def test_when_both_times_are_due_the_later_decides(ctx, make_flag) -> None:
    make_flag("window", enable_at="2026-01-01T08:00:00Z", disable_at="2026-01-01T09:00:00Z")
    assert service.apply_schedules(datetime(2026, 1, 1, 12, tzinfo=UTC)) == ["window"]
    flag = service.get_flag("window")
    assert flag.enabled is False and flag.enable_at is None and flag.disable_at is None


def test_the_schedule_task_is_declared_for_the_job_layer(ctx, make_flag) -> None:
    from nous.jobs import registry

    task = registry.get("flags.apply_schedules")
    assert task.cron == "* * * * *" and task.path == "nous.flags.tasks.apply_schedules"
    make_flag("due", enable_at="2020-01-01T00:00:00Z")
    assert task.func() == {"changed": ["due"]}
