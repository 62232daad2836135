"""Schemathesis against /openapi.json: no route answers 500 and every answer matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from nous.openapi import document


@pytest.fixture
def api_schema(app, ctx):  # noqa: ANN001, ANN201
    from nous.settings import service as runtime

    # Generous limits: the fuzzer is one client sending many requests, not an abuse case.
    for key in ("feedback.rate_limit", "api.rate_limit", "auth.rate_limit"):
        runtime.set_value(key, "100000/minute", actor="test")
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_public_api_conforms(case) -> None:  # noqa: ANN001
    case.call_and_validate()


def test_document_is_valid_openapi_3_1() -> None:
    schemathesis.openapi.from_dict(document()).validate()
