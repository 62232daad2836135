"""Sign-in through a real OpenID Connect provider, driven by a real browser."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from playwright.sync_api import Page, sync_playwright

from nous import create_app
from tests.support.live import LiveServer, OidcProvider, free_port, launch_browser

ADMIN = "admin@nous.test"


@pytest.fixture(scope="module")
def stack(app):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    provider = OidcProvider("nous-console", "s3cret-for-tests", f"{base}/admin/auth/callback")
    oidc_app = create_app({
        "GOOGLE_CLIENT_ID": "nous-console", "GOOGLE_CLIENT_SECRET": "s3cret-for-tests",
        "OIDC_METADATA_URL": provider.metadata_url, "SYSTEM_BASE_URL": base,
    })
    server = LiveServer(oidc_app, port)
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        yield {"base": base, "app": oidc_app, "browser": browser, "provider": provider}
        browser.close()
    server.stop()
    provider.stop()


@pytest.fixture
def page(stack):
    context = stack["browser"].new_context()
    yield context.new_page()
    context.close()


def sign_in_at_provider(page: Page, base: str, login: str) -> None:
    page.goto(f"{base}/admin/login")
    page.get_by_role("link", name="Sign in with Google").click()
    page.wait_for_selector("input[name=login]")
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    if "/interaction/" in page.url:  # the consent step
        page.click("button[type=submit]")
    # back on the console (dashboard or a refusal page) before the caller goes on
    page.wait_for_url(f"{base}/admin/**", wait_until="load")


def audit_actions(app) -> list[tuple[str, str]]:
    from nous.audit import service as audit

    with app.app_context():
        return [(e.action, (e.after or {}).get("reason", "")) for e in audit.query(limit=20)]


def test_admin_signs_in_and_reaches_the_dashboard(stack, page) -> None:
    sign_in_at_provider(page, stack["base"], ADMIN)
    assert page.url == f"{stack['base']}/admin/beta/"
    assert page.get_by_role("heading", name="Dashboard").is_visible()
    assert ADMIN in page.content()
    assert ("auth.signed_in", "") in audit_actions(stack["app"])
    cookie = next(c for c in page.context.cookies() if c["name"] == "nous_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_verified_stranger_gets_403_and_no_session(stack, page) -> None:
    responses = []
    page.on("response", lambda r: responses.append(r) if "/admin/auth/callback" in r.url else None)
    sign_in_at_provider(page, stack["base"], "stranger@example.test")
    assert responses and responses[-1].status == 403
    assert "not the admin" in page.content()
    page.goto(f"{stack['base']}/admin/beta/")
    assert "/admin/login" in page.url
    assert any(a == "auth.refused" and "not the admin" in r for a, r in audit_actions(stack["app"]))


def test_unverified_email_is_refused(stack, page) -> None:
    sign_in_at_provider(page, stack["base"], f"unverified-{ADMIN}")
    assert "not verified" in page.content()
    page.goto(f"{stack['base']}/admin/beta/")
    assert "/admin/login" in page.url


def test_sub_is_pinned_at_first_admission(stack, page) -> None:
    sign_in_at_provider(page, stack["base"], ADMIN)  # pins sub = ADMIN
    page.goto("about:blank")  # no dashboard request in flight may bring the session cookie back
    page.context.clear_cookies()
    sign_in_at_provider(page, stack["base"], f"other-{ADMIN}")  # same email, another sub
    assert "different account" in page.content()


def test_tampered_state_is_refused(stack) -> None:
    session = requests.Session()
    start = session.get(f"{stack['base']}/admin/login/start", allow_redirects=False)
    assert start.status_code == 302 and start.headers["Location"].startswith(stack["provider"].issuer)
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    forged = state[:-2] + ("xx" if not state.endswith("xx") else "yy")
    resp = session.get(f"{stack['base']}/admin/auth/callback", params={"code": "anything", "state": forged},
                       allow_redirects=False)
    assert resp.status_code == 400
    assert session.get(f"{stack['base']}/admin/beta/", allow_redirects=False).status_code == 302
    assert any(a == "auth.refused" and "mismatching_state" in r for a, r in audit_actions(stack["app"]))


def test_replayed_callback_is_refused(stack, page) -> None:
    callbacks: list[str] = []
    page.on("request", lambda r: callbacks.append(r.url) if "/admin/auth/callback" in r.url else None)
    sign_in_at_provider(page, stack["base"], ADMIN)
    assert page.url.endswith("/admin/beta/") and callbacks
    replay = page.goto(callbacks[-1])
    assert replay.status == 400
    page.goto("about:blank")
    page.context.clear_cookies()
    assert page.goto(callbacks[-1]).status == 400
