"""POST /api/feedback, GET /api/feedback/stats and GET /widget.js."""

from __future__ import annotations

import json
import time

import pytest

from tests.feedback.helpers import GOOD, set_setting
from tests.feedback.helpers import count as _count
from tests.feedback.helpers import rows as _rows

API = "/api/feedback"
SITE = "https://app.nous.example"


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


# --- other methods ------------------------------------------------------------------------------

def test_other_methods_are_405_json(client) -> None:
    resp = client.get(API)
    assert resp.status_code == 405 and resp.is_json and "POST" in resp.headers["Allow"]
    assert client.delete(API + "/stats").status_code == 405


# --- widget script ------------------------------------------------------------------------------

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
