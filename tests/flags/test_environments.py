"""Flags per environment: each environment has its own switch, strategies and schedule while the key,
description, type, variants and parents are shared; tokens belong to one environment and the client
APIs answer for it; the Python API and the OpenFeature provider take the environment as an argument."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext

from nous import flags
from nous.clock import utcnow
from nous.flags import service
from nous.flags.openfeature import NousProvider
from nous.settings import service as settings
from tests.flags.conftest import rollout

ACTOR = "test@nous.test"
EVALUATE = "/api/flags/evaluate"


def test_the_default_list_and_a_new_flag_off_elsewhere_with_the_same_strategies(ctx, make_flag) -> None:
    assert service.environment_names() == ["development", "staging", "production"]
    make_flag("env.new", enabled=True, strategies=[rollout(30)])
    for name in ("development", "staging"):
        there = service.get_flag("env.new", environment=name)
        assert there.enabled is False and there.strategies == [rollout(30)]
    assert service.get_flag("env.new").enabled is True  # production, the default


def test_each_environment_is_changed_on_its_own_and_shares_the_rest(ctx, make_flag) -> None:
    make_flag("env.split", description="shared", variants=[{"name": "a", "weight": 1000, "stickiness": "default"}])
    service.set_enabled("env.split", True, actor=ACTOR, environment="staging")
    service.set_rollout("env.split", 10, actor=ACTOR, environment="staging")
    service.update_flag("env.split", {"description": "changed once"}, actor=ACTOR, environment="development")
    staging = service.get_flag("env.split", environment="staging")
    production = service.get_flag("env.split")
    assert staging.enabled is True and staging.strategies[0]["parameters"]["rollout"] == "10"
    assert production.enabled is False and production.strategies == []
    assert production.description == staging.description == "changed once"  # shared
    history = service.history("env.split")
    assert [(v.action, v.environment) for v in history][:3] == [
        ("update", "development"), ("rollout", "staging"), ("enable", "staging")]
    assert history[0].after["environment"] == "development"


def test_an_unknown_environment_is_refused_with_its_field(ctx, make_flag) -> None:
    make_flag("env.x")
    with pytest.raises(service.FlagError) as err:
        service.set_enabled("env.x", True, actor=ACTOR, environment="qa")
    assert err.value.status == 404 and "environment" in err.value.errors
    with pytest.raises(service.FlagError):
        service.create_token("t", actor=ACTOR, environment="qa")
    # names are lower case and trimmed when made: asked for as written otherwise, they are found
    assert service.set_enabled("env.x", True, actor=ACTOR, environment=" STAGING ").environment == "staging"
    assert service.create_token("t", actor=ACTOR, environment="Staging")[0].environment == "staging"


def test_schedules_run_in_their_own_environment(ctx, make_flag) -> None:
    make_flag("env.sched")
    soon = (utcnow() - timedelta(minutes=1)).isoformat()
    service.update_flag("env.sched", {"enable_at": soon}, actor=ACTOR, environment="staging")
    assert service.apply_schedules() == ["env.sched"]
    assert service.get_flag("env.sched", environment="staging").enabled is True
    assert service.get_flag("env.sched").enabled is False
    assert service.history("env.sched")[0].environment == "staging"


def test_the_python_api_and_the_provider_take_the_environment(app, ctx, make_flag) -> None:
    make_flag("env.py", enabled=True)
    service.set_enabled("env.py", False, actor=ACTOR, environment="production")
    service.set_enabled("env.py", True, actor=ACTOR, environment="staging")
    assert flags.is_enabled("env.py", {}) is False  # the setting flags.environment: production
    assert flags.is_enabled("env.py", {}, "staging") is True
    assert flags.get_variant("env.py", {}, environment="staging")["feature_enabled"] is True
    assert flags.evaluate_all({}, environment="staging")["env.py"]["enabled"] is True
    assert flags.is_enabled("env.py", {}, "nowhere") is False
    settings.set_value("flags.environment", "staging", actor=ACTOR)
    flags.bump_version()
    assert flags.is_enabled("env.py", {}) is True
    api.set_provider(NousProvider(app, environment="production"))
    try:
        assert api.get_client().get_boolean_value("env.py", True, EvaluationContext("u1")) is False
    finally:
        api.clear_providers()


def test_tokens_answer_for_their_environment(ctx, client, make_flag) -> None:
    make_flag("env.api", enabled=True, strategies=[rollout(100)])
    service.set_enabled("env.api", False, actor=ACTOR, environment="development")
    _row, dev = service.create_token("dev", actor=ACTOR, environment="development")
    _row, prod = service.create_token("prod", actor=ACTOR)
    assert dev.startswith("default:development.") and prod.startswith("default:production.")
    assert service.list_tokens()[1]["environment"] == "development"

    def answer(token: str) -> bool:
        return client.post(EVALUATE, json={"userId": "u1"}, headers={"Authorization": token}).get_json()[
            "flags"]["env.api"]["enabled"]

    assert answer(prod) is True and answer(dev) is False
    dev_features = client.get("/api/client/features", headers={"Authorization": dev})
    prod_features = client.get("/api/client/features", headers={"Authorization": prod})
    assert dev_features.get_json()["query"]["environment"] == "development"
    assert [f["enabled"] for f in dev_features.get_json()["features"]] == [False]
    assert [f["enabled"] for f in prod_features.get_json()["features"]] == [True]
    assert dev_features.headers["ETag"] != prod_features.headers["ETag"]
    registered = client.post("/api/client/register", headers={"Authorization": dev},
                             json={"appName": "web", "instanceId": "i1", "interval": 1000,
                                   "started": "2026-12-06T10:00:00Z", "strategies": []})
    assert registered.status_code == 202
    assert service.clients()[0]["flag_environment"] == "development"


def test_export_and_import_name_the_environment_and_keep_impression_data(ctx, client, token, make_flag) -> None:
    make_flag("env.io", enabled=True, impression_data=True)
    doc = service.export_document(environment="staging")
    assert doc["environment"] == "staging" and doc["features"][0]["enabled"] is False
    assert doc["features"][0]["impressionData"] is True
    features = client.get("/api/client/features", headers={"Authorization": token}).get_json()["features"]
    assert features[0]["impressionData"] is True  # served to the SDKs as Unleash does
    doc["features"][0]["enabled"] = True
    doc["features"][0]["impressionData"] = False
    report = service.import_document(doc, actor=ACTOR)  # into the environment the document names
    assert report.updated == ["env.io"]
    assert service.get_flag("env.io", environment="staging").enabled is True
    assert service.get_flag("env.io").impression_data is False
    with pytest.raises(service.FlagError) as err:
        service.import_document({**doc, "environment": "qa"}, actor=ACTOR)
    assert err.value.errors == {"environment": "unknown environment; one of development, staging, production"}
    doc["features"][0]["project"] = "payments"
    with pytest.raises(service.FlagError) as err:
        service.import_document(doc, actor=ACTOR)
    assert list(err.value.errors) == ['features[0] "env.io".project']


def _metrics(client, token: str, yes: int, app: str) -> None:
    body = {"appName": app, "instanceId": "host-1",
            "bucket": {"start": "2026-12-01T09:00:00Z", "stop": "2026-12-01T09:01:00Z",
                       "toggles": {"env.counted": {"yes": yes, "no": 1, "variants": {}}}}}
    assert client.post("/api/client/metrics", json=body, headers={"Authorization": token}).status_code == 202


def test_counts_and_sdk_metrics_follow_a_renamed_environment_and_go_with_a_removed_one(
        ctx, client, make_flag, redis_conn) -> None:
    from nous.flags.cache import EVALS, read_counts, total_key

    make_flag("env.counted", enabled=True)
    service.set_enabled("env.counted", True, actor=ACTOR, environment="staging")
    for _ in range(3):
        assert flags.is_enabled("env.counted", {"userId": "u"}, environment="staging")
    flags.is_enabled("env.counted", {"userId": "u"})  # production's, which stay where they are
    EVALS.flush(redis_conn)
    _row, token = service.create_token("sdk", actor=ACTOR, environment="staging")
    _metrics(client, token, 5, "shop-web")
    redis_conn.hincrby(total_key("qa", "yes"), "env.counted", 2)  # counted under the new name meanwhile

    service.rename_environment("staging", "qa", actor=ACTOR)

    moved = read_counts(redis_conn, environment="qa")["env.counted"]
    assert (moved["yes"], moved["recent_yes"]) == (5, 3)  # added to what the new name had, none lost
    assert "env.counted" not in read_counts(redis_conn, environment="staging")
    assert read_counts(redis_conn)["env.counted"]["yes"] == 1
    usage = service.sdk_usage("qa", "env.counted")
    assert (usage["yes"], usage["no"], [a["app"] for a in usage["apps"]]) == (5, 1, ["shop-web"])
    assert service.sdk_usage("staging", "env.counted")["total"] == 0
    hour_keys = redis_conn.keys("nous:flags:evals:*:yes:env:qa") + redis_conn.keys("nous:flags:sdk:qa:*")
    assert hour_keys and all(redis_conn.ttl(k) > 0 for k in hour_keys)  # hours still expire
    assert not redis_conn.keys("nous:flags:*staging*")

    service.set_enabled("env.counted", False, actor=ACTOR, environment="qa")
    service.revoke_token(_row.id, actor=ACTOR)
    service.remove_environment("qa", actor=ACTOR)
    service.add_environment("qa", actor=ACTOR)  # the same name again starts from nothing
    assert "env.counted" not in read_counts(redis_conn, environment="qa")
    assert service.sdk_usage("qa", "env.counted") == {"yes": 0, "no": 0, "total": 0, "variants": {}, "apps": []}


def test_a_rename_while_redis_is_down_is_made_and_says_the_counts_stayed(ctx, monkeypatch, caplog) -> None:
    import importlib

    import redis

    environments = importlib.import_module("nous.flags.service.environments")  # the module, not its function
    monkeypatch.setattr(environments, "get_redis",
                        lambda: redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2))
    environments.log.addHandler(caplog.handler)  # the app's loggers do not pass records up to the root
    try:
        service.rename_environment("staging", "qa", actor=ACTOR)
    finally:
        environments.log.removeHandler(caplog.handler)
    assert service.environment_names() == ["development", "qa", "production"]
    assert "counts of environment staging could not be moved to qa" in caplog.text


def test_renaming_the_environment_nous_evaluates_in_moves_the_setting_and_counts_along(ctx, make_flag,
                                                                                       redis_conn) -> None:
    from nous.flags.cache import EVALS, read_counts
    from nous.flags.service.clients import APPS_KEPT, APPS_KEY

    make_flag("own.flag", enabled=True)
    assert flags.is_enabled("own.flag", {"userId": "u"})  # the setting's environment: production
    EVALS.flush(redis_conn)
    full = APPS_KEY.format(environment="live", flag="own.flag")
    redis_conn.hset(full, mapping={f"app-{i}": "{}" for i in range(APPS_KEPT)})
    redis_conn.hset(APPS_KEY.format(environment="production", flag="own.flag"), "one-more", "{}")

    service.rename_environment("production", "live", actor=ACTOR)

    assert settings.get("flags.environment") == "live"
    assert flags.is_enabled("own.flag", {"userId": "u"})  # still on for NOUS's own code, now in "live"
    EVALS.flush(redis_conn)
    assert read_counts(redis_conn, environment="live")["own.flag"]["yes"] == 2  # the one before and the one after
    assert "own.flag" not in read_counts(redis_conn, environment="production")
    assert redis_conn.hlen(full) == APPS_KEPT  # the applications stay within their bound


def test_a_new_environment_starts_from_nothing_whatever_an_old_one_of_its_name_left(ctx, redis_conn) -> None:
    from nous.flags.cache import read_counts, total_key

    redis_conn.hincrby(total_key("qa", "yes"), "left.behind", 7)  # e.g. removed while Redis was away
    service.add_environment("qa", actor=ACTOR)
    assert read_counts(redis_conn, environment="qa") == {}


# --- changes of the list at the same moment as other writes (several processes of the web app at once)


def _at_once(app, count: int, work) -> list[object]:
    """`work(i)` in `count` threads at once, each in an app context of its own (its own database session, as
    separate requests have): what each returned, or the FlagError it raised."""
    import threading

    from nous.extensions import db
    from nous.flags.service.errors import FlagError

    start, results = threading.Barrier(count), [None] * count

    def run(i: int) -> None:
        with app.app_context():
            start.wait()
            try:
                results[i] = work(i)
            except FlagError as exc:
                results[i] = exc
            except Exception as exc:  # what the test reports: anything else is a defect
                results[i] = ("unexpected", repr(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def test_renames_at_once_leave_one_name_that_the_tokens_and_switches_follow(app, ctx, client, make_flag) -> None:
    """Six renames of one environment at the same moment: one is made, the others are told the environment
    is not there any more (404), and its token, switch and history all carry the name it ended with."""
    from nous.flags.service.errors import FlagError

    make_flag("race.flag", enabled=False)
    service.add_environment("race", actor=ACTOR)
    service.set_enabled("race.flag", True, actor=ACTOR, environment="race")
    _row, token = service.create_token("race app", actor=ACTOR, environment="race")
    results = _at_once(app, 6, lambda i: service.rename_environment("race", f"race-{i}", actor=ACTOR).name)
    made = [r for r in results if isinstance(r, str)]
    assert len(made) == 1 and all(isinstance(r, FlagError) and r.status == 404 for r in results if r not in made), \
        results
    [name] = made
    assert "race" not in service.environment_names() and name in service.environment_names()
    assert [t["environment"] for t in service.list_tokens()] == [name]
    assert service.get_flag("race.flag", environment=name).enabled is True
    answered = client.post(EVALUATE, json={"userId": "u"}, headers={"Authorization": token})
    assert answered.status_code == 200 and answered.json["flags"]["race.flag"]["enabled"] is True
    assert service.environment_use(name) == {"flags_on": 1, "tokens": 1}  # so it cannot be removed


def test_the_same_environment_added_or_removed_at_once_is_made_or_refused_cleanly(app, ctx) -> None:
    from nous.flags.service.errors import FlagError

    added = _at_once(app, 6, lambda i: service.add_environment("twice", actor=ACTOR).name)
    assert added.count("twice") == 1, added
    assert all(isinstance(r, FlagError) and r.status == 409 for r in added if r != "twice"), added
    removed = _at_once(app, 6, lambda i: service.remove_environment("twice", actor=ACTOR))
    assert removed.count(None) == 1, removed
    assert all(isinstance(r, FlagError) and r.status == 404 for r in removed if r is not None), removed
    assert "twice" not in service.environment_names()


def test_a_token_or_a_switch_made_while_its_environment_is_renamed_follows_the_rename(app, ctx, make_flag) -> None:
    """Writes in an environment and its rename at the same moment: each write lands before the rename (and is
    renamed with it) or after (and is told the name is gone) — never under a name no environment has."""
    from nous.flags.service.errors import FlagError

    make_flag("race.switch", enabled=False)
    for attempt in range(3):
        old, new = f"moving-{attempt}", f"moved-{attempt}"
        service.add_environment(old, actor=ACTOR)

        def work(i: int, old: str = old, new: str = new, attempt: int = attempt) -> object:
            if i == 0:
                return service.rename_environment(old, new, actor=ACTOR).name
            if i == 2:  # one switch (two edits of one flag at once are a conflict of their own)
                return service.set_enabled("race.switch", True, actor=ACTOR, environment=old).environment
            return service.create_token(f"t{attempt}-{i}", actor=ACTOR, environment=old)[0].environment

        results = _at_once(app, 5, work)
        assert results[0] == new, results
        # made before the rename (the row, read again after its commit, may already show the new name), or
        # refused after it
        assert all(r in (old, new) or (isinstance(r, FlagError) and r.status == 404) for r in results[1:]), results
        names = set(service.environment_names())
        assert {t["environment"] for t in service.list_tokens()} <= names
        from nous.extensions import db
        from nous.flags.models import FlagState

        assert {s.environment for s in db.session.scalars(db.select(FlagState))} <= names


def test_a_token_is_listed_by_the_start_of_its_text_after_its_environment_is_renamed(ctx, client) -> None:
    """The text keeps the name it was made with (and keeps working); the lists show that start, so the
    token an SDK holds can be found in them, with the environment it answers for now beside it."""
    _row, token = service.create_token("staging app", actor=ACTOR, environment="staging")
    service.rename_environment("staging", "stage", actor=ACTOR)
    [listed] = service.list_tokens()
    assert token.startswith("default:staging.") and token.startswith(listed["prefix"])
    assert len(listed["prefix"]) == len("default:staging.") + 8 and listed["environment"] == "stage"
    assert client.post(EVALUATE, json={}, headers={"Authorization": token}).status_code == 200


def test_the_default_environment_a_moment_after_a_rename_elsewhere(ctx, make_flag, monkeypatch) -> None:
    """Another process renamed production a moment ago and this one's copy of the setting still says
    production: the stored setting names the new name. Were no environment of that name to be found at all, a
    page would show the first environment, but a write naming none is refused instead of made there."""
    make_flag("f1", strategies=[rollout(10)])
    service.rename_environment("production", "prod", actor="t")
    real_get = settings.get
    monkeypatch.setattr(settings, "get", lambda key: "production" if key == "flags.environment" else real_get(key))
    assert service.default_environment() == "prod" and service.get_flag("f1").environment == "prod"
    monkeypatch.setattr(settings, "stored_values", lambda: {"flags.environment": "gone"})
    assert service.default_environment() == "development"
    with pytest.raises(service.FlagError) as refused:
        service.set_rollout("f1", 50, actor="t")
    assert refused.value.status == 409 and "name the environment" in refused.value.message
    assert service.get_flag("f1", environment="development").strategies[0]["parameters"]["rollout"] == "10"
