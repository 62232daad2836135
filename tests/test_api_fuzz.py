"""Schemathesis against /openapi.json (the health paths): no 500, every answer matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
import schemathesis.specs.openapi.checks
from hypothesis import HealthCheck, settings

from nous.openapi import document


@pytest.fixture
def api_schema(app, ctx):
    from nous.settings import service as runtime

    # Generous limits: the fuzzer is one client sending many requests, not an abuse case.
    for key in ("feedback.rate_limit", "api.rate_limit", "auth.rate_limit"):
        runtime.set_value(key, "100000/minute", actor="test")
    # The feedback and flag APIs are fuzzed next to their own tests (tests/feedback, tests/flags).
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("api_schema").include(path_regex=r"^/(healthz|readyz|health/|metrics)")


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_public_api_conforms(case) -> None:
    case.call_and_validate()


def test_document_is_valid_openapi_3_1() -> None:
    schemathesis.openapi.from_dict(document()).validate()
