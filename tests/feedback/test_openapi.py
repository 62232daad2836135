"""Schemathesis against /openapi.json for the feedback API: no 500, responses as documented, valid
input accepted and invalid input refused, for JSON and form bodies."""

from __future__ import annotations

import itertools
import re
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, settings

# Importing the OpenAPI checks registers them. Without it a lone run of this file checks only "no
# 500", while in the whole suite (where other files import them) every check runs.
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from nous.openapi import document

FORM = "application/x-www-form-urlencoded"
_CASES = itertools.count()
MULTIPART = "multipart/form-data"


@pytest.fixture
def feedback_api(app, unlimited):
    return schemathesis.openapi.from_wsgi("/openapi.json", app)


schema = schemathesis.pytest.from_fixture("feedback_api").include(path_regex="^/api/feedback")


def wire_form(body: dict[str, Any]) -> dict[str, str]:
    """What the server reads from a form body sent by schemathesis' WSGI client (werkzeug's test
    client, given the body as `data`): the first value of each field, as text."""
    environ = EnvironBuilder(method="POST", data=body, headers={"Content-Type": FORM}).get_environ()
    return Request(environ).form.to_dict(flat=True)


def _types(prop: dict[str, Any]) -> set[str]:
    found = set()
    for part in [prop, *prop.get("anyOf", [])]:
        t = part.get("type")
        found.update(t if isinstance(t, list) else [t] if t else [])
    return found


def _typed(prop: dict[str, Any], text: str) -> Any:
    """A form field's text as the value the document means: numbers are written in digits."""
    types = _types(prop)
    if "integer" in types and re.fullmatch(r"\s*[0-9]+\s*", text):
        return int(text)
    if "number" in types:
        try:
            return float(text)
        except ValueError:
            return text
    return text


def form_is_valid(fields: dict[str, str]) -> bool:
    """Whether this form, as sent, satisfies the document's FeedbackForm schema."""
    form = document()["components"]["schemas"]["FeedbackForm"]
    props = form["properties"]
    value = {k: _typed(props[k], v) if k in props else v for k, v in fields.items()}
    validator = jsonschema.Draft202012Validator(form, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    return validator.is_valid(value)


@schema.parametrize()
# Only the fuzzing phase: schemathesis's coverage phase spends minutes building boundary strings for
# the patterned, length-limited fields (4000-character messages, 2000-character URLs); those
# boundaries are tested directly in test_api.py. Hypothesis' health checks judge the data
# generator (slow, large, filtered examples), not the API, so none of them fails this test.
@settings(max_examples=75, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_feedback_api_matches_its_document(case) -> None:
    negative = case.meta is not None and case.meta.generation.mode.is_negative
    if case.headers and isinstance(case.headers.get("Idempotency-Key"), str):
        # A key names one submission: the generator sends the same few keys with different bodies, which is
        # refused (422, tested in test_resends.py). Each case here is a submission of its own.
        suffix = f"-{next(_CASES)}"  # kept within the key's 255 characters: a longest key stays valid
        case.headers["Idempotency-Key"] = case.headers["Idempotency-Key"][:255 - len(suffix)] + suffix
    if not negative and isinstance(case.body, dict) and case.body.get("attachments"):
        # A file is judged by its bytes (an image Pillow decodes, or UTF-8 text), which no schema can say:
        # a schema-valid file may be refused, but then only by naming the file.
        response = case.call()
        case.validate_response(response, excluded_checks=[positive_data_acceptance])
        if response.status_code == 400:
            assert all(k.startswith("attachments[") for k in response.json()["errors"]), response.text
        return
    if case.media_type not in (FORM, MULTIPART) or not negative:
        case.call_and_validate()
        return
    # An invalid *form* made from JSON values need not stay invalid on the wire: the test client
    # sends true as "True", [3] as "3", and drops objects and nulls entirely. A negative body that
    # is not an object at all (a list of pairs, a number) has no form encoding, and the client
    # cannot send it. So for negative form cases: every check but "invalid data is refused" as
    # usual, and that one judged on what was actually sent: accepted only if the sent form is valid.
    assume(isinstance(case.body, dict))
    response = case.call()
    case.validate_response(response, excluded_checks=[negative_data_rejection])
    # The oracle knows how the test client encodes a urlencoded form; a multipart body's non-text
    # values are the client's own choice, so there only the checks above apply.
    if response.status_code == 201 and case.media_type == FORM:
        sent = wire_form(case.body)
        assert form_is_valid(sent), f"invalid form accepted: {sent!r}"


def test_the_wire_form_oracle() -> None:
    """The judge of negative form cases above, on cases that schemathesis generates."""
    good = {"rating": 3, "message": "ok", "category": "bug"}
    assert wire_form({**good, "viewport": {"a": 1}}) == {"rating": "3", "message": "ok", "category": "bug"}
    assert form_is_valid(wire_form({**good, "viewport": {}}))  # dropped on the way: valid as sent
    assert form_is_valid(wire_form({**good, "rating": [4, "x"]}))  # the server reads the first value
    assert not form_is_valid(wire_form({**good, "rating": 9}))
    assert not form_is_valid(wire_form({**good, "rating": True}))  # "True"
    assert not form_is_valid(wire_form({**good, "viewport": "big"}))
    assert not form_is_valid(wire_form({"message": "ok", "category": "bug"}))


def test_both_operations_are_documented(client) -> None:
    doc = client.get("/openapi.json").get_json()
    assert set(doc["paths"]["/api/feedback"]) == {"post"}
    assert set(doc["paths"]["/api/feedback/stats"]) == {"get"}
    post = doc["paths"]["/api/feedback"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-www-form-urlencoded",
                                                   "multipart/form-data"}
    assert post["responses"]["429"]["headers"]["Retry-After"]["required"] is True
    required = doc["components"]["schemas"]["FeedbackSubmission"]["required"]
    assert required == ["rating", "message", "category"]


def test_an_empty_field_the_api_reads_as_left_out_is_one_the_document_allows(client, unlimited) -> None:
    """Forms send empty fields, so the API reads "" in an optional field as the field left out; the document
    says so for every such field (schemathesis once found `"elapsed_ms": ""` accepted but undocumented)."""
    doc = client.get("/openapi.json").get_json()
    schema = {"$ref": "#/components/schemas/FeedbackSubmission", "components": doc["components"]}
    submission = doc["components"]["schemas"]["FeedbackSubmission"]
    good = {"rating": 4, "message": "fine", "category": "idea"}
    accepted = []
    for name in sorted(set(submission["properties"]) - set(submission["required"])):
        body = {**good, name: ""}
        if client.post("/api/feedback", json=body).status_code == 201:
            accepted.append(name)
            assert jsonschema.Draft202012Validator(schema).is_valid(body), f"{name}: '' accepted, not documented"
    assert "elapsed_ms" in accepted and "page_url" in accepted
