"""POST /api/feedback, GET /api/feedback/stats and GET /widget.js."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from sqlalchemy import func, select

from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback
from nous.testers import service as testers
from nous.testers.models import BetaUser
from tests.feedback.helpers import GOOD, set_setting

API = "/api/feedback"
SITE = "https://app.nous.example"


def _rows(app) -> list[Feedback]:
    with app.app_context():
        rows = list(db.session.scalars(select(Feedback).order_by(Feedback.id)))
        db.session.expunge_all()
        return rows


def _count(app, model=Feedback) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def test_json_submission_is_stored_with_its_context(app, client) -> None:
    body = {**GOOD, "feature": " calendar ", "page_url": "https://app.nous.example/cal?x=1", "viewport": "1280x720",
            "app_version": "0.9.3", "email": "Ada@Example.com", "elapsed_ms": 5000}
    resp = client.post(API, json=body, headers={"User-Agent": "Mozilla/5.0 test"})
    assert resp.status_code == 201
    assert resp.headers["Cache-Control"] == "no-store"
    [row] = _rows(app)
    assert resp.get_json() == {"id": row.id}
    assert (row.rating, row.message, row.category, row.feature, row.status) == (
        4, GOOD["message"], "praise", "calendar", "new")
    assert (row.email, row.page_url, row.viewport, row.app_version, row.user_agent) == (
        "ada@example.com", "https://app.nous.example/cal?x=1", "1280x720", "0.9.3", "Mozilla/5.0 test")


def test_form_submission_takes_strings(app, client) -> None:
    resp = client.post(API, data={"rating": "2", "message": "Form post", "category": "bug", "email": "", "feature": "",
                                  "elapsed_ms": "2500.5", "website": ""})
    assert resp.status_code == 201
    [row] = _rows(app)
    assert (row.rating, row.email, row.feature) == (2, None, None)
    multipart = client.post(API, data={"rating": "5", "message": "Multipart", "category": "praise"},
                            content_type="multipart/form-data")
    assert multipart.status_code == 201


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


@pytest.mark.parametrize("raw, content_type", [
    (b"[1, 2, 3]", "application/json"), (b'"just a string"', "application/json"), (b"null", "application/json"),
    (b"{not json", "application/json"), (b"\xff\xfe\x00garbage", "application/json"),
    (b'{"rating": 1' + b"0" * 5000 + b"}", "application/json"),
])
def test_body_that_is_not_a_json_object_is_400(app, client, raw: bytes, content_type: str) -> None:
    resp = client.post(API, data=raw, content_type=content_type)
    assert resp.status_code == 400
    assert "body" in resp.get_json()["errors"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", "", "image/png"])
def test_other_content_types_are_415(app, client, content_type: str) -> None:
    resp = client.post(API, data=json.dumps(GOOD), content_type=content_type)
    assert resp.status_code == 415 and resp.is_json
    assert _count(app) == 0


@pytest.mark.parametrize("build", [
    lambda: {"json": {**GOOD, "message": "x" * 70_000}},
    lambda: {"data": {**GOOD, "message": "x" * 70_000}},
    lambda: {"data": b"{" + b" " * (3 * 1024 * 1024) + b"}", "content_type": "application/json"},
])
def test_huge_bodies_are_413_json_and_store_nothing(app, client, build) -> None:
    resp = client.post(API, **build())
    assert resp.status_code == 413
    assert resp.is_json and resp.get_json()["error"] == "Request Entity Too Large"
    assert _count(app) == 0


HOSTILE = [
    "<script>alert('x')</script><img src=x onerror=alert(1)>",
    "=HYPERLINK(\"http://evil.example\",\"click\")",
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "Ünïcödé ✓ — 日本語のフィードバック — עברית — 🧪🚀👩🏽‍💻",
    "' OR 1=1; DROP TABLE feedback; --",
    "{{ 7*7 }} {% raw %}{% endraw %} ${jndi:ldap://x}",
    "line one\r\nline two\ttabbed",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_stored_exactly_and_shown_inert(app, client, admin_client, unlimited, text: str) -> None:
    resp = client.post(API, json={**GOOD, "message": text, "feature": text[:100]})
    assert resp.status_code == 201
    [row] = _rows(app)
    assert row.message == text.strip() and row.feature == text[:100].strip()
    page = admin_client.get(f"/admin/beta/feedback/{row.id}").data.decode()
    assert "<script>alert" not in page and "<img src=x" not in page
    if "<script>" in text:
        assert "&lt;script&gt;alert" in page
    if "{{ 7*7 }}" in text:
        assert "{{ 7*7 }}" in page and ">49<" not in page


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


# --- CORS and origins ---------------------------------------------------------------------------

def test_cors_only_for_configured_origins_and_never_with_credentials(app, client) -> None:
    set_setting(app, "feedback.widget_origins", [SITE])
    ok = client.post(API, json=GOOD, headers={"Origin": SITE})
    assert ok.status_code == 201
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert "Origin" in ok.headers["Vary"]
    assert "Retry-After" in ok.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in ok.headers
    assert "Set-Cookie" not in ok.headers
    other = client.post(API, json=GOOD, headers={"Origin": "https://evil.example"})
    assert other.status_code == 403 and "widget_origins" in other.get_json()["message"]
    assert other.headers["Access-Control-Allow-Origin"] == "https://evil.example"  # it may read its refusal
    assert not {"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"} & set(other.headers.keys())
    assert _count(app) == 1


def test_preflight_is_answered_in_full_for_allowed_origins_only(app, client) -> None:
    set_setting(app, "feedback.widget_origins", [SITE])
    pre = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    ok = client.options(API, headers={"Origin": SITE, **pre})
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == SITE
    assert "POST" in ok.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in ok.headers["Access-Control-Allow-Headers"]
    assert int(ok.headers["Access-Control-Max-Age"]) > 0
    assert "Access-Control-Allow-Credentials" not in ok.headers
    denied = client.options(API, headers={"Origin": "https://evil.example", **pre})  # may send, to be refused
    assert denied.status_code == 204 and denied.headers["Access-Control-Allow-Methods"] == "POST"
    assert not {"Access-Control-Expose-Headers", "Access-Control-Allow-Credentials"} & set(denied.headers.keys())
    denied_stats = client.options(API + "/stats", headers={"Origin": "https://evil.example",
                                                           "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in denied_stats.headers
    stats = client.options(API + "/stats", headers={"Origin": SITE, "Access-Control-Request-Method": "GET"})
    assert stats.headers["Access-Control-Allow-Methods"] == "GET, OPTIONS"


def test_the_site_itself_and_a_wildcard_are_allowed(app, client) -> None:
    assert client.post(API, json=GOOD, headers={"Origin": "http://localhost"}).status_code == 201  # same origin
    assert client.post(API, json=GOOD, headers={"Origin": "null"}).status_code == 403  # sandboxed frame, file://
    set_setting(app, "feedback.widget_origins", ["*"])
    resp = client.post(API, json=GOOD, headers={"Origin": "https://anyone.example"})
    assert resp.status_code == 201 and resp.headers["Access-Control-Allow-Origin"] == "https://anyone.example"


def test_stats_are_readable_cross_origin(app, client) -> None:
    set_setting(app, "feedback.widget_origins", [SITE])
    resp = client.get(API + "/stats", headers={"Origin": SITE})
    assert resp.headers["Access-Control-Allow-Origin"] == SITE
    assert "Access-Control-Allow-Origin" not in client.get(API + "/stats", headers={"Origin": "https://x.example"}).headers


# --- rate limit ---------------------------------------------------------------------------------

def test_rate_limit_answers_429_with_retry_after(app, client) -> None:
    set_setting(app, "feedback.rate_limit", "3/minute")
    set_setting(app, "feedback.widget_origins", [SITE])
    for _ in range(3):
        assert client.post(API, json=GOOD, headers={"Origin": SITE}).status_code == 201
    resp = client.post(API, json=GOOD, headers={"Origin": SITE})
    assert resp.status_code == 429
    assert 0 < int(resp.headers["Retry-After"]) <= 60
    assert resp.is_json and resp.get_json()["error"] == "Too Many Requests"
    assert resp.headers["Access-Control-Allow-Origin"] == SITE  # the widget can read Retry-After
    assert _count(app) == 3
    other_ip = client.post(API, json=GOOD, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other_ip.status_code == 201  # the limit is per client address
    assert client.options(API, headers={"Origin": SITE}).status_code == 204  # preflights are not counted
    assert client.get(API + "/stats").status_code == 200


def test_rate_limit_headers_follow_the_limit_closest_to_running_out(app, client, redis_conn) -> None:
    set_setting(app, "feedback.rate_limit", "5/minute;2/hour")
    first = client.post(API, json=GOOD)
    assert first.status_code == 201
    assert (first.headers["X-RateLimit-Limit"], first.headers["X-RateLimit-Remaining"]) == ("2", "1")
    assert 3500 < int(first.headers["X-RateLimit-Reset"]) - time.time() <= 3601
    assert "Retry-After" not in first.headers
    assert client.post(API, json=GOOD).headers["X-RateLimit-Remaining"] == "0"
    refused = client.post(API, json=GOOD)
    assert refused.status_code == 429 and 60 < int(refused.headers["Retry-After"]) <= 3600
    assert _count(app) == 2
    # Both windows are counted in Redis and expire there.
    keys = [k.decode() for k in redis_conn.keys("LIMITER/feedback/*")]
    assert sorted(keys) == ["LIMITER/feedback/127.0.0.1/2/1/hour", "LIMITER/feedback/127.0.0.1/5/1/minute"]
    assert all(0 < redis_conn.ttl(k) <= 3600 for k in keys)
    assert int(redis_conn.get("LIMITER/feedback/127.0.0.1/5/1/minute")) == 3


def test_rate_limit_setting_change_applies_without_restart(app, client) -> None:
    set_setting(app, "feedback.rate_limit", "1/minute")
    assert client.post(API, json=GOOD).status_code == 201
    assert client.post(API, json=GOOD).status_code == 429
    set_setting(app, "feedback.rate_limit", "5/minute")
    assert client.post(API, json=GOOD).status_code == 201


# --- stats --------------------------------------------------------------------------------------

def test_stats_figures_exclude_spam_and_are_cached(app, client, unlimited) -> None:
    for rating, feature in [(5, "calendar"), (4, "calendar"), (1, "voice"), (3, None)]:
        client.post(API, json={**GOOD, "rating": rating, "feature": feature})
    with app.app_context():
        spam_id = feedback.submit({**GOOD, "rating": 1, "message": "buy now"}).id
        feedback.set_status(spam_id, "spam", actor="admin")
    resp = client.get(API + "/stats")
    assert resp.status_code == 200 and "max-age" in resp.headers["Cache-Control"]
    stats = resp.get_json()
    assert stats["total"] == 4 and stats["average_rating"] == 3.25
    assert stats["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}
    assert stats["per_feature"][0] == {"feature": "calendar", "count": 2, "average_rating": 4.5}
    assert {p["feature"] for p in stats["per_feature"]} == {"calendar", "voice", None}
    assert stats["last_30_days"]["total"] == 4 and len(stats["last_30_days"]["daily"]) == 30
    assert stats["last_30_days"]["daily"][-1]["count"] == 4
    client.post(API, json=GOOD)
    assert client.get(API + "/stats").get_json()["total"] == 4  # still the cached figures
    with app.app_context():
        from nous.extensions import cache

        cache.delete(feedback.STATS_KEY)
    assert client.get(API + "/stats").get_json()["total"] == 5


def test_old_stats_are_served_while_new_ones_are_computed_in_the_background(app, client) -> None:
    import time

    from nous.extensions import cache

    with app.app_context():
        old = {**feedback.compute_stats(), "total": 12345}
        cache.set(feedback.STATS_KEY, (time.monotonic() - 3600, old), timeout=600)
    with feedback._computing:  # a refresh is already running: served at once, no second one started
        assert client.get(API + "/stats").get_json()["total"] == 12345
    assert client.get(API + "/stats").get_json()["total"] == 12345  # still the old ones: no waiting
    deadline = time.monotonic() + 10
    while client.get(API + "/stats").get_json()["total"] != 0:  # the background refresh lands
        assert time.monotonic() < deadline, "the statistics were never refreshed"
        time.sleep(0.05)
    assert not feedback._computing.locked()


def test_stats_of_an_empty_table(app, client) -> None:
    stats = client.get(API + "/stats").get_json()
    assert (stats["total"], stats["average_rating"], stats["per_feature"]) == (0, None, [])


def test_other_methods_are_405_json(client) -> None:
    resp = client.get(API)
    assert resp.status_code == 405 and resp.is_json and "POST" in resp.headers["Allow"]
    assert client.delete(API + "/stats").status_code == 405


# --- widget script and the created signal -------------------------------------------------------

def test_widget_script_is_served_for_any_origin(client) -> None:
    resp = client.get("/widget.js")
    assert resp.status_code == 200
    assert resp.mimetype == "text/javascript"
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert resp.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    assert "max-age" in resp.headers["Cache-Control"]
    source = resp.data.decode()
    assert "attachShadow" in source and "adoptedStyleSheets" in source and 'credentials: "omit"' in source
    assert "innerHTML" not in source and "eval(" not in source  # works under Trusted Types and strict CSP
    assert client.get("/widget.js", headers={"If-None-Match": resp.headers["ETag"]}).status_code == 304


def test_feedback_created_signal_and_a_failing_listener(app, client) -> None:
    seen: list[dict] = []

    def listener(sender, feedback):
        seen.append(feedback)

    def broken(sender, feedback):
        raise RuntimeError("listener bug")

    feedback.feedback_created.connect(broken)  # whichever runs first, the other still runs
    feedback.feedback_created.connect(listener)
    try:
        resp = client.post(API, json=GOOD)
    finally:
        feedback.feedback_created.disconnect(listener)
        feedback.feedback_created.disconnect(broken)
    assert resp.status_code == 201
    assert [s["id"] for s in seen] == [resp.get_json()["id"]] and seen[0]["message"] == GOOD["message"]
