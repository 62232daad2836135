"""Flag changes start the workflows that listen to `flag.changed`, after the commit, and a listener
that fails never undoes or breaks the change."""

from __future__ import annotations

import pytest

from nous.extensions import db
from nous.flags import service
from nous.flags.models import Flag, FlagState, FlagVersion
from nous.workflows import service as workflows
from nous.workflows.models import WorkflowRun
from nous.workflows.service import runs as workflow_runs
from tests.flags.conftest import constraint, rollout

ADMIN = "admin@nous.test"
ON_FLAG_CHANGE = """\
name: Flag watcher
trigger: {event: flag.changed}
steps:
  - id: later
    uses: delay
    with: {seconds: 3600}
"""


def runs() -> list[WorkflowRun]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(WorkflowRun).where(WorkflowRun.workflow_name == "Flag watcher")
                                   .order_by(WorkflowRun.id)))


def test_toggling_rolling_out_editing_and_restoring_a_flag_start_a_run_each(ctx, make_flag) -> None:
    make_flag("watched", type="release", strategies=[rollout(10, constraint("plan", "IN", ["pro"]))])
    workflows.create(ON_FLAG_CHANGE, ADMIN)
    assert runs() == []  # creating a flag is not a change of one

    service.set_enabled("watched", True, actor="ops@example.com", ip="127.0.0.1")
    [run] = runs()
    assert run.trigger == "event" and run.event == "flag.changed" and run.status == "queued"
    assert run.input["flag"] == {"key": "watched", "enabled": True, "type": "release", "archived": False,
                                 "version": 2, "environment": "production"}
    assert run.input["action"] == "enable" and run.input["actor"] == "ops@example.com"
    assert run.input["changed"] == ["enabled"]
    assert run.input["changes"] == [{"path": "enabled", "op": "changed", "before": False, "after": True}]

    service.set_enabled("watched", True, actor="ops@example.com")  # no change: no version, no run
    assert len(runs()) == 1

    service.set_rollout("watched", 60, actor="ops@example.com")
    service.update_flag("watched", {"description": "Now documented"}, actor="ops@example.com")
    service.set_enabled("watched", False, actor="ops@example.com")
    service.restore_version("watched", 2, actor="ops@example.com")
    later = runs()[1:]
    assert [(r.input["action"], r.input["changed"]) for r in later] == [
        ("rollout", ["strategies"]), ("update", ["description"]), ("disable", ["enabled"]),
        ("restore", ["description", "enabled", "strategies"])]
    assert later[0].input["changes"][0]["path"] == "strategies[0].parameters.rollout"
    assert later[0].input["changes"][0]["after"] == "60"
    assert later[-1].input["note"] == "restored version 2" and later[-1].input["flag"]["enabled"] is True


def test_the_console_switch_starts_a_run(admin_client, ctx, make_flag) -> None:
    make_flag("from.console")
    workflows.create(ON_FLAG_CHANGE, ADMIN)
    resp = admin_client.post("/admin/beta/flags/from.console/switch", data={"to": "on"})
    assert resp.status_code in (200, 303)
    [run] = runs()
    assert run.input["flag"]["key"] == "from.console" and run.input["action"] == "enable"
    assert run.input["actor"] == "admin@nous.test"


def test_a_disabled_workflow_gets_no_run(ctx, make_flag) -> None:
    make_flag("quiet")
    wf = workflows.create(ON_FLAG_CHANGE, ADMIN, enabled=False)
    service.set_enabled("quiet", True, actor="t")
    assert runs() == []
    workflows.set_enabled(wf.id, True, ADMIN)
    service.set_enabled("quiet", False, actor="t")
    assert [r.input["action"] for r in runs()] == ["disable"]


@pytest.mark.parametrize("failure", ["trigger_event", "start_run"])
def test_a_failing_listener_never_breaks_the_flag_change(ctx, make_flag, monkeypatch, failure: str) -> None:
    make_flag("sturdy")
    workflows.create(ON_FLAG_CHANGE, ADMIN)

    def broken(*_args, **_kwargs):
        raise RuntimeError("listener exploded")

    monkeypatch.setattr(workflow_runs if failure == "start_run" else workflows, failure, broken)
    flag = service.set_enabled("sturdy", True, actor="t")  # does not raise
    assert flag.key == "sturdy"
    db.session.expire_all()
    assert db.session.scalar(db.select(FlagState.enabled).join(Flag).where(
        Flag.key == "sturdy", FlagState.environment == "production")) is True
    versions = db.session.scalars(db.select(FlagVersion.action).where(FlagVersion.flag_key == "sturdy")
                                  .order_by(FlagVersion.version)).all()
    assert versions == ["create", "enable"]
    assert runs() == []
    from nous import flags

    assert flags.is_enabled("sturdy", {}) is True  # and evaluation follows the change
