"""Environments in the admin API's client tokens, export and import: a token answers with its environment's
flags, the export and the import name one environment (or `*`, every one, in Unleash's full export), an
unknown environment is a problem naming the field — and all of it is in /openapi.json."""

from __future__ import annotations

import json

import pytest

from nous.flags import service as flags
from tests.adminapi.conftest import Api, assert_problem

ENVS = ("development", "staging", "production")


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("flags:write", name="release-bot"))


def _states(key: str) -> list[bool]:
    return [flags.get_flag(key, environment=e).enabled for e in ENVS]


def test_a_client_token_for_staging_answers_with_staging_s_flags(ops, client) -> None:
    flags.create_flag({"key": "beta.search"}, actor="test", environment="production")
    flags.set_enabled("beta.search", True, actor="test", environment="staging")
    created = ops.post("flag-client-tokens", json={"name": "web staging", "environment": "staging"})
    assert created.status_code == 201
    staging = created.get_json()
    assert staging["token"].startswith("default:staging.") and staging["environment"] == "staging"
    production = ops.post("flag-client-tokens", json={"name": "web"}).get_json()
    assert production["token"].startswith("default:production.") and production["environment"] == "production"
    listed = {t["name"]: t for t in ops.get("flag-client-tokens").get_json()["items"]}
    assert listed["web staging"]["environment"] == "staging" and listed["web"]["environment"] == "production"
    assert listed["web staging"]["prefix"].startswith("default:staging.")
    for token, on in ((staging["token"], True), (production["token"], False)):
        features = client.get("/api/client/features", headers={"Authorization": token}).get_json()["features"]
        assert [(f["name"], f["enabled"]) for f in features] == [("beta.search", on)]
    doc = assert_problem(ops.post("flag-client-tokens", json={"name": "qa app", "environment": "qa"}), 422,
                         "environment")
    assert "qa" in doc["detail"] and "staging" in doc["errors"]["environment"]
    assert_problem(ops.post("flag-client-tokens", json={"name": "x", "environment": 7}), 422, "environment")
    assert [t["name"] for t in flags.list_tokens()] == ["web", "web staging"]


def test_export_and_import_name_the_environment(ops) -> None:
    flags.create_flag({"key": "a.flag"}, actor="test")
    flags.set_enabled("a.flag", True, actor="test", environment="staging")
    doc = ops.get("flag-export?environment=staging").get_json()
    assert doc["environment"] == "staging" and doc["features"][0]["enabled"] is True
    assert ops.get("flag-export").get_json()["features"][0]["enabled"] is False  # production, as before
    # staging's definition imported into development changes development only
    report = ops.post("flag-import?environment=development", json=doc)
    assert report.status_code == 200 and report.get_json()["environments"] == ["development"]
    assert report.get_json()["updated"] == ["a.flag"] and _states("a.flag") == [True, True, False]
    doc["features"][0]["enabled"] = False
    ops.post("flag-import?environment=development", json=doc)
    assert _states("a.flag") == [False, True, False]
    assert_problem(ops.get("flag-export?environment=qa"), 400, "environment")
    assert_problem(ops.post("flag-import?environment=qa", json=doc), 400, "environment")
    assert _states("a.flag") == [False, True, False]


def test_every_environment_through_the_full_export(ops) -> None:
    flags.create_flag({"key": "a.flag"}, actor="test")
    flags.set_enabled("a.flag", True, actor="test", environment="development")
    full = ops.get("flag-export?environment=*").get_json()
    assert full["version"] == 4 and [e["name"] for e in full["environments"]] == list(ENVS)
    assert {(s["environment"], s["enabled"]) for s in full["featureEnvironments"]} == {
        ("development", True), ("staging", False), ("production", False)}
    for switch in full["featureEnvironments"]:
        switch["enabled"] = switch["environment"] != "development"
    report = ops.post("flag-import", json=full).get_json()
    assert report["environments"] == list(ENVS) and _states("a.flag") == [False, True, True]
    # switches that differ from the database's, so that a partly applied import would show
    full["featureEnvironments"] = [{**s, "enabled": True} for s in full["featureEnvironments"]]
    full["featureEnvironments"].append({"featureName": "a.flag", "environment": "qa", "enabled": True})
    doc = assert_problem(ops.post("flag-import", json=full), 422, "environments")
    assert "qa" in doc["detail"] and "qa" in doc["errors"]["environments"]
    assert _states("a.flag") == [False, True, True]


def test_the_environment_parameters_are_documented(client) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    for path, method in (("/api/admin/v1/flag-export", "get"), ("/api/admin/v1/flag-import", "post")):
        params = {p["name"]: p for p in paths[path][method]["parameters"]}
        assert "environment" in params and "*" in params["environment"]["description"]
        assert "400" in paths[path][method]["responses"]
    token_body = paths["/api/admin/v1/flag-client-tokens"]["post"]["requestBody"]["content"]["application/json"]
    assert "environment" in token_body["schema"]["properties"]


def test_dependencies_that_are_not_a_list_are_a_problem_not_a_crash(ops) -> None:
    doc = {"version": 4, "environments": [{"name": "production"}], "features": [{"name": "a", "type": "release"}],
           "featureEnvironments": [{"featureName": "a", "environment": "production", "enabled": True}],
           "dependencies": [{"feature": "a", "dependencies": 5}]}
    assert_problem(ops.post("flag-import", json=doc), 422, 'features[0] "a".dependencies')
    doc["features"][0]["dependencies"], doc["dependencies"] = 5, []
    assert_problem(ops.post("flag-import", json=doc), 422, 'features[0] "a".dependencies')
    assert flags.list_flags() == []


def test_a_refused_import_names_the_first_problems_then_how_many_more(ops) -> None:
    from nous.flags.service.transfer import ERRORS_MAX
    doc = {"version": 2, "features": [{"name": f"f{i:04d}", "enabled": "yes"} for i in range(ERRORS_MAX + 900)]}
    problem = assert_problem(ops.post("flag-import", json=doc), 422, 'features[0] "f0000".enabled')
    assert len(problem["errors"]) == ERRORS_MAX + 1 and problem["errors"]["…"] == "and 900 more problem(s)"
    assert f"{ERRORS_MAX + 900} problem(s)" in problem["detail"] and flags.list_flags() == []


def test_the_import_reads_documents_up_to_5_mb_as_the_console_and_cli_do(ops) -> None:
    """A full export of ~1,700 flags is over 2 MB (the app's limit for other bodies): the import reads it
    (fewer flags here, with long descriptions)."""
    flags_ = [{"name": f"big-{i:04d}", "type": "release", "enabled": True, "strategies": [{"name": "default"}],
               "description": "x" * 9_900} for i in range(320)]
    doc = {"version": 2, "environment": "production", "features": flags_}
    assert len(json.dumps(doc)) > 3_000_000
    resp = ops.post("flag-import", json=doc)
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    assert resp.get_json()["created"][-1] == "big-0319"
    assert flags.get_flag("big-0319").enabled
    too_big = ops.post("flag-import", data=b" " * (flags.IMPORT_MAX_BYTES + 1), content_type="application/json")
    assert_problem(too_big, 413, None)
