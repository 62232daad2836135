"""The OpenFeature provider, used through the OpenFeature API as an application would."""

from __future__ import annotations

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from nous.flags.openfeature import NousProvider, to_context
from tests.flags.conftest import constraint, rollout


@pytest.fixture
def client(app, make_flag):
    make_flag("of.bool", enabled=True, strategies=[rollout(100, constraint("plan", "IN", ["pro"]))])
    make_flag("of.off")
    make_flag("of.variants", enabled=True, variants=[
        {"name": "big", "weight": 1, "overrides": [{"contextName": "userId", "values": ["u-big"]}],
         "payload": {"type": "number", "value": "42"}},
        {"name": "conf", "weight": 0, "overrides": [{"contextName": "userId", "values": ["u-conf"]}],
         "payload": {"type": "json", "value": "{\"limit\": 3}"}},
        {"name": "text", "weight": 0, "overrides": [{"contextName": "userId", "values": ["u-text"]}],
         "payload": {"type": "string", "value": "hello"}}])
    api.set_provider(NousProvider(app))
    yield api.get_client()
    api.clear_providers()


def test_booleans(client) -> None:
    pro = EvaluationContext("u1", {"plan": "pro"})
    assert client.get_boolean_value("of.bool", False, pro) is True
    assert client.get_boolean_value("of.bool", True, EvaluationContext("u1", {"plan": "free"})) is False
    details = client.get_boolean_details("of.off", True, pro)
    assert details.value is False and details.reason == Reason.DISABLED
    missing = client.get_boolean_details("of.missing", True, pro)
    assert missing.value is True and missing.error_code == ErrorCode.FLAG_NOT_FOUND


def test_typed_values_come_from_variant_payloads(client) -> None:
    assert client.get_integer_value("of.variants", 0, EvaluationContext("u-big")) == 42
    assert client.get_float_value("of.variants", 0.0, EvaluationContext("u-big")) == 42.0
    assert client.get_object_value("of.variants", {}, EvaluationContext("u-conf")) == {"limit": 3}
    details = client.get_string_details("of.variants", "default", EvaluationContext("u-text"))
    assert (details.value, details.variant, details.reason) == ("hello", "text", Reason.TARGETING_MATCH)
    mismatch = client.get_integer_details("of.variants", 7, EvaluationContext("u-conf"))
    assert mismatch.value == 7 and mismatch.error_code in (ErrorCode.TYPE_MISMATCH, ErrorCode.PARSE_ERROR)
    off = client.get_string_details("of.off", "fallback", EvaluationContext("u-text"))
    assert off.value == "fallback" and off.reason == Reason.DISABLED


def test_context_mapping() -> None:
    ctx = to_context(EvaluationContext("user-1", {"environment": "prod", "plan": "pro", "seats": 3,
                                                  "tags": ["ignored"], "sessionId": "s"}))
    assert ctx == {"userId": "user-1", "environment": "prod", "sessionId": "s",
                   "properties": {"plan": "pro", "seats": 3}}
    assert to_context(None) == {}
