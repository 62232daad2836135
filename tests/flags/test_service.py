"""The flag store: validation, versions with diffs, restore, archive, schedule, import/export, segments, tokens."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from nous.audit import service as audit
from nous.flags import service
from nous.flags.models import Flag, FlagVersion
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"


@pytest.mark.parametrize(("fields", "where", "message"), [
    ({"key": "bad key"}, "key", "no spaces"),
    ({"key": "a/b"}, "key", "no spaces, control characters or /"),
    ({"key": "x" * 201}, "key", "at most 200"),
    ({"key": "ok", "type": "toggle"}, "type", "one of release"),
    ({"key": "ok", "enabled": "yes"}, "enabled", "true or false"),
    ({"key": "ok", "strategies": {"name": "default"}}, "strategies", "must be a list"),
    ({"key": "ok", "strategies": [rollout(150)]}, "strategies[0].parameters.rollout", "from 0 to 100"),
    ({"key": "ok", "strategies": [{"name": "magic"}]}, "strategies[0].name", 'unknown strategy "magic"'),
    ({"key": "ok", "strategies": [rollout(5, constraint("v", "SEMVER_GT", "two"))]},
     "strategies[0].constraints[0].value", "not a semantic version"),
    ({"key": "ok", "strategies": [rollout(5, constraint("e", "REGEX", "(unclosed"))]},
     "strategies[0].constraints[0].value", "not a valid RE2"),
    ({"key": "ok", "strategies": [rollout(5, constraint("e", "LIKE", ["x"]))]},
     "strategies[0].constraints[0].operator", 'unknown operator "LIKE"'),
    ({"key": "ok", "strategies": [{"name": "default", "segments": [7]}]}, "strategies[0].segments[0]",
     'unknown segment "7"'),
    ({"key": "ok", "variants": [{"name": "a", "weight": 0}]}, "variants", "total weight"),
    ({"key": "ok", "variants": [{"name": "a", "weight": 1, "payload": {"type": "json", "value": "{"}}]},
     "variants[0].payload.value", "not valid JSON"),
    ({"key": "ok", "dependencies": [{"feature": "nowhere"}]}, "dependencies[0].feature", 'unknown flag "nowhere"'),
    ({"key": "ok", "enable_at": "next tuesday"}, "enable_at", "date and time"),
    ({"key": "ok", "colour": "red"}, "colour", "unknown field"),
])
def test_invalid_definitions_are_refused_per_field(ctx, fields, where, message) -> None:
    with pytest.raises(service.FlagError) as err:
        service.create_flag(fields, actor=ACTOR)
    assert message in err.value.errors[where], err.value.errors
    assert err.value.status in (400, 422)
    assert service.list_flags() == []


@pytest.mark.parametrize(("fields", "summary"), [
    ({}, "off"),
    ({"enabled": True}, "everyone"),
    ({"enabled": True, "strategies": [rollout(25, constraint("plan", "IN", ["pro"]))]}, "25 % if 1 condition(s)"),
    ({"enabled": True, "strategies": [{"name": "userWithId", "parameters": {"userIds": "a, b"}}, rollout(5)]},
     "2 user(s) or 5 %"),
    ({"enabled": True, "strategies": [rollout(100)], "variants": [{"name": "a", "weight": 1},
                                                                  {"name": "b", "weight": 1}]}, "100 % · 2 variants"),
    ({"enabled": True, "dependencies": [{"feature": "parent"}]}, "everyone · needs parent"),
])
def test_the_list_says_in_a_few_words_who_gets_a_flag(ctx, make_flag, fields, summary) -> None:
    make_flag("parent", enabled=True)
    assert service.rollout_summary(make_flag("child", **fields)) == summary


def test_unicode_keys_are_welcome(ctx, make_flag) -> None:
    make_flag("café.menü-ñ", enabled=True)
    assert service.get_flag("café.menü-ñ").enabled is True
    with pytest.raises(service.FlagError) as err:
        make_flag("café.menü-ñ")
    assert err.value.status == 409


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


def test_dependencies_are_one_level_only(ctx, make_flag) -> None:
    make_flag("a", enabled=True)
    make_flag("b", enabled=True, dependencies=[{"feature": "a"}])
    with pytest.raises(service.FlagError) as err:
        make_flag("c", dependencies=[{"feature": "b"}])
    assert "one level only" in err.value.errors["dependencies[0].feature"]
    with pytest.raises(service.FlagError) as err:
        service.update_flag("a", {"dependencies": [{"feature": "b"}]}, actor=ACTOR)
    assert "one level only" in str(err.value)


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


def test_the_simple_form_round_trips_and_knows_its_limits(ctx, make_flag) -> None:
    conditions = [service.condition_from_form("environment", "IN", "prod, staging"),
                  service.condition_from_form("appVersion", "SEMVER_GTE", "2.1.0", inverted=True)]
    strategies = service.strategies_from_simple("simple", "35", ["t1", " t2 ", ""], conditions)
    flag = make_flag("simple", enabled=True, strategies=strategies)
    model = service.simple_model(flag)
    assert (model.rollout, model.user_ids) == (35, ["t1", "t2"])
    assert model.conditions == [{"contextName": "environment", "operator": "IN", "values": ["prod", "staging"]},
                                {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.1.0",
                                 "inverted": True}]
    assert service.simple_model(make_flag("bare")).rollout == 100  # no strategies: everyone
    complex_flag = make_flag("complex", strategies=[rollout(5, stickiness="sessionId")])
    assert service.simple_model(complex_flag) is None
    assert service.simple_model(make_flag("two", strategies=[rollout(1), rollout(2)])) is None


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


def test_export_import_round_trip_in_the_unleash_format(ctx, make_flag) -> None:
    seg = service.save_segment(None, "beta-users", [constraint("plan", "IN", ["beta"])], actor=ACTOR)
    make_flag("exp", type="experiment", enabled=True, strategies=[{**rollout(50), "segments": [seg.id]}],
              variants=[{"name": "blue", "weight": 500, "payload": {"type": "string", "value": "b"}},
                        {"name": "red", "weight": 500}])
    make_flag("gone")
    service.archive_flag("gone", actor=ACTOR)
    doc = service.export_document()
    assert doc["version"] == 2 and [f["name"] for f in doc["features"]] == ["exp"]
    assert doc["segments"] == [{"id": seg.id, "name": "beta-users", "description": "",
                                "constraints": [constraint("plan", "IN", ["beta"])]}]
    feature = doc["features"][0]
    assert feature["type"] == "experiment" and feature["variants"][0]["payload"]["value"] == "b"
    assert json.loads(json.dumps(doc)) == doc
    # change it, then merge the export back: the old definition returns as a new version
    service.set_rollout("exp", 10, actor=ACTOR)
    report = service.import_document(doc, mode="merge", actor=ACTOR)
    assert (report.created, report.updated) == ([], ["exp"])
    assert service.get_flag("exp").strategies[0]["parameters"]["rollout"] == "50"
    assert service.history("exp")[0].action == "import"
    assert service.import_document(doc, mode="merge", actor=ACTOR).unchanged == ["exp"]


def test_replace_archives_the_flags_missing_from_the_document(ctx, make_flag) -> None:
    make_flag("keep", enabled=True)
    make_flag("drop", enabled=True)
    doc = {"version": 2, "features": [{"name": "keep", "enabled": True, "strategies": []},
                                       {"name": "new.one", "enabled": False, "type": "kill-switch"}]}
    report = service.import_document(doc, mode="replace", actor=ACTOR)
    assert (report.created, report.unchanged, report.archived) == (["new.one"], ["keep"], ["drop"])
    assert sorted(f.key for f in service.list_flags()) == ["keep", "new.one"]
    assert service.get_flag("new.one").type == "kill-switch"
    assert audit.query(action="flags.import")[0].after["archived"] == ["drop"]


def test_an_invalid_part_refuses_the_whole_import_naming_feature_and_field(ctx, make_flag) -> None:
    make_flag("existing", enabled=True)
    doc = {"version": 2, "features": [
        {"name": "fine", "enabled": True},
        {"name": "broken", "enabled": True, "strategies": [rollout(120)]},
        {"name": "orphan", "enabled": True, "dependencies": [{"feature": "missing"}]},
    ]}
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, mode="merge", actor=ACTOR)
    errors = err.value.errors
    assert errors['features[1] "broken".strategies[0].parameters.rollout'] == "must be a number from 0 to 100"
    assert errors['features[2] "orphan".dependencies[0].feature'] == 'unknown flag "missing"'
    assert 'features[1] "broken"' in err.value.message
    assert [f.key for f in service.list_flags()] == ["existing"]  # nothing imported
    with pytest.raises(service.FlagError, match="not valid JSON"):
        service.parse_document("{nope")
    with pytest.raises(service.FlagError) as err:
        service.import_document({"features": [{"name": "x", "enabled": True}, {"name": "x", "enabled": True}]},
                                actor=ACTOR)
    assert "appears twice" in str(err.value)


def test_segments_in_use_cannot_be_deleted(ctx, make_flag) -> None:
    seg = service.save_segment(None, "staff", [constraint("email", "STR_ENDS_WITH", ["@nous.test"])], actor=ACTOR)
    make_flag("internal", enabled=True, strategies=[{"name": "default", "segments": [seg.id]}])
    with pytest.raises(service.FlagError, match="internal"):
        service.delete_segment(seg.id, actor=ACTOR)
    with pytest.raises(service.FlagError) as err:
        service.save_segment(None, "bad", [constraint("n", "NUM_GT", "many")], actor=ACTOR)
    assert "not a number" in err.value.errors["constraints[0].value"]
    service.archive_flag("internal", actor=ACTOR)
    service.delete_segment(seg.id, actor=ACTOR)
    assert service.list_segments() == []


def test_tokens_are_stored_hashed_and_can_be_revoked(ctx) -> None:
    row, raw = service.create_token("web", actor=ACTOR)
    assert raw.startswith("nous_") and len(raw) > 40
    from nous.extensions import db
    from nous.flags.models import ClientToken

    assert db.session.get(ClientToken, row.id).token_hash == service.token_hash(raw) != raw
    assert raw not in json.dumps(service.list_tokens())
    service.revoke_token(row.id, actor=ACTOR)
    assert service.list_tokens()[0]["revoked_at"] is not None
    assert [e.action for e in audit.query(action="flags.token")] == ["flags.token.revoke", "flags.token.create"]
    with pytest.raises(service.FlagError):
        service.create_token("  ", actor=ACTOR)


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
