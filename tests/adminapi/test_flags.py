"""/api/admin/v1/flags and what flags share: create (idempotent), read with ETag, change with If-Match (412 when
stale, as the console's 409), the simple form, switch, rollout, archive, history and restore, preview,
per-tester overrides, segments, client tokens, Unleash import/export — audited with the token's name."""

from __future__ import annotations

import pytest

from nous.audit import service as audit
from nous.flags import is_enabled
from nous.flags import service as flags
from nous.testers import service as testers
from tests.adminapi.conftest import Api, assert_problem
from tests.adminapi.paging import every_item


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("flags:write", name="incident-bot"))


def made(api: Api, key: str = "checkout.new-flow", **fields) -> dict:
    resp = api.post("flags", json={"key": key, **fields})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_reading_needs_flags_read_and_changing_needs_flags_write(client, make_token) -> None:
    flags.create_flag({"key": "kill.me", "enabled": True}, actor="test")
    reader = Api(client, make_token("flags:read"))
    stranger = Api(client, make_token("jobs:write"))
    assert reader.get("flags/kill.me").status_code == 200
    assert "flags:write" in assert_problem(reader.post("flags/kill.me/disable"), 403)["detail"]
    assert_problem(stranger.get("flags"), 403)
    assert_problem(reader.post("flags/kill.me/disable", token="nous_admin_unknown"), 401)
    assert flags.get_flag("kill.me").enabled is True


def test_create_read_and_list(ops) -> None:
    headers = {"Idempotency-Key": "create-checkout"}
    first = ops.post("flags", json={"key": "checkout.new-flow", "description": "The new checkout"}, headers=headers)
    again = ops.post("flags", json={"key": "checkout.new-flow", "description": "The new checkout"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    flag = first.get_json()
    assert flag["enabled"] is False and flag["version"] == 1 and first.headers["ETag"] == '"1"'
    assert flag["simple"] == {"enabled": False, "rollout": 100, "user_ids": [], "conditions": []}
    assert flag["created_at"].endswith("Z")
    assert first.headers["Location"].endswith("/api/admin/v1/flags/checkout.new-flow")
    assert ops.get("flags/checkout.new-flow").headers["ETag"] == '"1"'
    assert_problem(ops.post("flags", json={"key": "checkout.new-flow"}), 409, "key")
    for i in range(5):
        made(ops, f"k{i}")
    assert every_item(ops, "flags?limit=2", "key") == ["checkout.new-flow", "k0", "k1", "k2", "k3", "k4"]
    assert [f["key"] for f in ops.get("flags?q=checkout").get_json()["items"]] == ["checkout.new-flow"]
    assert_problem(ops.get("flags/nope"), 404)
    assert audit.query(action="flags.create", target="checkout.new-flow")[0].actor == "token:incident-bot"


@pytest.mark.parametrize(("payload", "field"), [
    ({}, "key"), ({"key": "has space"}, "key"), ({"key": "ok", "type": "weird"}, "type"),
    ({"key": "ok", "strategies": "all"}, "strategies"), ({"key": "ok", "colour": "red"}, "colour"),
    ({"key": "ok", "enable_at": "someday"}, "enable_at"),
])
def test_bad_flags_are_refused_naming_the_field(ops, payload, field) -> None:
    assert_problem(ops.post("flags", json=payload), 422, field)
    assert flags.list_flags() == []


def test_changes_follow_the_version_seen_and_stale_ones_get_412(ops) -> None:
    made(ops)
    changed = ops.patch("flags/checkout.new-flow", json={"description": "v2", "type": "experiment"},
                        headers={"If-Match": '"1"'})
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.get_json()["type"] == "experiment"
    stale = ops.patch("flags/checkout.new-flow", json={"description": "lost"}, headers={"If-Match": '"1"'})
    doc = assert_problem(stale, 412, "If-Match")
    assert stale.headers["ETag"] == '"2"' and doc["status"] == 412
    for call in (lambda: ops.post("flags/checkout.new-flow/enable", headers={"If-Match": '"1"'}),
                 lambda: ops.put("flags/checkout.new-flow/rollout", json={"rollout": 5}, headers={"If-Match": '"1"'}),
                 lambda: ops.post("flags/checkout.new-flow/archive", headers={"If-Match": '"1"'}),
                 lambda: ops.put("flags/checkout.new-flow/simple", json={"rollout": 5}, headers={"If-Match": '"x"'})):
        assert_problem(call(), 412)
    current = flags.get_flag("checkout.new-flow")
    assert current.version == 2 and current.description == "v2" and current.enabled is False
    assert ops.patch("flags/checkout.new-flow", json={"description": "v3"}).status_code == 200  # no If-Match
    assert_problem(ops.patch("flags/checkout.new-flow", json={"key": "renamed"}), 422, "key")


def test_the_kill_switch_and_the_rollout(ops) -> None:
    made(ops, "kill.switch", type="kill-switch")
    on = ops.post("flags/kill.switch/enable", headers={"If-Match": '"1"'})
    assert on.status_code == 200 and on.get_json()["enabled"] is True
    assert is_enabled("kill.switch", {"userId": "u1"}) is True
    off = ops.post("flags/kill.switch/disable")
    assert off.get_json()["enabled"] is False and is_enabled("kill.switch", {"userId": "u1"}) is False
    assert ops.post("flags/kill.switch/disable", headers={"If-Match": '"1"'}).status_code == 200  # already off
    rolled = ops.put("flags/kill.switch/rollout", json={"rollout": 25}).get_json()
    assert rolled["simple"]["rollout"] == 25 and rolled["strategies"][0]["parameters"]["rollout"] == "25"
    for bad in ({"rollout": 101}, {"rollout": 2.5}, {"rollout": "x"}, {"rollout": True}, {}):
        assert_problem(ops.put("flags/kill.switch/rollout", json=bad), 422, "rollout")
    actions = [e.actor for e in audit.query(target="kill.switch") if e.action.startswith("flags.")]
    assert actions and set(actions) == {"token:incident-bot"}


def test_the_simple_form(ops) -> None:
    made(ops)
    resp = ops.put("flags/checkout.new-flow/simple", json={
        "enabled": True, "rollout": 40, "user_ids": ["tester-7"],
        "conditions": [{"contextName": "environment", "operator": "IN", "values": ["production"]}]})
    assert resp.status_code == 200, resp.get_json()
    flag = resp.get_json()
    assert flag["enabled"] is True and flag["simple"]["rollout"] == 40 and flag["simple"]["user_ids"] == ["tester-7"]
    assert [s["name"] for s in flag["strategies"]] == ["userWithId", "flexibleRollout"]
    bad = ops.put("flags/checkout.new-flow/simple", json={"rollout": 10, "conditions": [
        {"contextName": "appVersion", "operator": "SEMVER_GT", "value": "banana"}]})
    assert_problem(bad, 422)
    assert_problem(ops.put("flags/checkout.new-flow/simple", json={"user_ids": "x"}), 422, "user_ids")
    assert flags.get_flag("checkout.new-flow").version == 2


def test_archive_history_and_restoring_a_version(ops) -> None:
    made(ops)
    ops.patch("flags/checkout.new-flow", json={"description": "second"})
    ops.patch("flags/checkout.new-flow", json={"description": "third"})
    archived = ops.post("flags/checkout.new-flow/archive")
    assert archived.get_json()["archived"] is True
    assert ops.get("flags").get_json()["items"] == []
    assert [f["key"] for f in ops.get("flags?archived=true").get_json()["items"]] == ["checkout.new-flow"]
    back = ops.post("flags/checkout.new-flow/unarchive", headers={"If-Match": archived.headers["ETag"]})
    assert back.status_code == 200 and back.get_json()["archived"] is False
    assert every_item(ops, "flags/checkout.new-flow/versions?limit=2", "version") == [5, 4, 3, 2, 1]
    v2 = ops.get("flags/checkout.new-flow/versions/2").get_json()
    assert v2["after"]["description"] == "second" and v2["actor"] == "token:incident-bot"
    assert v2["at"].endswith("Z") and v2["diff"][0]["path"] == "description"
    restored = ops.post("flags/checkout.new-flow/versions/2/restore", headers={"If-Match": '"5"'})
    assert restored.status_code == 200 and restored.get_json()["description"] == "second"
    assert restored.get_json()["version"] == 6
    assert_problem(ops.post("flags/checkout.new-flow/versions/2/restore", headers={"If-Match": '"5"'}), 412)
    assert_problem(ops.get("flags/checkout.new-flow/versions/99"), 404)


def test_preview_says_why(ops) -> None:
    made(ops, enabled=True)
    answer = ops.post("flags/checkout.new-flow/preview", json={"userId": "u1", "environment": "production"})
    assert answer.status_code == 200 and answer.get_json()["enabled"] is True
    assert_problem(ops.post("flags/checkout.new-flow/preview", json={"favourite": "x"}), 422, "favourite")


def test_per_tester_overrides(ops) -> None:
    made(ops)
    tester = testers.add("ada@example.com", actor="test")
    path = f"flags/checkout.new-flow/overrides/{tester.id}"
    forced = ops.put(path, json={"on": True})
    assert forced.status_code == 200 and forced.get_json() == {"tester_id": str(tester.id),
                                                              "email": "ada@example.com", "on": True}
    assert ops.get("flags/checkout.new-flow/overrides").get_json()["items"] == [forced.get_json()]
    assert is_enabled("checkout.new-flow", {"userId": str(tester.id)}) is True  # although the flag is off
    assert audit.query(action="testers.flag_override")[0].actor == "token:incident-bot"
    assert ops.delete(path).status_code == 204
    assert ops.get("flags/checkout.new-flow/overrides").get_json()["items"] == []
    assert_problem(ops.put(path, json={}), 422, "on")
    assert_problem(ops.put(path, json={"on": "yes"}), 400, "on")
    assert_problem(ops.put("flags/checkout.new-flow/overrides/00000000-0000-0000-0000-000000000000",
                           json={"on": True}), 404)
    assert_problem(ops.put(f"flags/nope/overrides/{tester.id}", json={"on": True}), 422, "flag")


def test_flags_are_read_and_changed_in_the_environment_asked_for(ops) -> None:
    created = ops.post("flags?environment=staging", json={"key": "env.api", "enabled": True})
    assert created.status_code == 201 and created.get_json()["environment"] == "staging"
    assert ops.get("flags/env.api").get_json()["enabled"] is False  # production, the default
    assert ops.post("flags/env.api/enable?environment=development").get_json()["environment"] == "development"
    rolled = ops.put("flags/env.api/rollout?environment=staging", json={"rollout": 30})
    assert rolled.get_json()["rollout_summary"].startswith("30 %")
    listed = ops.get("flags?environment=staging").get_json()["items"]
    assert [(f["key"], f["enabled"]) for f in listed] == [("env.api", True)]
    assert flags.get_flag("env.api").enabled is False and flags.get_flag("env.api").strategies == []
    assert flags.get_flag("env.api", environment="development").enabled is True
    versions = ops.get("flags/env.api/versions").get_json()["items"]
    assert [v["environment"] for v in versions] == ["staging", "development", "staging"]
    assert assert_problem(ops.get("flags/env.api?environment=qa"), 400, "environment")


def test_segments(ops) -> None:
    staff = {"name": "staff", "constraints": [{"contextName": "email", "operator": "STR_ENDS_WITH",
                                               "values": ["@nous.example"]}]}
    created = ops.post("flag-segments", json=staff, headers={"Idempotency-Key": "seg-1"})
    assert created.status_code == 201
    again = ops.post("flag-segments", json=staff, headers={"Idempotency-Key": "seg-1"})
    assert again.get_json()["id"] == created.get_json()["id"] and len(flags.list_segments()) == 1
    sid, etag = created.get_json()["id"], created.headers["ETag"]
    assert ops.get(f"flag-segments/{sid}").headers["ETag"] == etag
    changed = ops.put(f"flag-segments/{sid}", json={**staff, "description": "our people"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert_problem(ops.put(f"flag-segments/{sid}", json=staff, headers={"If-Match": etag}), 412)
    made(ops, "staff.only", strategies=[{"name": "default", "segments": [sid]}])
    assert_problem(ops.delete(f"flag-segments/{sid}"), 409)
    assert_problem(ops.post("flag-segments", json={"name": "", "constraints": "x"}), 422, "name")
    assert [s["name"] for s in ops.get("flag-segments").get_json()["items"]] == ["staff"]
    ops.patch("flags/staff.only", json={"strategies": []})
    assert_problem(ops.delete(f"flag-segments/{sid}"), 409)  # development and staging still use it
    for environment in ("development", "staging"):
        ops.patch(f"flags/staff.only?environment={environment}", json={"strategies": []})
    assert ops.delete(f"flag-segments/{sid}").status_code == 204
    assert_problem(ops.get(f"flag-segments/{sid}"), 404)


def test_client_tokens(ops, client) -> None:
    made(ops, "sdk.flag", enabled=True)
    created = ops.post("flag-client-tokens", json={"name": "nous-web"})
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    token = created.get_json()["token"]
    listed = ops.get("flag-client-tokens").get_json()["items"]
    assert [t["name"] for t in listed] == ["nous-web"] and token not in str(listed)
    features = client.get("/api/client/features", headers={"Authorization": token})
    assert features.status_code == 200
    revoked = ops.post(f"flag-client-tokens/{created.get_json()['id']}/revoke")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"].endswith("Z")
    assert client.get("/api/client/features", headers={"Authorization": token}).status_code == 401
    assert_problem(ops.post("flag-client-tokens/999/revoke"), 404)
    assert_problem(ops.post("flag-client-tokens", json={"name": ""}), 422, "name")


def test_unleash_export_and_import_all_or_nothing(ops) -> None:
    made(ops, "a.flag", enabled=True)
    made(ops, "b.flag")
    doc = ops.get("flag-export").get_json()
    assert doc["version"] == 2 and [f["name"] for f in doc["features"]] == ["a.flag", "b.flag"]
    doc["features"][1]["description"] = "imported"
    doc["features"].append({"name": "c.flag", "type": "release", "enabled": False, "strategies": []})
    report = ops.post("flag-import", json=doc)
    assert report.status_code == 200
    assert report.get_json()["created"] == ["c.flag"] and report.get_json()["updated"] == ["b.flag"]
    broken = {"version": 2, "features": [{"name": "d.flag", "strategies": [{"name": "flexibleRollout",
                                                                             "parameters": {"rollout": "500"}}]}]}
    assert_problem(ops.post("flag-import", json=broken), 422)
    assert [f.key for f in flags.list_flags()] == ["a.flag", "b.flag", "c.flag"]  # nothing of it applied
    assert_problem(ops.post("flag-import?mode=replace", json={"version": 2, "features": doc["features"][:1]}),
                   422, "mode")  # one environment's document cannot replace flags every environment shares
    everything = ops.get("flag-export?environment=*").get_json()
    everything["features"] = everything["features"][:1]
    for part in ("featureEnvironments", "featureStrategies"):
        everything[part] = [e for e in everything[part] if e.get("featureName") == "a.flag"]
    replaced = ops.post("flag-import?mode=replace", json=everything)
    assert replaced.status_code == 200, replaced.get_json()
    assert replaced.get_json()["archived"] == ["b.flag", "c.flag"]
    assert_problem(ops.post("flag-import?mode=sideways", json=doc), 400, "mode")


def test_an_if_match_of_unicode_digits_is_stale_not_a_server_error(ops) -> None:
    """"¹" and "٣" are digits to str.isdigit but not to int(): they name no version."""
    made(ops)
    for sent in ('"¹"', '"٣"'):
        assert_problem(ops.patch("flags/checkout.new-flow", json={"description": "x"}, headers={"If-Match": sent}),
                       412, "If-Match")
        assert_problem(ops.post("flags/checkout.new-flow/versions/1/restore", headers={"If-Match": sent}),
                       412, "If-Match")
