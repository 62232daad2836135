"""Unleash's full export: every environment's switches, strategies and schedules out, and back in — into a
fresh database the flags answer exactly as before in every environment; an environment the server lacks
refuses the document by name; one environment of a document maps to the one the admin names."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

import pytest

from nous.flags import evaluate_all, service
from tests.flags.conftest import constraint, rollout

ACTOR = "admin@nous.test"
ENVS = ("development", "staging", "production")
CONTEXTS = [{"userId": f"user-{i}", "sessionId": f"s{i}", "remoteAddress": f"10.0.{i % 3}.{i}",
             "properties": {"plan": ("beta", "pro", "free")[i % 3], "country": ("de", "fr")[i % 2]}}
            for i in range(40)]


def _set(key: str, environment: str, **changes) -> None:
    service.update_flag(key, changes, actor=ACTOR, environment=environment)


def _world() -> int:
    """Flags that differ per environment: switches, strategies (with a segment and strategy variants), a
    schedule, flag variants, a parent, an archived flag."""
    seg = service.save_segment(None, "beta-users", [constraint("plan", "IN", ["beta"])], actor=ACTOR)
    service.create_flag({"key": "parent", "enabled": True}, actor=ACTOR, environment="production")
    service.create_flag({"key": "checkout", "type": "experiment", "impression_data": True,
                         "variants": [{"name": "blue", "weight": 500, "stickiness": "default",
                                       "payload": {"type": "string", "value": "b"}},
                                      {"name": "red", "weight": 500, "stickiness": "default"}],
                         "dependencies": [{"feature": "parent", "enabled": True}]}, actor=ACTOR)
    _set("checkout", "development", enabled=True, strategies=[{"name": "default"}])
    _set("checkout", "staging", enabled=True, strategies=[rollout(30), {**rollout(100), "segments": [seg.id]}])
    _set("checkout", "production", enabled=True,
         strategies=[rollout(10, constraint("country", "IN", ["de"]))])
    service.create_flag({"key": "search", "enabled": False}, actor=ACTOR)
    _set("search", "staging", enabled=True, strategies=[rollout(50, stickiness="sessionId")],
         disable_at=(datetime.now(UTC) + timedelta(days=3)).isoformat())
    _set("parent", "staging", enabled=False)
    service.create_flag({"key": "old", "enabled": True}, actor=ACTOR)
    service.archive_flag("old", actor=ACTOR)
    return seg.id


def _answers() -> dict[str, list]:
    return {env: [evaluate_all(c, environment=env) for c in CONTEXTS] for env in ENVS}


def _fresh(app) -> None:
    """An empty database (and Redis), as on another server, and a flag cache that follows it."""
    from nous.extensions import db
    from tests.conftest import _clean

    db.session.commit()
    _clean(app)
    app.extensions["nous.flags"].reset()


def test_the_full_export_has_every_environment_in_unleash_shape(ctx) -> None:
    seg_id = _world()
    doc = service.export_document(environment=None)
    assert doc["version"] == 4 and doc["tagTypes"] == []
    assert [e["name"] for e in doc["environments"]] == list(ENVS)
    assert [f["name"] for f in doc["features"]] == ["checkout", "parent", "search"]  # not the archived one
    checkout = doc["features"][0]
    assert checkout["project"] == "default" and checkout["impressionData"] is True and "enabled" not in checkout
    switches = {(s["featureName"], s["environment"]): s for s in doc["featureEnvironments"]}
    assert len(switches) == 9 and switches[("parent", "staging")]["enabled"] is False
    assert switches[("parent", "production")]["enabled"] is True
    assert [v["name"] for v in switches[("checkout", "development")]["variants"]] == ["blue", "red"]
    assert "disableAt" in switches[("search", "staging")] and "disableAt" not in switches[("search", "production")]
    staging = [s for s in doc["featureStrategies"] if (s["featureName"], s["environment"]) == ("checkout", "staging")]
    assert [(s["name"], s["sortOrder"], s["parameters"]["rollout"]) for s in staging] == [
        ("flexibleRollout", 0, "30"), ("flexibleRollout", 1, "100")]
    assert staging[1]["segments"] == [seg_id]
    assert doc["dependencies"] == [{"feature": "checkout", "dependencies": [{"feature": "parent", "enabled": True}]}]
    assert doc["segments"][0]["constraints"] == [constraint("plan", "IN", ["beta"])]
    assert "old" in [f["name"] for f in service.export_document(True, environment=None)["features"]]


def test_every_environment_answers_the_same_after_a_round_trip_into_a_fresh_database(app, ctx) -> None:
    _world()
    before = _answers()
    # the environments do answer differently, or the comparison would prove little
    assert before["staging"] != before["production"] != before["development"]
    doc = service.export_document(include_archived=True, environment=None)
    _fresh(app)
    assert service.list_flags() == []
    report = service.import_document(copy.deepcopy(doc), actor=ACTOR)
    assert report.created == ["checkout", "old", "parent", "search"] and report.environments == list(ENVS)
    app.extensions["nous.flags"].reset()
    assert _answers() == before
    again = service.export_document(include_archived=True, environment=None)
    assert again["featureEnvironments"] == doc["featureEnvironments"]
    assert again["featureStrategies"] == doc["featureStrategies"] and again["segments"] == doc["segments"]
    assert service.get_flag("old").archived is True
    assert service.get_flag("search", environment="staging").disable_at is not None
    # the same document again changes nothing
    assert service.import_document(copy.deepcopy(doc), actor=ACTOR).unchanged == ["checkout", "old", "parent",
                                                                                  "search"]


def test_importing_a_full_export_sets_each_environment(ctx, make_flag) -> None:
    make_flag("a")
    doc = service.export_document(environment=None)
    for switch in doc["featureEnvironments"]:
        switch["enabled"] = switch["environment"] != "development"
    doc["featureStrategies"].append({"featureName": "a", "environment": "staging", "name": "flexibleRollout",
                                     "parameters": {"rollout": "25", "stickiness": "default"}, "sortOrder": 0})
    report = service.import_document(doc, actor=ACTOR)
    assert report.updated == ["a"]
    assert [service.get_flag("a", environment=e).enabled for e in ENVS] == [False, True, True]
    assert service.get_flag("a", environment="staging").strategies[0]["parameters"]["rollout"] == "25"
    assert service.get_flag("a").strategies == []
    assert {v.environment for v in service.history("a") if v.action == "import"} == {"staging", "production"}


def test_an_environment_this_server_lacks_refuses_the_document_naming_it(ctx, make_flag) -> None:
    make_flag("a")
    doc = service.export_document(environment=None)
    # switches that differ from the database's, so that a partly applied import would show
    doc["featureEnvironments"] = [{**s, "enabled": True} for s in doc["featureEnvironments"]]
    doc["featureEnvironments"].append({"featureName": "a", "environment": "qa", "enabled": True})
    doc["environments"].append({"name": "canary", "type": "production"})
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    assert err.value.status == 422 and "qa" in err.value.message and "canary" in err.value.message
    assert err.value.errors == {"environments": "unknown here: canary, qa"}
    assert [service.get_flag("a", environment=e).enabled for e in ENVS] == [False, False, False]
    # naming one environment imports only the document's part of that name
    doc["featureEnvironments"] = [{**s, "enabled": True} for s in doc["featureEnvironments"]]
    report = service.import_document(doc, actor=ACTOR, environment="staging")
    assert report.environments == ["staging"]
    assert [service.get_flag("a", environment=e).enabled for e in ENVS] == [False, True, False]
    # a name the document does not have, with several in it, is refused too
    del doc["environments"]
    doc["featureEnvironments"] = [s for s in doc["featureEnvironments"] if s["environment"] in ("development", "qa")]
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR, environment="production")
    assert "development, qa" in err.value.message and "environment" in err.value.errors


def test_unleash_s_one_environment_export_maps_to_the_environment_named(ctx) -> None:
    """As Unleash's UI exports one environment: strategies without an environment, switches naming it,
    segments by name only, tags (which NOUS has no place for: named in the report, not dropped silently)."""
    seg = service.save_segment(None, "staff", [constraint("email", "STR_ENDS_WITH", ["@nous.example"])], actor=ACTOR)
    doc = {
        "features": [{"name": "first_feature", "description": "", "type": "release", "project": "default",
                      "stale": False, "impressionData": False, "archived": False}],
        "featureStrategies": [{"featureName": "first_feature", "id": "798cb25a", "name": "default", "title": "",
                               "parameters": {}, "segments": [seg.id], "disabled": False, "sortOrder": 0,
                               "constraints": [{"values": ["conduit"], "inverted": False, "operator": "IN",
                                                "contextName": "appName", "caseInsensitive": False}]}],
        "featureEnvironments": [{"enabled": True, "environment": "their-dev", "featureName": "first_feature",
                                 "name": "first_feature", "variants": [
                                     {"name": "variantA", "weight": 1000, "overrides": [], "stickiness": "default",
                                      "weightType": "variable", "payload": {"type": "string", "value": "A"}}]}],
        "featureTags": [{"featureName": "first_feature", "tagType": "simple", "tagValue": "tag1"}],
        "tagTypes": [{"name": "simple", "description": "simple"}], "contextFields": [],
        "segments": [{"id": seg.id, "name": "staff"}],
    }
    with pytest.raises(service.FlagError) as err:  # no environment of that name here
        service.import_document(copy.deepcopy(doc), actor=ACTOR)
    assert "their-dev" in err.value.message
    report = service.import_document(copy.deepcopy(doc), actor=ACTOR, environment="staging")
    assert report.created == ["first_feature"] and report.environments == ["staging"]
    assert report.ignored == ["featureTags: 1 feature tags (NOUS has no tags)",
                              "tagTypes: 1 tag types (NOUS has no tags)"]
    flag = service.get_flag("first_feature", environment="staging")
    assert flag.enabled is True and flag.strategies[0]["constraints"][0]["values"] == ["conduit"]
    assert flag.variants[0]["payload"]["value"] == "A"
    assert service.get_flag("first_feature").enabled is False
    assert service.list_segments()[0].constraints == seg.constraints  # named only: kept as it is here
    doc["segments"] = [{"id": 99, "name": "elsewhere"}]
    with pytest.raises(service.FlagError) as err:
        service.import_document(copy.deepcopy(doc), actor=ACTOR, environment="staging")
    assert "segments[0].constraints" in err.value.errors


def test_what_nous_cannot_keep_is_refused_not_dropped(ctx, make_flag) -> None:
    make_flag("a", variants=[{"name": "x", "weight": 1000}])
    doc = service.export_document(environment=None)
    doc["featureEnvironments"][0]["variants"] = [{"name": "y", "weight": 1000}]
    doc["featureStrategies"].append({"featureName": "ghost", "environment": "staging", "name": "default"})
    doc["features"][0]["enabled"] = True
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    errors = err.value.errors
    assert "NOUS keeps one list of variants per flag" in errors['features[0] "a".variants']
    assert errors['"ghost"'] == "named by a switch, strategy or dependency but not in features"
    assert "featureEnvironments" in errors['features[0] "a".enabled']
    assert service.get_flag("a").variants == [{"name": "x", "weight": 1000}]


def test_unleash_s_older_full_export_with_strategy_names_and_segment_links(ctx) -> None:
    """Unleash's state export (version 4): `strategyName`, `projectId`, segments linked by
    `featureStrategySegments`, `projects`, custom strategy definitions (named in the report)."""
    doc = {
        "version": 4, "projects": [{"id": "default", "name": "Default"}],
        "strategies": [{"name": "custom-thing", "parameters": []}],
        "environments": [{"name": "development", "type": "development"}, {"name": "production", "type": "production"}],
        "features": [{"name": "my-feature", "description": "", "type": "release", "project": "default",
                      "stale": False, "createdAt": "2021-09-17T07:06:40.925Z", "lastSeenAt": None}],
        "featureStrategies": [{"id": "2ea91298", "featureName": "my-feature", "projectId": "default",
                               "environment": "development", "strategyName": "flexibleRollout",
                               "parameters": {"rollout": "100", "stickiness": "default", "groupId": "my-feature"},
                               "constraints": [], "createdAt": "2021-09-17T07:23:39.374Z"}],
        "featureEnvironments": [{"enabled": True, "featureName": "my-feature", "environment": "development"},
                                {"enabled": False, "featureName": "my-feature", "environment": "production"}],
        "segments": [{"id": 7, "name": "betas", "description": None,
                      "constraints": [constraint("plan", "IN", ["beta"])]}],
        "featureStrategySegments": [{"featureStrategyId": "2ea91298", "segmentId": 7}],
    }
    report = service.import_document(copy.deepcopy(doc), actor=ACTOR)
    assert report.created == ["my-feature"] and report.environments == ["development", "production"]
    assert report.ignored == ["strategies: 1 strategy definitions (NOUS knows Unleash's built-in strategies)"]
    dev = service.get_flag("my-feature", environment="development")
    assert dev.enabled is True and dev.strategies[0]["name"] == "flexibleRollout"
    assert dev.strategies[0]["segments"] == [7]
    assert evaluate_all({"userId": "u", "properties": {"plan": "beta"}}, environment="development")["my-feature"][
        "enabled"] is True
    assert evaluate_all({"userId": "u", "properties": {"plan": "free"}}, environment="development")["my-feature"][
        "enabled"] is False
    assert service.get_flag("my-feature").enabled is False
    doc["projects"].append({"id": "payments"})
    doc["featureStrategies"][0]["projectId"] = "payments"
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    assert set(err.value.errors) == {"projects[1]", "featureStrategies[0].projectId"}


def _shared_world() -> int:
    """A segment and a flag that production uses, and a flag that only staging's document would lack."""
    seg = service.save_segment(None, "staff", [constraint("userId", "IN", ["u1"])], actor=ACTOR)
    service.create_flag({"key": "p", "enabled": True}, actor=ACTOR, environment="production")
    _set("p", "production", strategies=[{"name": "default", "segments": [seg.id]}])
    service.create_flag({"key": "other", "enabled": True}, actor=ACTOR, environment="production")
    return seg.id


def _untouched(seg_id: int) -> None:
    assert [s.id for s in service.list_segments()] == [seg_id]
    assert sorted(f.key for f in service.list_flags()) == ["other", "p"]
    assert service.get_flag("p").strategies == [{"name": "default", "segments": [seg_id]}]
    assert service.get_flag("p", environment="staging").enabled is False


STAGING_ONLY = {"version": 2, "features": [{"name": "p", "enabled": True}]}


def test_replace_of_some_environments_only_is_refused_naming_the_mode(ctx) -> None:
    """Flags and segments are shared by every environment: replace from a document of one environment would
    archive production's flags and remove the segments its strategies use."""
    seg_id = _shared_world()
    for doc, environment in ((STAGING_ONLY, "staging"), ({**STAGING_ONLY, "environment": "staging"}, None)):
        with pytest.raises(service.FlagError) as err:
            service.import_document(copy.deepcopy(doc), mode="replace", actor=ACTOR, environment=environment)
        assert err.value.status == 422 and set(err.value.errors) == {"mode"}
        assert "replace needs a document of every environment" in err.value.message and "merge" in err.value.message
        _untouched(seg_id)
    full = service.export_document(environment=None)
    # a full export whose part of one environment is imported, or that lacks an environment: refused too
    with pytest.raises(service.FlagError) as err:
        service.import_document(copy.deepcopy(full), mode="replace", actor=ACTOR, environment="staging")
    assert "mode" in err.value.errors
    partial = copy.deepcopy(full)
    partial["environments"] = [e for e in partial["environments"] if e["name"] != "development"]
    partial["featureEnvironments"] = [s for s in partial["featureEnvironments"] if s["environment"] != "development"]
    with pytest.raises(service.FlagError) as err:
        service.import_document(partial, mode="replace", actor=ACTOR)
    assert "development" in err.value.errors["mode"]
    # other problems of the document are named with it
    broken = {"version": 2, "features": [{"name": "p", "enabled": "yes"}]}
    with pytest.raises(service.FlagError) as err:
        service.import_document(broken, mode="replace", actor=ACTOR, environment="staging")
    assert set(err.value.errors) == {"mode", 'features[0] "p".enabled'}
    _untouched(seg_id)
    # merge imports the one environment; replace of every environment still archives what the file lacks
    assert service.import_document(copy.deepcopy(STAGING_ONLY), actor=ACTOR, environment="staging").updated == ["p"]
    full["features"] = [f for f in full["features"] if f["name"] == "p"]
    for name in ("featureEnvironments", "featureStrategies"):
        full[name] = [s for s in full[name] if s["featureName"] == "p"]
    report = service.import_document(full, mode="replace", actor=ACTOR)
    assert report.archived == ["other"] and [s.id for s in service.list_segments()] == [seg_id]


def test_the_replace_refusal_reaches_the_admin_api_the_cli_and_the_console(app, client, admin_client, runner,
                                                                           ctx, tmp_path) -> None:
    import io
    import json

    from nous.adminapi import tokens

    seg_id = _shared_world()
    _row, raw = tokens.create("import-bot", ["flags:write"], actor=ACTOR)
    resp = client.post("/api/admin/v1/flag-import?environment=staging&mode=replace", json=STAGING_ONLY,
                       headers={"Authorization": f"Bearer {raw}"})
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    problem = resp.get_json()
    assert "mode" in problem["errors"] and "every environment" in problem["detail"]
    _untouched(seg_id)
    path = tmp_path / "staging.json"
    path.write_text(json.dumps(STAGING_ONLY))
    cli = runner.invoke(args=["nous", "flags", "import", str(path), "--mode", "replace", "-e", "staging"])
    assert cli.exit_code == 1 and "replace needs a document of every environment" in cli.output
    assert "Traceback" not in cli.output
    _untouched(seg_id)
    page = admin_client.post("/admin/beta/flags/-/import", content_type="multipart/form-data",
                             data={"mode": "replace", "environment": "staging",
                                   "file": (io.BytesIO(json.dumps(STAGING_ONLY).encode()), "f.json")})
    assert page.status_code == 422 and "replace needs a document of every environment" in page.get_data(as_text=True)
    _untouched(seg_id)


@pytest.mark.parametrize("doc", [
    {"features": [{"name": "a", "type": "release", "dependencies": 5}]},
    {"features": [{"name": "a", "type": "release"}], "dependencies": [{"feature": "a", "dependencies": 5}]},
    {"features": [{"name": "a", "type": "release", "dependencies": {"feature": "p"}}]},
], ids=["in-feature", "top-level", "object"])
def test_dependencies_that_are_not_a_list_are_refused_naming_the_field(ctx, doc) -> None:
    doc = {"version": 4, "environments": [{"name": "production"}], **doc,
           "featureEnvironments": [{"featureName": "a", "environment": "production", "enabled": True}]}
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    assert err.value.status == 422
    assert list(err.value.errors) == ['features[0] "a".dependencies']
    assert service.list_flags() == []


def test_naming_one_environment_ignores_the_other_environments_variants(ctx, make_flag) -> None:
    make_flag("a", variants=[{"name": "x", "weight": 1000}])
    doc = service.export_document(environment=None)
    for switch in doc["featureEnvironments"]:
        switch["enabled"] = True
        if switch["environment"] == "development":
            switch["variants"] = [{"name": "y", "weight": 1000}]
    report = service.import_document(doc, actor=ACTOR, environment="staging")
    assert report.updated == ["a"] and report.environments == ["staging"]
    assert [service.get_flag("a", environment=e).enabled for e in ENVS] == [False, True, False]
    assert service.get_flag("a").variants == [{"name": "x", "weight": 1000}]
    # importing every environment still refuses lists that differ
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    assert "NOUS keeps one list of variants per flag" in err.value.errors['features[0] "a".variants']


def test_one_reading_of_the_environment_a_transfer_names(ctx) -> None:
    """The CLI, the console and the admin API read `environment` through transfer_environment: none named is
    the caller's default, `*` every environment (None), else one that exists here."""
    assert service.transfer_environment(None) is None
    assert service.transfer_environment(None, "production") == "production"
    assert service.transfer_environment(service.ALL_ENVIRONMENTS, "production") is None
    assert service.ALL_ENVIRONMENTS == "*"
    assert service.transfer_environment("staging", "production") == "staging"
    for raw in ("qa", "", "**", 7):
        with pytest.raises(service.FlagError) as err:
            service.transfer_environment(raw, "production")
        assert err.value.errors == {"environment": "unknown environment; one of development, staging, production"}
