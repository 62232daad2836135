"""A submission sent again with its Idempotency-Key (the widget's retry after a lost answer) is stored once."""

from __future__ import annotations

import pytest

from nous import idempotency
from nous.extensions import get_redis
from nous.feedback import service as feedback
from nous.feedback.api import _fingerprint
from nous.feedback.models import FeedbackAttachment
from tests.feedback.helpers import GOOD, set_setting
from tests.feedback.helpers import count as _count
from tests.feedback.helpers import rows as _rows
from tests.feedback.test_attachments import multipart, png

API = "/api/feedback"


@pytest.fixture(autouse=True)
def _limits(app, unlimited) -> None:
    set_setting(app, "feedback.upload_rate_limit", "1000000000/hour")


def _send(client, key: str | None, **body):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(API, json={**GOOD, **body}, headers=headers)


def test_the_same_key_again_answers_the_first_id_and_stores_nothing(app, client) -> None:
    first = _send(client, "k-1")
    again = _send(client, "k-1")
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [r.id for r in _rows(app)] == [first.get_json()["id"]]
    other = _send(client, "k-2")  # another submission: stored
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    assert _count(app) == 2
    assert _send(client, None).status_code == _send(client, None).status_code == 201  # no key: each is stored
    assert _count(app) == 4


def test_a_resent_upload_stores_its_files_once(app, client) -> None:
    body = multipart([(png(), "shot.png")])
    first = client.post(API, **body, headers={"Idempotency-Key": "upload-1"})
    again = client.post(API, **multipart([(png(), "shot.png")]), headers={"Idempotency-Key": "upload-1"})
    assert first.status_code == again.status_code == 201 and again.get_json() == first.get_json()
    assert _count(app) == 1 and _count(app, FeedbackAttachment) == 1


def test_a_refused_submission_gives_its_key_back(app, client) -> None:
    refused = _send(client, "fix-me", rating=9)
    assert refused.status_code == 400 and "rating" in refused.get_json()["errors"]
    fixed = _send(client, "fix-me")
    assert fixed.status_code == 201 and "Idempotent-Replayed" not in fixed.headers
    assert _count(app) == 1


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "clé", "tab\tinside"])
def test_a_key_that_is_not_visible_ascii_is_refused_by_name(app, client, key: str) -> None:
    resp = client.post(API, json=GOOD, headers={"Idempotency-Key": key})
    assert resp.status_code == 400
    assert resp.get_json()["errors"] == {"Idempotency-Key": idempotency.KEY_RULE}
    assert _count(app) == 0


def test_a_key_still_being_stored_answers_409_with_retry_after(app, client) -> None:
    body = {**GOOD, "message": "In flight"}
    fp = _fingerprint(body, [])  # as the API takes it from a JSON body without files
    with app.app_context():
        claim = feedback.resends.take("in-flight", fp)  # the first request, not answered yet
        assert claim is not None and not claim.kept
    busy = _send(client, "in-flight", message="In flight")
    assert busy.status_code == 409 and busy.headers["Retry-After"] == "2"
    assert "still being stored" in busy.get_json()["message"]
    with app.app_context():
        claim.keep({"id": 4242})
        ttl = get_redis().ttl(claim.name)
    assert 0 < ttl <= idempotency.KEPT_SECONDS
    assert _send(client, "in-flight", message="In flight").get_json() == {"id": 4242}
    assert _count(app) == 0


def test_a_key_sent_again_with_another_submission_is_refused_with_422(app, client) -> None:
    assert _send(client, "once", message="The first one").status_code == 201
    other = _send(client, "once", message="Something else entirely")
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
    assert [r.message for r in _rows(app)] == ["The first one"]


def test_the_widget_may_send_the_header_from_another_origin(app, client) -> None:
    set_setting(app, "feedback.widget_origins", "https://app.example")
    pre = client.options(API, headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST",
                                       "Access-Control-Request-Headers": "content-type,idempotency-key"})
    assert pre.status_code == 204
    assert "Idempotency-Key" in pre.headers["Access-Control-Allow-Headers"]


def test_openapi_documents_the_header_and_the_409(client) -> None:
    op = client.get("/openapi.json").get_json()["paths"]["/api/feedback"]["post"]
    [param] = [p for p in op["parameters"] if p["name"] == "Idempotency-Key"]
    assert param["in"] == "header" and param["schema"]["maxLength"] == idempotency.KEY_MAX
    assert "409" in op["responses"] and "422" in op["responses"]
    assert "Idempotent-Replayed" in op["responses"]["201"]["headers"]
