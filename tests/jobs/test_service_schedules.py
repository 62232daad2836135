"""The job service's recurring schedules: cron and interval, once per slot, declared ones kept in sync."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nous.clock import utcnow
from nous.extensions import db
from nous.jobs import service
from nous.jobs.models import JobSchedule
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_row, store_oversized_schedule


def test_cron_schedule_enqueues_once_per_slot(ctx):
    before = utcnow()
    s = service.schedule_cron("nightly-echo", "*/5 * * * *", "tests.echo", "tick", n=1)
    nxt = datetime.fromisoformat(s["next_run_at"])
    assert nxt > before and nxt.minute % 5 == 0 and nxt.second == 0
    assert service.run_due_schedules(now=nxt - timedelta(seconds=1)) == []  # not due yet
    started = service.run_due_schedules(now=nxt + timedelta(seconds=1))
    assert len(started) == 1
    run = run_row(started[0])
    assert run.schedule == "nightly-echo" and run.actor == "schedule:nightly-echo"
    assert run.args == {"args": ["tick"], "kwargs": {"n": 1}}
    assert service.run_due_schedules(now=nxt + timedelta(seconds=2)) == []  # that slot has fired
    row = db.session.get(JobSchedule, "nightly-echo")
    db.session.refresh(row)
    assert row.last_job_id == started[0]
    assert row.next_run_at.replace(tzinfo=UTC) > nxt


def test_interval_schedule_and_unschedule(ctx):
    service.schedule_interval("every-10s", 10, "tests.echo")
    assert len(service.run_due_schedules(now=utcnow() + timedelta(seconds=11))) == 1
    assert service.unschedule("every-10s") is True
    assert service.unschedule("every-10s") is False


@pytest.mark.parametrize(("args", "error"), [
    (("bad name!", "* * * * *", "tests.echo"), "schedule name"),
    (("x", "61 * * * *", "tests.echo"), "not a cron expression"),
    (("x", "* * * * *", "no.such"), "no task named"),
])
def test_bad_schedules_are_refused(ctx, args, error):
    with pytest.raises((ValueError, service.UnknownTask), match=error):
        service.schedule_cron(*args)


def test_a_schedule_with_oversized_arguments_is_refused_when_declared(ctx):
    with pytest.raises(service.BadArguments, match="larger than") as refused:
        service.schedule_cron("big", "0 * * * *", "tests.echo", "x" * 20_000)
    assert refused.value.field == "args" and db.session.get(JobSchedule, "big") is None


def test_a_stored_schedule_whose_arguments_cannot_run_is_refused_as_its_state(ctx):
    """A row stored before its arguments were checked: running it now is a JobError (the schedule's
    state), not a bare ValueError that reads as the caller's input or reaches a page as a 500."""
    store_oversized_schedule("big")
    with pytest.raises(service.JobError, match=r"schedule big cannot run: .*larger than") as refused:
        service.run_schedule_now("big", "admin@example.com")
    assert not isinstance(refused.value, ValueError)


def test_declared_schedules_are_kept_in_sync(ctx):
    service.sync_declared_schedules()
    row = db.session.get(JobSchedule, "jobs.prune_history")
    assert row.cron == "17 3 * * *" and row.source == "code" and row.enabled
    first_next = row.next_run_at
    service.sync_declared_schedules()  # idempotent
    db.session.refresh(row)
    assert row.next_run_at == first_next
