"""Intake (nous/feedback/service/intake.py), through POST /api/feedback: each field checked with its own
message, hostile text stored inert, bots dropped, the sender's tester found or made."""

from __future__ import annotations

import json
import uuid

import pytest

from nous.testers import service as testers
from nous.testers.models import BetaUser
from tests.feedback.helpers import GOOD, set_setting
from tests.feedback.helpers import count as _count
from tests.feedback.helpers import rows as _rows

API = "/api/feedback"


BAD_FIELDS = [
    ({"rating": None}, "rating", "is required"),
    ({"rating": 0}, "rating", "whole number from 1 to 5"),
    ({"rating": 6}, "rating", "whole number from 1 to 5"),
    ({"rating": 3.5}, "rating", "whole number from 1 to 5"),
    ({"rating": "4"}, "rating", "whole number from 1 to 5"),  # JSON wants a number; forms may send text
    ({"rating": True}, "rating", "whole number from 1 to 5"),
    ({"rating": [4]}, "rating", "whole number from 1 to 5"),
    ({"message": None}, "message", "is required"),
    ({"message": ""}, "message", "is required"),
    ({"message": " \n\t "}, "message", "must not be empty"),
    ({"message": "x" * 4001}, "message", "at most 4000 characters"),
    ({"message": 12345}, "message", "must be text"),
    ({"message": {"text": "hi"}}, "message", "must be text"),
    ({"category": None}, "category", "is required"),
    ({"category": "BUG"}, "category", "must be one of bug, idea, praise, other"),
    ({"category": ["bug"]}, "category", "must be one of"),
    ({"feature": "f" * 101}, "feature", "at most 100 characters"),
    ({"feature": 7}, "feature", "must be text"),
    ({"email": "not-an-address"}, "email", "valid email address"),
    ({"email": "ada@localhost"}, "email", "valid email address"),
    ({"email": 42}, "email", "valid email address"),
    ({"email": "a" * 330 + "@example.com"}, "email", "valid email address"),
    ({"page_url": "javascript:alert(1)"}, "page_url", "http(s) URL"),
    ({"page_url": "ftp://files.example"}, "page_url", "http(s) URL"),
    ({"page_url": "https://x.example/" + "a" * 2000}, "page_url", "http(s) URL"),
    ({"page_url": 5}, "page_url", "http(s) URL"),
    ({"viewport": "huge"}, "viewport", "1280x720"),
    ({"viewport": "1280x720x2"}, "viewport", "1280x720"),
    ({"viewport": 1280}, "viewport", "1280x720"),
    ({"app_version": "v" * 51}, "app_version", "at most 50"),
    ({"app_version": 1.2}, "app_version", "must be text"),
    ({"tester_id": "123"}, "tester_id", "UUID"),
    ({"tester_id": 5}, "tester_id", "UUID"),
    ({"elapsed_ms": -1}, "elapsed_ms", "milliseconds"),
    ({"elapsed_ms": "soon"}, "elapsed_ms", "milliseconds"),
    ({"elapsed_ms": True}, "elapsed_ms", "milliseconds"),
    ({"website": 5}, "website", "must be text"),
]


@pytest.mark.parametrize("change, field, message", BAD_FIELDS)
def test_each_bad_field_gets_its_message(app, client, change: dict, field: str, message: str) -> None:
    resp = client.post(API, json={**GOOD, **change})
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "Bad Request" and message in body["errors"][field]
    assert list(body["errors"]) == [field]  # nothing else is blamed
    assert _count(app) == 0


def test_all_problems_are_reported_at_once(client) -> None:
    body = client.post(API, json={"rating": 9, "message": "", "category": "?", "email": "x"}).get_json()
    assert set(body["errors"]) == {"rating", "message", "category", "email"}


@pytest.mark.parametrize("ok", [{"rating": 4.0}, {"message": "x" * 4000}, {"feature": "f" * 100}, {"elapsed_ms": 0.5e6},
                                {"email": None, "feature": None, "page_url": None, "viewport": None, "tester_id": None},
                                {"email": "", "page_url": "", "viewport": "", "tester_id": "", "website": ""},
                                {"unknown_field": [1, 2, 3]}])
def test_edge_values_that_are_accepted(app, client, ok: dict) -> None:
    assert client.post(API, json={**GOOD, **ok}).status_code == 201


@pytest.mark.parametrize("text, stored", [
    ("nul\x00byte", "nul\ufffdbyte"),
    ("escape \x1b[31mred\x1b[0m", "escape \ufffd[31mred\ufffd[0m"),
    ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ("bell\x07", "bell\ufffd"),
])
def test_control_characters_are_neutralised_not_refused(app, client, text: str, stored: str) -> None:
    raw = json.dumps({**GOOD, "message": text})  # json.dumps writes \ud800 as an escape, as a browser could
    resp = client.post(API, data=raw, content_type="application/json")
    assert resp.status_code == 201
    assert _rows(app)[0].message == stored


def test_honeypot_and_too_fast_submissions_look_accepted_but_are_dropped(app, client) -> None:
    set_setting(app, "feedback.min_submit_ms", 1500)
    bot = client.post(API, json={**GOOD, "website": "http://spam.example"})
    fast = client.post(API, json={**GOOD, "elapsed_ms": 300})
    form_bot = client.post(API, data={"rating": "5", "message": "buy", "category": "other", "website": "x"})
    for resp in (bot, fast, form_bot):
        assert resp.status_code == 201 and isinstance(resp.get_json()["id"], int) and resp.get_json()["id"] > 0
    assert _count(app) == 0
    assert client.post(API, json={**GOOD, "elapsed_ms": 1500}).status_code == 201
    assert client.post(API, json=GOOD).status_code == 201  # API clients that do not time the form
    assert _count(app) == 2


def test_unknown_email_creates_a_tester_and_known_ones_are_linked(app, client) -> None:
    with app.app_context():
        known = testers.add("bruno@example.org", actor="setup").id
    client.post(API, json={**GOOD, "email": "NEW@example.com"})
    client.post(API, json={**GOOD, "email": "new@example.com"})
    client.post(API, json={**GOOD, "email": "Bruno@Example.org"})
    rows = _rows(app)
    with app.app_context():
        new = testers.get_by_email("new@example.com")
        assert (new.role, new.source, new.invite_state, new.last_seen_at is not None) == (
            "TESTER", "feedback", "not invited", True)
        assert _count(app, BetaUser) == 2
        assert [r.tester_id for r in rows] == [new.id, new.id, known]


def test_tester_id_links_and_an_unknown_one_loses_nothing(app, client) -> None:
    with app.app_context():
        uid = testers.add("ada@example.com", actor="setup").id
    assert client.post(API, json={**GOOD, "tester_id": str(uid)}).status_code == 201
    assert client.post(API, json={**GOOD, "tester_id": str(uuid.uuid4())}).status_code == 201
    assert [r.tester_id for r in _rows(app)] == [uid, None]


def test_removing_a_tester_keeps_their_feedback(app, client) -> None:
    client.post(API, json={**GOOD, "email": "ada@example.com"})
    with app.app_context():
        testers.remove(testers.get_by_email("ada@example.com").id, actor="admin")
    [row] = _rows(app)
    assert (row.tester_id, row.email) == (None, "ada@example.com")
