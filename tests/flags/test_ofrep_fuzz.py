"""Schemathesis over the OFREP endpoints and the delta API, in process, with a real client token: every
answer matches the documented status codes, headers and schemas, and no input causes a server error."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # registers the OpenAPI checks
from hypothesis import HealthCheck, settings

from nous.flags import service
from tests.support.fuzz import validate

PATHS = "^/(ofrep/v1/evaluate/flags|api/client/delta$)"  # the stream: tests/flags/test_streaming.py


@pytest.fixture
def ofrep_token(ctx) -> str:
    _row, token = service.create_token("fuzz", actor="fuzz")
    return token


@pytest.fixture
def ofrep_schema(app, ctx, ofrep_token):
    service.create_flag({"key": "fuzz.everyone", "enabled": True}, actor="fuzz")
    service.create_flag({"key": "fuzz.users", "enabled": True, "strategies": [
        {"name": "userWithId", "parameters": {"userIds": "a,b"}}]}, actor="fuzz")
    service.create_flag({"key": "fuzz.variants", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "50"},
         "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}],
        "variants": [{"name": "a", "weight": 1, "payload": {"type": "json", "value": "{\"x\": 1}"}}]}, actor="fuzz")
    from nous.settings import service as settings

    settings.set_value("api.rate_limit", "100000/minute", actor="fuzz")
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all", "max-examples": 40}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("ofrep_schema").include(path_regex=PATHS)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_ofrep_answers_match_their_documentation(case, ofrep_token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ofrep_token}"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    validate(case, response)
