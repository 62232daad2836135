"""The flag environments and copying rules between them through the admin API, as the console's
environments page and copy button do: list, add, rename, move, remove (refused while in use), each
refusal a problem naming the field."""

from __future__ import annotations

import pytest

from nous.flags import service as flags
from tests.adminapi.conftest import Api, assert_problem
from tests.flags.conftest import rollout


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("flags:write", name="release-bot"))


def _names(ops) -> list[str]:
    return [e["name"] for e in ops.get("flag-environments").get_json()["items"]]


def test_environments_are_listed_added_renamed_moved_and_removed(ops) -> None:
    assert _names(ops) == ["development", "staging", "production"]
    added = ops.post("flag-environments", json={"name": "qa"})
    assert added.status_code == 201 and added.get_json() == {"name": "qa", "position": 3, "flags_on": 0, "tokens": 0}
    assert_problem(ops.post("flag-environments", json={"name": "qa"}), 409, "name")
    assert_problem(ops.post("flag-environments", json={"name": "no/slash"}), 422, "name")
    assert_problem(ops.post("flag-environments", json={"name": 5}), 400, "name")
    moved = ops.post("flag-environments/qa/move", json={"direction": "up"})
    assert [(e["name"], e["position"]) for e in moved.get_json()["items"]] == [
        ("development", 0), ("staging", 1), ("qa", 2), ("production", 3)]
    assert_problem(ops.post("flag-environments/qa/move", json={"direction": "sideways"}), 400, "direction")
    flags.create_flag({"key": "f1", "enabled": True}, actor="t", environment="qa")
    renamed = ops.patch("flag-environments/qa", json={"name": "test"})
    assert renamed.status_code == 200 and renamed.get_json()["counts_moved"] is True
    assert flags.get_flag("f1", environment="test").enabled is True
    assert_problem(ops.patch("flag-environments/test", json={"name": "production"}), 409, "name")
    assert_problem(ops.delete("flag-environments/test"), 409, "name")  # f1 is on there
    flags.set_enabled("f1", False, actor="t", environment="test")
    assert ops.delete("flag-environments/test").status_code == 204
    assert ops.delete("flag-environments/test").status_code == 404
    assert _names(ops) == ["development", "staging", "production"]


def test_copying_one_environment_s_rules_to_another(ops) -> None:
    flags.create_flag({"key": "f1", "strategies": [rollout(20)]}, actor="t")
    flags.set_rollout("f1", 70, actor="t", environment="staging")
    stale = ops.post("flags/f1/copy?environment=staging", json={"to": "production"}, headers={"If-Match": '"1"'})
    assert stale.status_code == 412
    copied = ops.post("flags/f1/copy?environment=staging", json={"to": "production"},
                      headers={"If-Match": stale.headers["ETag"]})
    assert copied.status_code == 200 and copied.get_json()["environment"] == "production"
    assert flags.get_flag("f1").strategies[0]["parameters"]["rollout"] == "70"
    assert_problem(ops.post("flags/f1/copy?environment=staging", json={"to": "nowhere"}), 422, "environment")
    assert_problem(ops.post("flags/f1/copy", json={"to": "production"}), 422, "to")
    assert_problem(ops.post("flags/f1/copy", json={}), 400, "to")


def test_after_production_is_renamed_the_flags_read_and_change_in_it_by_its_new_name(ops) -> None:
    """Calls that name no environment use the setting flags.environment, which follows a rename: they
    answered 400/404 ("There is no environment 'production'") once production was called prod."""
    flags.create_flag({"key": "f1", "strategies": [rollout(20)]}, actor="t")
    assert ops.patch("flag-environments/production", json={"name": "prod"}).status_code == 200
    listed = ops.get("flags")
    assert listed.status_code == 200 and [f["key"] for f in listed.get_json()["items"]] == ["f1"]
    one = ops.get("flags/f1")
    assert one.status_code == 200 and one.get_json()["environment"] == "prod"
    assert ops.get("flags/f1/versions").status_code == 200
    exported = ops.get("flag-export")
    assert exported.status_code == 200 and exported.get_json()["environment"] == "prod"
    made = ops.post("flag-client-tokens", json={"name": "web"})
    assert made.status_code == 201 and made.get_json()["token"].startswith("default:prod.")
    assert_problem(ops.get("flags/f1", query_string={"environment": "production"}), 400, "environment")



def test_if_match_names_the_version_a_change_was_decided_on(ops) -> None:
    """As in the console (tests/flags/test_intent.py): a change decided on an older version is a 412 when what
    it saw changed since (its environment, or what every environment shares), not when only another
    environment did."""
    flags.create_flag({"key": "envs.api"}, actor="t")
    flags.set_enabled("envs.api", True, actor="prod@nous.test")  # version 2, production
    done = ops.post("flags/envs.api/enable?environment=staging", json={}, headers={"If-Match": '"1"'})
    assert done.status_code == 200 and done.get_json()["enabled"] is True and done.headers["ETag"] == '"3"'
    stale = ops.post("flags/envs.api/disable?environment=staging", json={}, headers={"If-Match": '"2"'})
    assert stale.status_code == 412 and stale.headers["ETag"] == '"3"'
    assert flags.get_flag("envs.api", environment="staging").enabled is True
