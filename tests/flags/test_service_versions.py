"""Every change is a version with its diff and audit entry, announced to live viewers after the commit."""

from __future__ import annotations

import json

import pytest

from nous.audit import service as audit
from nous.flags import service
from nous.flags.models import Flag, FlagVersion

ACTOR = "admin@nous.test"


def test_every_change_is_a_version_with_a_diff_and_an_audit_entry(ctx, make_flag) -> None:
    make_flag("checkout.new", description="new checkout")
    service.set_enabled("checkout.new", True, actor=ACTOR, ip="10.0.0.9")
    service.set_rollout("checkout.new", 25, actor=ACTOR)
    service.set_rollout("checkout.new", 40, actor=ACTOR)
    versions = service.history("checkout.new")
    assert [(v.version, v.action) for v in versions] == [(4, "rollout"), (3, "rollout"), (2, "enable"), (1, "create")]
    assert versions[0].diff == [{"path": "strategies[0].parameters.rollout", "op": "changed", "before": "25",
                                 "after": "40"}]
    assert versions[1].diff == [{"path": "strategies[0]", "op": "added", "before": None,
                                 "after": {"name": "flexibleRollout", "constraints": [],
                                           "parameters": {"rollout": "25", "stickiness": "default",
                                                          "groupId": "checkout.new"}}}]
    assert versions[2].diff == [{"path": "enabled", "op": "changed", "before": False, "after": True}]
    assert versions[2].before["enabled"] is False and versions[2].after["enabled"] is True
    events = audit.query(action="flags.")
    assert [e.action for e in events] == ["flags.update", "flags.update", "flags.update", "flags.create"]
    assert events[2].ip == "10.0.0.9" and events[2].before["enabled"] is False and events[2].after["enabled"]


def test_a_change_that_changes_nothing_makes_no_version(ctx, make_flag) -> None:
    make_flag("same", enabled=True)
    service.set_enabled("same", True, actor=ACTOR)
    assert [v.version for v in service.history("same")] == [1]


def test_versions_are_rows_of_their_own(ctx, make_flag) -> None:
    from nous.extensions import db

    make_flag("rows")
    service.set_enabled("rows", True, actor=ACTOR)
    assert db.session.query(FlagVersion).filter_by(flag_key="rows").count() == 2
    assert db.session.query(Flag).filter_by(key="rows").one().version == 2


def test_diff_reports_additions_removals_and_changes() -> None:
    before = {"a": 1, "list": [1, 2, 3], "nested": {"x": "y"}}
    after = {"a": 2, "list": [1, 2], "nested": {"x": "y", "z": True}, "new": None}
    assert service.diff(before, after) == [
        {"path": "a", "op": "changed", "before": 1, "after": 2},
        {"path": "list[2]", "op": "removed", "before": 3, "after": None},
        {"path": "nested.z", "op": "added", "before": None, "after": True},
        {"path": "new", "op": "added", "before": None, "after": None},
    ]
    assert service.diff({"v": 1}, {"v": 1.0}) == [{"path": "v", "op": "changed", "before": 1, "after": 1.0}]
    assert service.diff([1], [1]) == []


def test_changes_are_announced_to_live_viewers(ctx, make_flag, redis_conn) -> None:
    events = pytest.importorskip("nous.live.events")
    make_flag("live.flag")
    service.set_enabled("live.flag", True, actor=ACTOR)
    with pytest.raises(service.FlagError):
        service.set_rollout("live.flag", 500, actor=ACTOR)  # refused: nothing announced
    frames = [json.loads(text)["data"] for _id, text in events.replay(redis_conn, ("flags",))]
    assert [(f["key"], f["action"], f["enabled"], f["version"]) for f in frames] == [
        ("live.flag", "created", False, 1), ("live.flag", "enabled", True, 2)]
    assert frames[1]["actor"] == ACTOR
