"""Schemathesis against every path of /openapi.json: valid and invalid inputs, never a server error.

Every documented operation is fuzzed here (a path added to the document later is fuzzed without
touching this file), with a real client token and the health token, so the flag APIs get past their
401 and the monitors' paths past their 403 — except the admin API, which answers only an admin token's
bearer and is fuzzed with one, and checked against its documented responses, in
tests/adminapi/test_fuzz.py. The health
paths are also checked against their documented responses here; the feedback and flag APIs are
checked against theirs next to their own tests (tests/feedback/test_openapi.py,
tests/flags/test_api_fuzz.py), with the judgement their form and token cases need.
"""

from __future__ import annotations

import os
import re

import pytest
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, Phase, settings

from nous.openapi import document
from tests.support.fuzz import assume_sendable

TRACEBACK = re.compile(r"Traceback \(most recent call last\)|File \"/[^\"]+\.py\", line \d+")
HEALTH = re.compile(r"^/(healthz|readyz|health/|metrics)")
ADMIN_API = "^/api/(admin/|health/models)"  # fuzzed with an admin token in tests/adminapi/test_fuzz.py


@pytest.fixture
def fuzz_token(ctx) -> str:
    from nous.flags import service as flags

    _row, token = flags.create_token("fuzz", actor="test")
    flags.create_flag({"key": "fuzz.on", "enabled": True}, actor="test")
    return token


HEALTH_TOKEN = "fuzz-health-token"


@pytest.fixture
def health_token(app):
    """The monitors' token, so /health/metrics and /metrics are fuzzed past their 403."""
    saved = app.config["HEALTH_TOKEN"]
    app.config["HEALTH_TOKEN"] = HEALTH_TOKEN
    yield HEALTH_TOKEN
    app.config["HEALTH_TOKEN"] = saved


@pytest.fixture
def api_schema(app, ctx, fuzz_token, health_token):
    from nous.settings import service as runtime

    # Generous limits: the fuzzer is one client sending many requests, not an abuse case.
    for key in ("feedback.rate_limit", "api.rate_limit", "auth.rate_limit"):
        runtime.set_value(key, "100000/minute", actor="test")
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config).exclude(path_regex=ADMIN_API)


schema = schemathesis.pytest.from_fixture("api_schema")


# Nearly all of this test's time goes to making the requests (hypothesis-jsonschema), the same work on either
# engine, while what differs between the engines is only what the app does with them. So every operation gets
# valid and invalid requests on both, the full count on the embedded default and fewer on PostgreSQL;
# tests/adminapi/test_fuzz.py does the opposite, which keeps CI's two runs even.
EXAMPLES = 10 if os.environ.get("TEST_DATABASE_URL") else 30


@schema.parametrize()
# One pytest test over all the operations (a subtest each): about two minutes alone, but 880 s was seen with
# the machine's two cores shared by a dozen busy processes; the timeout is there to catch a hang.
@pytest.mark.timeout(1800)
# Only the fuzzing phase: the coverage phase spends minutes building boundary strings for long,
# patterned fields, which the areas' own tests check directly.
@settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_documented_operation_answers_with_a_server_error(case, fuzz_token: str) -> None:
    credential = fuzz_token if case.path.startswith("/api/") else f"Bearer {HEALTH_TOKEN}"
    # identity: the test transport hands back gzip bytes undecoded (tests/flags/test_client_features.py covers gzip)
    case.headers = {**(case.headers or {}), "Authorization": credential, "Accept-Encoding": "identity"}
    assume_sendable(case)
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:300])
    assert not TRACEBACK.search(response.text), (case.method, case.path)
    if HEALTH.match(case.path):
        case.validate_response(response)


def test_document_is_valid_openapi_3_1() -> None:
    schemathesis.openapi.from_dict(document()).validate()
