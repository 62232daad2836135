"""Schemathesis against /openapi.json for the feedback API: no 500, responses as documented."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, settings


@pytest.fixture
def feedback_api(app, unlimited):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("feedback_api").include(path_regex="^/api/feedback")


@pytest.mark.xfail(strict=False, reason="schemathesis' WSGI client can crash on generated form bodies")
@schema.parametrize()
# Only the fuzzing phase: schemathesis's coverage phase spends minutes building boundary strings for
# the patterned, length-limited fields (4000-character messages, 2000-character URLs); those
# boundaries are tested directly in test_api.py.
@settings(max_examples=75, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_feedback_api_matches_its_document(case) -> None:
    # Negative form cases can be a list of pairs with no names, which the WSGI test client cannot send.
    assume(not (case.media_type == "application/x-www-form-urlencoded" and not isinstance(case.body, dict)))
    case.call_and_validate()


def test_both_operations_are_documented(client) -> None:
    doc = client.get("/openapi.json").get_json()
    assert set(doc["paths"]["/api/feedback"]) == {"post"}
    assert set(doc["paths"]["/api/feedback/stats"]) == {"get"}
    post = doc["paths"]["/api/feedback"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded"}
    assert post["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    required = doc["components"]["schemas"]["FeedbackSubmission"]["required"]
    assert required == ["rating", "message", "category"]
