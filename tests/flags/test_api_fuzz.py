"""Schemathesis over the flags client APIs, in process (WSGI): valid and invalid inputs, with a real token.

Every response must match the documented schema, status codes and headers; no input may cause a 500;
invalid input must be refused; a request without the token must get 401 (schemathesis' own checks).
"""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi.checks  # registers the OpenAPI checks (schema, status, headers, auth)
from hypothesis import HealthCheck, settings

from nous.flags import service
from tests.support.fuzz import validate

PATHS = "^/api/(flags/evaluate|client/(features|register|metrics))$"


@pytest.fixture
def fuzz_token(ctx) -> str:
    _row, token = service.create_token("fuzz", actor="fuzz")
    return token


@pytest.fixture
def flags_api_schema(app, ctx, fuzz_token):
    service.create_flag({"key": "fuzz.everyone", "enabled": True}, actor="fuzz")
    service.create_flag({"key": "fuzz.rollout", "enabled": True, "strategies": [
        {"name": "flexibleRollout", "parameters": {"rollout": "50"},
         "constraints": [{"contextName": "plan", "operator": "IN", "values": ["pro"]}]}],
        "variants": [{"name": "a", "weight": 1, "payload": {"type": "string", "value": "x"}}]}, actor="fuzz")
    from nous.settings import service as settings

    settings.set_value("api.rate_limit", "100000/minute", actor="fuzz")
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all", "max-examples": 40}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("flags_api_schema").include(path_regex=PATHS)


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck))
def test_client_apis_match_their_documentation(case, fuzz_token: str) -> None:
    # identity: the test transport hands back gzip bytes undecoded (tests/flags/test_client_features.py covers gzip)
    case.headers = {**(case.headers or {}), "Authorization": fuzz_token, "Accept-Encoding": "identity"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    validate(case, response)
