"""The published OpenFeature OFREP provider (PyPI `openfeature-provider-ofrep`) with the OpenFeature Python SDK,
against this server over HTTP: boolean, string, number and object flags, a missing flag, a type mismatch, a
disabled flag, and bulk evaluation with its ETag — the provider's conformance as an OFREP server."""

from __future__ import annotations

import pytest
import requests

from nous.flags import service
from tests.support.live import LiveServer

ofrep = pytest.importorskip("openfeature.contrib.provider.ofrep")
from openfeature import api  # noqa: E402
from openfeature.evaluation_context import EvaluationContext  # noqa: E402
from openfeature.exception import ErrorCode  # noqa: E402
from openfeature.flag_evaluation import Reason  # noqa: E402


def _variant(payload: dict) -> list[dict]:
    return [{"name": "only", "weight": 1000, "stickiness": "default", "payload": payload}]


@pytest.fixture
def of_client(app, make_flag, token):
    make_flag("p.bool", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    make_flag("p.string", enabled=True, variants=_variant({"type": "string", "value": "blue"}))
    make_flag("p.int", enabled=True, variants=_variant({"type": "number", "value": "42"}))
    make_flag("p.float", enabled=True, variants=_variant({"type": "number", "value": "0.25"}))
    make_flag("p.object", enabled=True, variants=_variant({"type": "json", "value": '{"limit": 3, "on": true}'}))
    make_flag("p.off", enabled=False)
    server = LiveServer(app)
    provider = ofrep.OFREPProvider(server.url, headers_factory=lambda: {"Authorization": f"Bearer {token}"})
    api.set_provider(provider, domain="nous-ofrep")
    try:
        yield api.get_client("nous-ofrep"), server
    finally:
        api.clear_providers()
        server.stop()


PRO = EvaluationContext("tester-1", {"plan": "pro"})
FREE = EvaluationContext("tester-1", {"plan": "free"})


def test_boolean_string_number_and_object_flags(of_client) -> None:
    client, _server = of_client
    pro = client.get_boolean_details("p.bool", False, PRO)
    assert (pro.value, pro.reason, pro.error_code) == (True, Reason.TARGETING_MATCH, None)
    free = client.get_boolean_details("p.bool", True, FREE)
    assert (free.value, free.reason) == (False, Reason.DEFAULT)
    text = client.get_string_details("p.string", "red", PRO)
    assert (text.value, text.variant, text.reason) == ("blue", "only", Reason.SPLIT)
    assert client.get_integer_value("p.int", 0, PRO) == 42
    assert client.get_float_value("p.float", 0.0, PRO) == 0.25
    assert client.get_object_value("p.object", {}, PRO) == {"limit": 3, "on": True}


def test_a_missing_flag_gives_the_default_with_flag_not_found(of_client) -> None:
    client, _server = of_client
    details = client.get_boolean_details("p.nothing", True, PRO)
    assert (details.value, details.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)


def test_a_type_mismatch_gives_the_default_with_type_mismatch(of_client) -> None:
    client, _server = of_client
    details = client.get_string_details("p.bool", "fallback", PRO)
    assert (details.value, details.error_code) == ("fallback", ErrorCode.TYPE_MISMATCH)
    details = client.get_boolean_details("p.object", False, PRO)
    assert (details.value, details.error_code) == (False, ErrorCode.TYPE_MISMATCH)


def test_a_disabled_flag_is_false_with_reason_disabled(of_client) -> None:
    client, _server = of_client
    details = client.get_boolean_details("p.off", True, PRO)
    assert (details.value, details.reason, details.error_code) == (False, Reason.DISABLED, None)


def test_without_a_valid_token_the_provider_gets_the_default(app, make_flag) -> None:
    make_flag("p.bool", enabled=True)
    server = LiveServer(app)
    api.set_provider(ofrep.OFREPProvider(server.url, headers_factory=lambda: {"Authorization": "Bearer wrong"}),
                     domain="nous-ofrep-bad")
    try:
        details = api.get_client("nous-ofrep-bad").get_boolean_details("p.bool", False, PRO)
    finally:
        api.clear_providers()
        server.stop()
    assert (details.value, details.error_code, details.error_message) == (False, ErrorCode.GENERAL, "unauthorized")


def test_bulk_evaluation_over_http_with_etag(of_client, token) -> None:
    _client, server = of_client
    url = f"{server.url}/ofrep/v1/evaluate/flags"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"context": {"targetingKey": "tester-1", "plan": "pro"}}
    first = requests.post(url, json=body, headers=headers, timeout=10)
    assert first.status_code == 200
    answers = {f["key"]: f.get("value") for f in first.json()["flags"]}
    assert answers == {"p.bool": True, "p.float": 0.25, "p.int": 42, "p.object": {"limit": 3, "on": True},
                       "p.off": False, "p.string": "blue"}
    etag = first.headers["ETag"]
    second = requests.post(url, json=body, headers={**headers, "If-None-Match": etag}, timeout=10)
    assert second.status_code == 304 and second.content == b""
    service.set_enabled("p.off", True, actor="t")
    third = requests.post(url, json=body, headers={**headers, "If-None-Match": etag}, timeout=10)
    assert third.status_code == 200 and third.headers["ETag"] != etag
    assert {f["key"]: f.get("value") for f in third.json()["flags"]}["p.off"] is True
