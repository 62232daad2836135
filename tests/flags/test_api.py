"""Client APIs: tokens, /api/flags/evaluate, the Unleash client API (features with ETag, register, metrics)."""

from __future__ import annotations

import importlib
import time
from unittest.mock import ANY

import pytest

from nous.dbmonitor.monitor import STATS as query_stats
from nous.flags import service
from nous.flags.cache import EVALS, YES_KEY
from tests.flags.conftest import constraint, rollout

EVALUATE = "/api/flags/evaluate"
FEATURES = "/api/client/features"


@pytest.fixture
def flags_set(make_flag) -> None:
    make_flag("everyone", enabled=True)
    make_flag("pro.only", enabled=True, type="permission",
              strategies=[rollout(100, constraint("plan", "IN", ["pro"]))])
    make_flag("off")
    make_flag("ab.test", enabled=True, type="experiment", strategies=[rollout(100)],
              variants=[{"name": "a", "weight": 1, "payload": {"type": "string", "value": "hello"}}])


@pytest.mark.parametrize("header", [None, "", "nope", "Bearer nope", "Bearer ", "x" * 600])
def test_requests_without_a_valid_token_get_401(client, ctx, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    for method, path in (("post", EVALUATE), ("get", FEATURES), ("post", "/api/client/register"),
                         ("post", "/api/client/metrics")):
        resp = getattr(client, method)(path, json={}, headers=headers)
        assert resp.status_code == 401, (path, resp.status_code)
        assert resp.json["error"] == "Unauthorized" and "token" in resp.json["message"]
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_raw_and_bearer_tokens_work_and_revoking_stops_them(client, ctx, token, flags_set) -> None:
    assert client.post(EVALUATE, json={}, headers={"Authorization": token}).status_code == 200
    assert client.post(EVALUATE, json={}, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.post(EVALUATE, json={}, headers={"Authorization": f"bearer  {token} "}).status_code == 200
    token_id = service.list_tokens()[0]["id"]
    service.revoke_token(token_id, actor="t")
    assert client.post(EVALUATE, json={}, headers={"Authorization": token}).status_code == 401


def test_evaluate_answers_every_flag_for_the_context(client, ctx, token, flags_set) -> None:
    resp = client.post(EVALUATE, json={"userId": "u1", "properties": {"plan": "pro"}},
                       headers={"Authorization": token})
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    got = resp.json["flags"]
    assert {k: v["enabled"] for k, v in got.items()} == {"everyone": True, "pro.only": True, "off": False,
                                                         "ab.test": True}
    assert got["ab.test"]["variant"] == {"name": "a", "enabled": True, "feature_enabled": True,
                                         "payload": {"type": "string", "value": "hello"}}
    assert got["off"]["variant"] == {"name": "disabled", "enabled": False, "feature_enabled": False,
                                     "payload": None}
    free = client.post(EVALUATE, json={"userId": "u1", "properties": {"plan": "free"}},
                       headers={"Authorization": token}).json["flags"]
    assert free["pro.only"]["enabled"] is False


def test_evaluate_does_no_sql(client, ctx, token, flags_set) -> None:
    headers = {"Authorization": token}
    client.post(EVALUATE, json={"userId": "warm"}, headers=headers)
    before = query_stats.total
    for i in range(50):
        assert client.post(EVALUATE, json={"userId": f"u{i}"}, headers=headers).status_code == 200
    assert query_stats.total == before


@pytest.mark.parametrize(("body", "field", "message"), [
    ({"userId": 42}, "userId", "must be a string"),
    ({"userID": "typo"}, "userID", "unknown context field"),
    ({"currentTime": "yesterday"}, "currentTime", "RFC 3339"),
    ({"properties": []}, "properties", "must be an object"),
    ({"properties": {"tags": ["a"]}}, "properties.tags", "string, number or boolean"),
    ({"properties": {"n": float("nan")}}, "properties.n", "string, number or boolean"),
    ({"sessionId": "s" * 1001}, "sessionId", "at most 1000"),
])
def test_bad_contexts_get_400_with_one_message_per_field(client, ctx, token, body, field, message) -> None:
    import json

    resp = client.post(EVALUATE, data=json.dumps(body), content_type="application/json",
                       headers={"Authorization": token})
    assert resp.status_code == 400, resp.data
    assert message in resp.json["errors"][field]


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b"\xff\xfe", b'"a string"', b"{" * 5000])
def test_bodies_that_are_not_an_object_get_400(client, ctx, token, raw: bytes) -> None:
    for path in (EVALUATE, "/api/client/register", "/api/client/metrics"):
        resp = client.post(path, data=raw, content_type="application/json", headers={"Authorization": token})
        assert resp.status_code == 400 and "body" in resp.json["errors"], (path, raw[:10], resp.status_code)


def test_a_context_with_every_field_is_accepted(client, ctx, token, make_flag) -> None:
    make_flag("window", enabled=True, strategies=[rollout(100, constraint("currentTime", "DATE_BEFORE",
                                                                          "2030-01-01T00:00:00Z"))])
    body = {"userId": "u", "sessionId": "s", "remoteAddress": "10.0.0.1", "environment": "prod", "appName": "web",
            "currentTime": "2029-12-31t23:59:59.5z", "properties": {"plan": "pro", "seats": 3, "trial": False}}
    resp = client.post(EVALUATE, json=body, headers={"Authorization": token})
    assert resp.status_code == 200 and resp.json["flags"]["window"]["enabled"] is True
    later = client.post(EVALUATE, json={**body, "currentTime": "2031-01-01T00:00:00+02:00"},
                        headers={"Authorization": token})
    assert later.json["flags"]["window"]["enabled"] is False


def test_client_features_in_the_unleash_format_with_etag(client, ctx, token, flags_set) -> None:
    seg = service.save_segment(None, "pros", [constraint("plan", "IN", ["pro"])], actor="t")
    service.update_flag("pro.only", {"strategies": [{**rollout(50), "segments": [seg.id]},
                                                    {"name": "default", "disabled": True}]}, actor="t")
    headers = {"Authorization": token}
    resp = client.get(FEATURES, headers=headers)
    assert resp.status_code == 200
    body = resp.json
    assert body["version"] == 2 and body["segments"] == [{"id": seg.id, "name": "pros",
                                                           "constraints": [constraint("plan", "IN", ["pro"])]}]
    by_name = {f["name"]: f for f in body["features"]}
    assert set(by_name) == {"everyone", "pro.only", "off", "ab.test"}
    pro = by_name["pro.only"]
    assert pro["type"] == "permission" and pro["enabled"] is True and pro["stale"] is False
    assert pro["strategies"] == [{"name": "flexibleRollout", "constraints": [], "segments": [seg.id],
                                  "parameters": {"rollout": "50", "stickiness": "default",
                                                 "groupId": "pro.only"}}]  # disabled one left out
    etag = resp.headers["ETag"]
    again = client.get(FEATURES, headers={**headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.data == b""
    service.set_enabled("off", True, actor="t")
    changed = client.get(FEATURES, headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    prefixed = client.get(FEATURES, query_string={"namePrefix": "pro"}, headers=headers)
    assert [f["name"] for f in prefixed.json["features"]] == ["pro.only"]
    assert prefixed.json["query"]["namePrefix"] == "pro" and prefixed.headers["ETag"] != changed.headers["ETag"]
    other = client.get(FEATURES, query_string={"project": "elsewhere"}, headers=headers)
    assert other.json["features"] == []


def test_register_and_metrics_accept_the_sdk_payloads(client, ctx, token, flags_set, redis_conn) -> None:
    headers = {"Authorization": token}
    registration = {  # what the Python SDK (UnleashClient 6) sends
        "appName": "nous-web", "instanceId": "host-1", "connectionId": "c0ffee",
        "sdkVersion": "unleash-client-python:6.2.0",
        "strategies": ["default", "flexibleRollout", "userWithId"], "started": "2026-11-22T05:00:00.000000+00:00",
        "interval": 60000, "platformName": "CPython", "platformVersion": "3.11.9", "yggdrasilVersion": "0.17.0",
        "specVersion": "5.1.9"}
    assert client.post("/api/client/register", json=registration, headers=headers).status_code == 202
    assert service.clients()[0]["appName"] == "nous-web" and service.clients()[0]["token"] == "tests"
    metrics = {"appName": "nous-web", "instanceId": "host-1", "connectionId": "c0ffee", "platformName": "CPython",
               "bucket": {"start": "2026-11-22T05:00:00Z", "stop": "2026-11-22T05:01:00Z",
                          "toggles": {"everyone": {"yes": 7, "no": 0, "variants": {}},
                                      "ab.test": {"yes": 2, "no": 3, "variants": {"a": 2}},
                                      "not.ours": {"yes": 100, "no": 0}}}}
    assert client.post("/api/client/metrics", json=metrics, headers=headers).status_code == 202
    EVALS.flush(redis_conn)
    # the SDK's figures are kept as the SDK's (for the token's environment), not added to NOUS's own counts
    assert redis_conn.hget(YES_KEY, "everyone") is None
    assert service.sdk_usage("production", "everyone") == {
        "yes": 7, "no": 0, "total": 7, "variants": {},
        "apps": [{"app": "nous-web", "sdk": "unleash-client-python:6.2.0", "seen": ANY}]}
    ab = service.sdk_usage("production", "ab.test")
    assert (ab["yes"], ab["no"], ab["variants"]) == (2, 3, {"a": 2})
    assert service.sdk_usage("production", "not.ours")["total"] == 0  # only flags this server knows are kept
    assert service.sdk_usage("staging", "everyone")["total"] == 0
    bad = client.post("/api/client/metrics", json={"appName": "x", "bucket": {"toggles": {"a": {"yes": -1}}}},
                      headers=headers)
    assert bad.status_code == 400 and "bucket.toggles.a.yes" in bad.json["errors"]
    for interval in (2**70, 1e308, -1, True):  # not an interval any SDK keeps
        far = client.post("/api/client/register", json={**registration, "interval": interval}, headers=headers)
        assert far.status_code == 400 and "interval" in far.json["errors"], interval
    missing = client.post("/api/client/register", json={"strategies": "all"}, headers=headers)
    assert missing.status_code == 400 and set(missing.json["errors"]) == {"appName", "strategies"}


def test_token_use_is_recorded_without_sql(client, ctx, token, flags_set, redis_conn) -> None:
    client.get(FEATURES, headers={"Authorization": token})
    EVALS.flush(redis_conn)
    assert service.list_tokens()[0]["last_used_at"] is not None


def test_rate_limit_from_the_setting_per_token(client, ctx, token, flags_set, monkeypatch) -> None:
    from nous.flags.limits import LIMITER
    from nous.settings import service as settings

    monkeypatch.setattr(LIMITER, "_clock", lambda: 1_700_000_010.0)  # half a minute in: one window for all
    settings.set_value("api.rate_limit", "3/minute", actor="t")
    headers = {"Authorization": token}
    codes = [client.post(EVALUATE, json={}, headers=headers).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.post(EVALUATE, json={}, headers=headers)
    assert limited.json["error"] == "Too Many Requests" and int(limited.headers["Retry-After"]) > 0
    _row, other = service.create_token("other", actor="t")
    time.sleep(0)  # a second token has its own budget
    assert client.post(EVALUATE, json={}, headers={"Authorization": other}).status_code == 200


def test_openapi_documents_the_client_apis(client, ctx) -> None:
    doc = client.get("/openapi.json").json
    for path, method in ((EVALUATE, "post"), (FEATURES, "get"), ("/api/client/register", "post"),
                         ("/api/client/metrics", "post")):
        op = doc["paths"][path][method]
        assert op["security"] == [{"flagsClientToken": []}] and "401" in op["responses"]
    assert doc["components"]["securitySchemes"]["flagsClientToken"]["name"] == "Authorization"
    assert "FlagContext" in doc["components"]["schemas"]


def test_evaluate_answers_as_the_python_api_does(client, ctx, token, make_flag) -> None:
    """The JSON the endpoint writes from pieces made at load time is flags.evaluate_all(), tester
    overrides, variants with and without payloads, and dependencies included."""
    from nous import flags
    from nous.testers import service as testers

    make_flag("rollout.half", enabled=True, strategies=[rollout(50, constraint("plan", "IN", ["pro", "team"]))])
    make_flag("variants", enabled=True, strategies=[rollout(100)], variants=[
        {"name": "a", "weight": 1, "payload": {"type": "json", "value": "{\"ü\": 1}"}}, {"name": "b", "weight": 1}])
    make_flag("child", enabled=True, dependencies=[{"feature": "rollout.half"}])
    make_flag("switched.off")
    tester = testers.add("ov@example.com", actor="t")
    service.set_flag_override(tester.id, "switched.off", True, actor="t")
    service.set_flag_override(tester.id, "variants", False, actor="t")
    assert flags.is_enabled("switched.off", {"userId": "ov@example.com"})
    for i in range(40):
        context = {"userId": "ov@example.com" if i == 0 else f"user-{i}",
                   "properties": {"plan": ("pro", "team", "free")[i % 3]}}
        got = client.post(EVALUATE, json=context, headers={"Authorization": token}).json["flags"]
        assert got == flags.evaluate_all(context), context


def test_client_features_state_parameters_as_the_sdks_read_them(client, ctx, token, make_flag) -> None:
    """Strategy parameters are strings (the SDKs' engine drops the whole payload over one number) and
    every rollout states its groupId (the SDKs turn a gradual rollout without one off for everyone)."""
    make_flag("legacy.session", enabled=True, strategies=[
        {"name": "gradualRolloutSessionId", "parameters": {"percentage": 40}},
        {"name": "flexibleRollout", "parameters": {"rollout": 25.0, "stickiness": "tenant", "groupId": ""}},
        {"name": "flexibleRollout", "parameters": {"rollout": "5", "groupId": "shared"}}])
    features = client.get(FEATURES, headers={"Authorization": token}).json["features"]
    [feature] = [f for f in features if f["name"] == "legacy.session"]
    assert [s["parameters"] for s in feature["strategies"]] == [
        {"percentage": "40", "groupId": "legacy.session"},
        {"rollout": "25", "stickiness": "tenant", "groupId": "legacy.session"},
        {"rollout": "5", "groupId": "shared"}]


def test_valid_tokens_are_remembered_per_snapshot_and_unknown_ones_never(client, ctx, token, flags_set) -> None:
    from nous.flags.cache import snapshot

    for i in range(30):
        assert client.post(EVALUATE, json={}, headers={"Authorization": f"nous_bogus{i}"}).status_code == 401
    assert client.post(EVALUATE, json={}, headers={"Authorization": token}).status_code == 200
    assert list(snapshot().known_clients) == [token]
    service.revoke_token(service.list_tokens()[0]["id"], actor="t")  # a new snapshot, which knows nobody
    assert client.post(EVALUATE, json={}, headers={"Authorization": token}).status_code == 401
    assert snapshot().known_clients == {}


def _flask_itself(app):
    """A client of the Flask app itself, without the layer in front of it (nous.front)."""
    from werkzeug.test import Client

    from nous import front

    return Client(app.extensions[front.EXTENSION].app, app.response_class)


def test_evaluations_are_answered_in_front_of_flask_exactly_as_flask_answers_them(app, client, ctx, token,
                                                                                  flags_set) -> None:
    from flask import request

    seen: list[str] = []
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(lambda: seen.append(request.path))
    contexts = [{}, {"userId": "u1", "properties": {"plan": "pro"}},
                {"userId": "ü-€", "sessionId": "s-1", "remoteAddress": "10.1.2.3", "environment": "production",
                 "appName": "nous", "currentTime": "2026-01-01T00:00:00Z", "properties": {"n": 2, "b": True}}]
    try:
        for context in contexts:
            headers = {"Authorization": f"Bearer {token}", "X-Request-ID": "same-id"}
            in_front = client.post(EVALUATE, json=context, headers=headers)
            by_flask = _flask_itself(app).post(EVALUATE, json=context, headers=headers)
            assert in_front.status_code == by_flask.status_code == 200
            assert in_front.data == by_flask.data
            assert sorted(in_front.headers.items()) == sorted(by_flask.headers.items())
    finally:
        hooks.pop()
    assert seen == [EVALUATE] * len(contexts)  # only the requests sent to Flask itself ran its hooks


def test_what_the_front_layer_leaves_to_flask_is_answered_by_flask_and_limited_once(client, ctx, token, flags_set,
                                                                                    monkeypatch) -> None:
    from nous.flags.limits import LIMITER
    from nous.settings import service as settings

    monkeypatch.setattr(LIMITER, "_clock", lambda: 1_700_000_010.0)  # half a minute in: one window for all
    settings.set_value("api.rate_limit", "4/minute", actor="t")
    headers = {"Authorization": token}
    bad = client.post(EVALUATE, json={"userId": 42}, headers=headers)  # read in front, answered by Flask
    assert bad.status_code == 400 and bad.json["errors"] == {"userId": "must be a string"}
    large = {"properties": {f"p{i}": "x" * 900 for i in range(100)}}  # a body past what the front layer reads
    assert client.post(EVALUATE, json=large, headers=headers).status_code == 200
    codes = [client.post(EVALUATE, json={}, headers=headers).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    refused = client.post(EVALUATE, json={}, headers=headers)
    assert refused.json["error"] == "Too Many Requests" and int(refused.headers["Retry-After"]) > 0


def test_evaluations_answered_in_front_are_counted_under_the_route(client, ctx, token, flags_set,
                                                                   redis_conn) -> None:
    from nous.telemetry.requests import STATS, summary

    def answered() -> int:
        STATS.flush(redis_conn)
        endpoint = summary(redis_conn)["endpoints"].get("flags_api.evaluate", {"by_status": {}})
        return endpoint["by_status"].get("2xx", 0)

    before = answered()
    for i in range(5):
        assert client.post(EVALUATE, json={"userId": f"u{i}"}, headers={"Authorization": token}).status_code == 200
    assert answered() - before == 5


def test_registrations_are_kept_whole_and_bounded(client, ctx, token, monkeypatch) -> None:
    """Fields at their documented limits came out as JSON cut at 4,000 characters, which the tokens page could
    not read (the SDK never showed); and one token could fill Redis with as many instances as it liked. At most
    CLIENTS_MAX are kept, a newcomer taking the place of the one seen longest ago."""
    registered = importlib.import_module("nous.flags.service.clients")  # the package's `clients` is its function
    headers = {"Authorization": token}
    long = {"appName": "a" * 1000, "instanceId": "i" * 1000, "sdkVersion": "s" * 1000, "environment": "e" * 1000,
            "strategies": ["x" * 1000] * 3, "interval": 1000, "started": "2026-11-22T05:00:00Z"}
    assert client.post("/api/client/register", json=long, headers=headers).status_code == 202
    [shown] = service.clients()
    assert shown["appName"] == "a" * 200 and shown["sdkVersion"] == "s" * 100
    assert shown["strategies"] == ["x" * 100] * 3
    clean = client.post("/api/client/register", json={"appName": "x\u0000y", "instanceId": "1"}, headers=headers)
    assert clean.status_code == 202 and {c["appName"] for c in service.clients()} == {"a" * 200, "x\ufffdy"}
    monkeypatch.setattr(registered, "CLIENTS_MAX", 5)
    for i in range(8):
        assert client.post("/api/client/register", json={"appName": f"flood-{i}"}, headers=headers).status_code == 202
    assert {c["appName"] for c in service.clients()} == {f"flood-{i}" for i in range(3, 8)}  # the latest five
    again = client.post("/api/client/register", json={"appName": "x\u0000y", "instanceId": "1", "sdkVersion": "v2"},
                        headers=headers)  # back: it takes the place of the one seen longest ago
    assert again.status_code == 202
    assert {c["appName"] for c in service.clients()} == {"x\ufffdy", *(f"flood-{i}" for i in range(4, 8))}
    assert [c["sdkVersion"] for c in service.clients() if c["appName"] == "x\ufffdy"] == ["v2"]


def test_the_front_layer_answers_outside_any_app_context_and_follows_changes(app, monkeypatch) -> None:
    """In a server no app context is active when a request comes, and the layer in front of Flask pushes
    none: what it reads (the flags, the tokens, the rate limit) loads in its app's own context when it
    changed. A flag switched off and a lower limit apply to the next request, still answered in front."""
    from flask import has_app_context

    from nous.flags.limits import LIMITER
    from nous.settings import service as settings

    monkeypatch.setattr(LIMITER, "_clock", lambda: 1_700_000_010.0)  # half a minute in: one window for all
    with app.app_context():
        settings.set_value("api.rate_limit", "1000/minute", actor="t")
        _row, token = service.create_token("outside", actor="t")
        service.create_flag({"key": "outside.flag", "enabled": True, "strategies": [rollout(100)]}, actor="t")
    flask_saw: list[str] = []
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(lambda: flask_saw.append("request"))
    client = app.test_client()
    headers = {"Authorization": token}
    try:
        assert not has_app_context()
        first = client.post(EVALUATE, json={"userId": "u"}, headers=headers)
        assert first.status_code == 200 and first.json["flags"]["outside.flag"]["enabled"] is True
        with app.app_context():
            service.set_enabled("outside.flag", False, actor="t")
            settings.set_value("api.rate_limit", "2/minute", actor="t")
        LIMITER.reset()  # the leases taken under the old limit
        second = client.post(EVALUATE, json={"userId": "u"}, headers=headers)
        assert second.status_code == 200 and second.json["flags"]["outside.flag"]["enabled"] is False
        assert flask_saw == []  # both answered in front of Flask
        assert client.post(EVALUATE, json={}, headers=headers).status_code == 200
        refused = client.post(EVALUATE, json={}, headers=headers)  # the third under 2/minute: Flask says why
        assert refused.status_code == 429 and flask_saw == ["request"]
        assert client.get(FEATURES, headers=headers).status_code == 429
    finally:
        hooks.pop()
