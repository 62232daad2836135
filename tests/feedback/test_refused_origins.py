"""Sites the widget is refused on: they can read their refusal (and nothing else), the admin sees them on
the Settings page and allows one with a click."""

from __future__ import annotations

import re

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from nous.audit import service as audit
from nous.feedback import service as feedback
from nous.settings import service as settings
from tests.conftest import CSRF, free_port
from tests.feedback.helpers import GOOD, set_setting

API = "/api/feedback"
SITE = "https://app.nous.example"
STRANGER = "https://blog.stranger.example"
REFUSED = "/admin/beta/feedback/refused-origins"


def _refused(app) -> list[tuple[str, int]]:
    with app.app_context():
        return [(o.origin, o.count) for o in feedback.refused_origins()]


def test_a_refused_site_reads_its_refusal_and_is_noted_without_spending_the_rate_limit(app, client) -> None:
    set_setting(app, "feedback.widget_origins", [SITE])
    set_setting(app, "feedback.rate_limit", "1/minute")
    for _ in range(3):
        resp = client.post(API, json=GOOD, headers={"Origin": STRANGER})
        assert resp.status_code == 403 and resp.get_json()["error"] == "Forbidden"
        assert resp.headers["Access-Control-Allow-Origin"] == STRANGER
    assert client.post(API, json=GOOD, headers={"Origin": SITE}).status_code == 201  # the one allowed try is left
    assert _refused(app) == [(STRANGER, 3)]
    stats = client.get(API + "/stats", headers={"Origin": STRANGER})
    assert "Access-Control-Allow-Origin" not in stats.headers  # the refusal is all a refused site may read


@pytest.mark.parametrize("origin", ["null", "*", "https://x.example/path", "javascript:alert(1)",
                                    "https://" + "a" * 300 + ".example", "https://bad host.example"])
def test_what_is_not_a_site_is_refused_unreadably_and_not_noted(app, client, origin) -> None:
    resp = client.post(API, json=GOOD, headers={"Origin": origin})
    assert resp.status_code == 403 and "Access-Control-Allow-Origin" not in resp.headers
    pre = client.options(API, headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    assert _refused(app) == []


def test_the_list_keeps_the_latest_sites_only(app, client, redis_conn) -> None:
    for i in range(feedback.REFUSED_KEEP + 5):
        client.post(API, json=GOOD, headers={"Origin": f"https://site{i}.example"})
    client.post(API, json=GOOD, headers={"Origin": "https://SITE24.example"})  # again, in capitals
    listed = _refused(app)
    assert len(listed) == feedback.REFUSED_KEEP
    assert listed[0] == ("https://site24.example", 2)  # the latest first, counted under one spelling
    assert listed[-1][0] == "https://site5.example"  # the five oldest are gone
    assert redis_conn.hlen(feedback.REFUSED_COUNTS_KEY) == feedback.REFUSED_KEEP
    assert 0 < redis_conn.ttl(feedback.REFUSED_KEY) <= feedback.REFUSED_DAYS * 86400


def test_the_settings_page_lists_refused_sites_and_allows_one_with_a_click(app, client, admin_client) -> None:
    set_setting(app, "feedback.widget_origins", [SITE])
    client.post(API, json=GOOD, headers={"Origin": STRANGER})
    client.post(API, json=GOOD, headers={"Origin": STRANGER})

    page = admin_client.get("/admin/settings").get_data(as_text=True)
    assert f'hx-get="{REFUSED}"' in page and 'id="refused-origins"' in page  # the block loads itself

    block = admin_client.get(REFUSED, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in block and STRANGER in block and "2 times" in block
    assert re.search(r'<button[^>]*type="submit">Allow<span class="sr-only"> ' + re.escape(STRANGER), block)
    assert "<html" in admin_client.get(REFUSED).get_data(as_text=True)  # the fragment URL is also a page

    resp = admin_client.post(REFUSED + "/allow", data={"origin": STRANGER, "csrf_token": CSRF})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin/settings#refused-origins")
    with app.app_context():
        assert settings.get("feedback.widget_origins") == [SITE, STRANGER]
        [event] = audit.query(action="settings.set", target="feedback.widget_origins", limit=1)
        assert event.after == [SITE, STRANGER] and event.actor == "admin@nous.test"
    after = admin_client.get(REFUSED, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert STRANGER not in after and "No site was refused recently." in after
    assert "Allowed https://blog.stranger.example" in admin_client.get("/admin/settings").get_data(as_text=True)
    ok = client.post(API, json=GOOD, headers={"Origin": STRANGER})
    assert ok.status_code == 201 and ok.headers["Access-Control-Allow-Origin"] == STRANGER


@pytest.mark.parametrize("origin", ["*", "null", "", "ftp://files.example", "https://x.example/admin"])
def test_allowing_something_that_is_not_a_site_is_refused_per_field(app, admin_client, origin) -> None:
    resp = admin_client.post(REFUSED + "/allow", data={"origin": origin, "csrf_token": CSRF},
                             headers={"HX-Request": "true"})
    assert resp.status_code == 422
    assert "is not a site&#39;s origin like https://app.example.com" in resp.get_data(as_text=True)
    with app.app_context():
        assert settings.get("feedback.widget_origins") == []


def test_allowing_needs_the_admin_and_the_form_token(app, client, admin_client) -> None:
    with client.session_transaction() as s:
        s["_csrf"] = CSRF  # a visitor with a form token, not signed in
    stranger = client.post(REFUSED + "/allow", data={"origin": STRANGER, "csrf_token": CSRF})
    assert stranger.status_code in (302, 303, 401, 403)
    assert admin_client.post(REFUSED + "/allow", data={"origin": STRANGER},
                             headers={"X-CSRF-Token": ""}).status_code == 400
    with app.app_context():
        assert settings.get("feedback.widget_origins") == []


def test_with_redis_unreachable_refusals_still_answer_and_the_block_says_why(app, client, admin_client,
                                                                              monkeypatch) -> None:
    dead = redis_lib.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                           retry=Retry(NoBackoff(), 0))  # nothing listens there
    monkeypatch.setitem(app.extensions, "nous.redis", dead)
    resp = client.post(API, json=GOOD, headers={"Origin": STRANGER})
    assert resp.status_code == 403 and resp.headers["Access-Control-Allow-Origin"] == STRANGER
    block = admin_client.get(REFUSED, headers={"HX-Request": "true"})
    assert block.status_code == 200 and "Redis is not reachable" in block.get_data(as_text=True)
