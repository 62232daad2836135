"""Changing flags: restore, stale forms, archive, rollout."""

from __future__ import annotations

import pytest

from nous.audit import service as audit
from nous.flags import service
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"


def test_restore_brings_back_an_old_definition_as_a_new_version(ctx, make_flag) -> None:
    make_flag("search.v2", enabled=True, strategies=[rollout(10)])
    service.update_flag("search.v2", {"strategies": [rollout(90, constraint("environment", "IN", ["prod"]))],
                                      "description": "wider"}, actor=ACTOR)
    restored = service.restore_version("search.v2", 1, actor="cli:ops")
    assert restored.version == 3
    assert restored.strategies == [rollout(10)] and restored.description == ""
    latest = service.history("search.v2")[0]
    assert latest.action == "restore" and latest.note == "restored version 1" and latest.actor == "cli:ops"
    assert {d["path"] for d in latest.diff} >= {"description", "strategies[0].parameters.rollout"}
    assert audit.query(action="flags.restore")[0].target == "search.v2"
    with pytest.raises(service.FlagError) as err:
        service.restore_version("search.v2", 99, actor=ACTOR)
    assert err.value.status == 404


def test_stale_versions_of_a_form_are_refused(ctx, make_flag) -> None:
    make_flag("busy")
    service.set_enabled("busy", True, actor="someone-else")
    with pytest.raises(service.FlagConflict, match="changed since you opened it"):
        service.update_flag("busy", {"description": "mine"}, actor=ACTOR, expected_version=1)
    assert service.get_flag("busy").description == ""


def test_archive_turns_a_flag_off_and_keeps_its_history(ctx, make_flag) -> None:
    make_flag("parent", enabled=True)
    make_flag("child", enabled=True, dependencies=[{"feature": "parent"}])
    with pytest.raises(service.FlagError, match="child"):
        service.archive_flag("parent", actor=ACTOR)
    service.archive_flag("child", actor=ACTOR)
    assert [f.key for f in service.list_flags()] == ["parent"]
    assert [f.key for f in service.list_flags(archived=True)] == ["child"]
    back = service.unarchive_flag("child", actor=ACTOR)
    assert back.archived is False and back.enabled is False
    assert [v.action for v in service.history("child")] == ["unarchive", "archive", "create"]


def test_rollout_replaces_a_lone_default_strategy_and_keeps_other_strategies(ctx, make_flag) -> None:
    make_flag("x", strategies=[{"name": "default"}])
    assert service.set_rollout("x", "30", actor=ACTOR).strategies == [
        {"name": "flexibleRollout", "constraints": [],
         "parameters": {"rollout": "30", "stickiness": "default", "groupId": "x"}}]
    make_flag("y", strategies=[{"name": "userWithId", "parameters": {"userIds": "u1"}}])
    assert [s["name"] for s in service.set_rollout("y", 5, actor=ACTOR).strategies] == ["userWithId",
                                                                                       "flexibleRollout"]
    for bad in ("101", "-1", "half", "2.5"):
        with pytest.raises(service.FlagError):
            service.set_rollout("y", bad, actor=ACTOR)
