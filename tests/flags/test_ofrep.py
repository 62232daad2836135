"""OFREP (nous.flags.ofrep) in process: how NOUS flags read as OpenFeature values and reasons, OFREP's error
codes and shapes, the token's environment, X-API-Key, and the bulk answer's ETag."""

from __future__ import annotations

import pytest

from nous.flags import service

ONE = "/ofrep/v1/evaluate/flags/"
ALL = "/ofrep/v1/evaluate/flags"
VARIANTS = [
    {"name": "text", "weight": 1000, "stickiness": "default", "payload": {"type": "string", "value": "blue"}},
]


def _post(client, path, token, body=None, **headers):
    return client.post(path, json={"context": {}} if body is None else body,
                       headers={"Authorization": f"Bearer {token}", **headers})


def _variant_flag(make_flag, key, payload):
    make_flag(key, enabled=True, variants=[{"name": "v", "weight": 1000, "stickiness": "default", "payload": payload}])


def test_a_boolean_flag_reads_as_its_answer_with_the_reason_that_decided_it(client, make_flag, token) -> None:
    make_flag("of.static", enabled=True)
    make_flag("of.off", enabled=False)
    make_flag("of.pros", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    pro = {"context": {"targetingKey": "u1", "plan": "pro"}}
    free = {"context": {"targetingKey": "u1", "plan": "free"}}
    assert _post(client, ONE + "of.static", token).get_json() == {
        "key": "of.static", "value": True, "reason": "STATIC", "variant": "on"}
    assert _post(client, ONE + "of.off", token).get_json() == {
        "key": "of.off", "value": False, "reason": "DISABLED", "variant": "off"}
    assert _post(client, ONE + "of.pros", token, pro).get_json()["reason"] == "TARGETING_MATCH"
    assert _post(client, ONE + "of.pros", token, pro).get_json()["value"] is True
    assert _post(client, ONE + "of.pros", token, free).get_json() == {
        "key": "of.pros", "value": False, "reason": "DEFAULT", "variant": "off"}


@pytest.mark.parametrize(("payload", "value"), [
    ({"type": "string", "value": "blue"}, "blue"),
    ({"type": "csv", "value": "a,b"}, "a,b"),
    ({"type": "number", "value": "42"}, 42),
    ({"type": "number", "value": "2.5"}, 2.5),
    ({"type": "json", "value": '{"size": 3, "tags": ["x"]}'}, {"size": 3, "tags": ["x"]}),
])
def test_a_variant_reads_as_its_payload_by_type(client, make_flag, token, payload, value) -> None:
    _variant_flag(make_flag, "of.v", payload)
    body = _post(client, ONE + "of.v", token, {"context": {"targetingKey": "u1"}}).get_json()
    assert body == {"key": "of.v", "value": value, "reason": "SPLIT", "variant": "v"}
    assert type(body["value"]) is type(value)


def test_a_switched_off_variant_flag_has_no_value_so_the_caller_default_applies(client, make_flag, token) -> None:
    make_flag("of.v-off", enabled=False, variants=VARIANTS)
    body = _post(client, ONE + "of.v-off", token).get_json()
    assert body == {"key": "of.v-off", "reason": "DISABLED", "variant": "disabled"}


def test_targeting_key_is_the_user_id_and_other_attributes_are_properties(client, make_flag, token) -> None:
    make_flag("of.users", enabled=True, strategies=[
        {"name": "userWithId", "parameters": {"userIds": "alice"},
         "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    yes = _post(client, ONE + "of.users", token, {"context": {"targetingKey": "alice", "plan": "pro"}})
    no = _post(client, ONE + "of.users", token, {"context": {"targetingKey": "bob", "plan": "pro"}})
    assert (yes.get_json()["value"], no.get_json()["value"]) == (True, False)


def test_a_tester_override_wins_and_is_a_targeting_match(client, make_flag, token, ctx) -> None:
    from nous.testers import service as testers

    tester = testers.add("pat@nous.test", actor="t")
    make_flag("of.ovr", enabled=False)
    service.set_flag_override(tester.id, "of.ovr", True, actor="t")
    body = _post(client, ONE + "of.ovr", token, {"context": {"targetingKey": "pat@nous.test"}}).get_json()
    assert body == {"key": "of.ovr", "value": True, "reason": "TARGETING_MATCH", "variant": "on"}


def test_a_flag_targeted_only_by_user_id_without_a_targeting_key_is_targeting_key_missing(
        client, make_flag, token) -> None:
    make_flag("of.by-user", enabled=True, strategies=[{"name": "userWithId", "parameters": {"userIds": "a"}}])
    r = _post(client, ONE + "of.by-user", token)
    assert r.status_code == 400
    assert r.get_json()["errorCode"] == "TARGETING_KEY_MISSING" and r.get_json()["key"] == "of.by-user"
    assert _post(client, ONE + "of.by-user", token, {"context": {"targetingKey": "b"}}).get_json()["value"] is False


def test_a_missing_or_archived_flag_is_flag_not_found(client, make_flag, token) -> None:
    make_flag("of.gone", enabled=True)
    service.archive_flag("of.gone", actor="t")
    for key in ("of.nothing", "of.gone"):
        r = _post(client, ONE + key, token)
        assert r.status_code == 404
        assert r.get_json()["errorCode"] == "FLAG_NOT_FOUND" and r.get_json()["key"] == key


@pytest.mark.parametrize(("data", "code", "named"), [
    (b"{not json", "PARSE_ERROR", "JSON"),
    (b"[]", "PARSE_ERROR", "object"),
    (b'{"context": 3}', "INVALID_CONTEXT", "context"),
    (b'{"context": {"targetingKey": 7}}', "INVALID_CONTEXT", "targetingKey"),
    (b'{"context": {"targetingKey": "' + b"x" * 1001 + b'"}}', "INVALID_CONTEXT", "targetingKey"),
    (b'{"context": {"currentTime": "yesterday"}}', "INVALID_CONTEXT", "currentTime"),
])
def test_bad_requests_get_ofrep_error_codes(client, make_flag, token, data, code, named) -> None:
    make_flag("of.any", enabled=True)
    for path in (ONE + "of.any", ALL):
        r = client.post(path, data=data, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 400, path
        assert r.get_json()["errorCode"] == code and named in r.get_json()["errorDetails"]


def test_a_client_token_is_required_and_x_api_key_carries_one(client, make_flag, token) -> None:
    make_flag("of.any", enabled=True)
    assert client.post(ONE + "of.any", json={"context": {}}).status_code == 401
    assert client.post(ALL, json={"context": {}}, headers={"Authorization": "Bearer nope"}).status_code == 401
    r = client.post(ONE + "of.any", json={"context": {}}, headers={"X-API-Key": token})
    assert r.status_code == 200 and r.get_json()["value"] is True


def test_answers_are_those_of_the_token_environment(client, make_flag, ctx) -> None:
    make_flag("of.env", enabled=True)  # on in production; the other environments' copies are off
    _row, staging = service.create_token("st", actor="t", environment="staging")
    _row, production = service.create_token("pr", actor="t", environment="production")
    assert _post(client, ONE + "of.env", production).get_json()["value"] is True
    assert _post(client, ONE + "of.env", staging).get_json() == {
        "key": "of.env", "value": False, "reason": "DISABLED", "variant": "off"}
    service.set_enabled("of.env", True, actor="t", environment="staging")
    assert _post(client, ONE + "of.env", staging).get_json()["value"] is True
    bulk = _post(client, ALL, staging).get_json()
    assert bulk["metadata"] == {"environment": "staging"}


def test_bulk_answers_every_flag_in_key_order_with_failures_inline(client, make_flag, token) -> None:
    make_flag("of.b", enabled=True)
    make_flag("of.a", enabled=True, strategies=[{"name": "userWithId", "parameters": {"userIds": "a"}}])
    _variant_flag(make_flag, "of.c", {"type": "json", "value": "[1, 2]"})
    flags = _post(client, ALL, token).get_json()["flags"]
    assert [f["key"] for f in flags] == ["of.a", "of.b", "of.c"]
    assert flags[0]["errorCode"] == "TARGETING_KEY_MISSING"
    assert flags[1] == {"key": "of.b", "value": True, "reason": "STATIC", "variant": "on"}
    assert flags[2]["value"] == [1, 2]


def test_bulk_etag_gives_304_until_what_the_context_gets_changes(client, make_flag, token) -> None:
    make_flag("of.e", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    pro = {"context": {"targetingKey": "u", "plan": "pro"}}
    first = _post(client, ALL, token, pro)
    etag = first.headers["ETag"]
    again = _post(client, ALL, token, pro, **{"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    other = _post(client, ALL, token, {"context": {"targetingKey": "u", "plan": "free"}}, **{"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["ETag"] != etag
    service.set_enabled("of.e", False, actor="t")
    changed = _post(client, ALL, token, pro, **{"If-None-Match": etag})
    assert changed.status_code == 200 and changed.get_json()["flags"][0]["reason"] == "DISABLED"


def test_both_paths_are_in_the_openapi_document(client) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "post" in paths["/ofrep/v1/evaluate/flags/{key}"] and "post" in paths["/ofrep/v1/evaluate/flags"]
