"""The API tokens page in Chromium, under the real CSP: create a token (shown once), use it, revoke it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from nous.admin.service import create_login_link
from tests.conftest import ADMIN_EMAIL
from tests.support.live import LiveServer, launch_browser

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def live(app):
    server = LiveServer(app)
    yield server
    server.stop()


def test_create_see_once_use_and_revoke_in_a_browser(app, live, tmp_path) -> None:
    shots = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)  # set it to keep the pictures
    with app.app_context():
        link = create_login_link(ADMIN_EMAIL, actor="test")
    problems: list[str] = []
    api = f"{live.url}/api/admin/v1/tokens"
    with playwright_api.sync_playwright() as p:
        browser = launch_browser(p)
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("dialog", lambda d: d.accept())
        page.goto(f"{live.url}/admin/login/link/{link}")
        page.get_by_role("button", name="Sign in").click()
        page.goto(f"{live.url}/admin/beta/")
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="API tokens").click()
        page.wait_for_url("**/admin/api-tokens/")
        assert page.get_by_text("No API tokens yet.").is_visible()

        # a refusal shows in place, what was typed is kept
        page.get_by_label("Name (who uses it)").fill("incident-bot")
        page.get_by_role("button", name="Create token").click()
        page.get_by_text("at least one of").wait_for()
        assert page.get_by_label("Name (who uses it)").input_value() == "incident-bot"

        page.get_by_label("flags:write").check()
        page.get_by_label("Expires").select_option("30")
        page.get_by_role("button", name="Create token").click()
        page.get_by_text("Copy it now: it is not shown again.").wait_for()
        raw = page.get_by_label("Token", exact=True).input_value()
        assert raw.startswith("nous_admin_")
        page.screenshot(path=str(shots / "api-tokens-created.png"), full_page=True)
        row = page.locator("tr", has_text="incident-bot")
        assert "flags:write" in row.inner_text() and "active" in row.inner_text()

        bearer = {"Authorization": f"Bearer {raw}"}
        assert requests.get(f"{live.url}/api/admin/v1/tokens", headers=bearer, timeout=10).status_code == 403
        flags = requests.get(f"{live.url}/api/admin/v1/flags", headers=bearer, timeout=10)
        assert flags.status_code in (200, 404)  # 404 only while the flags collection is not served

        page.reload()
        assert raw not in page.content()  # shown once
        assert "Copy it now" not in page.content()

        row = page.locator("tr", has_text="incident-bot")
        row.get_by_role("button", name="Revoke").click()
        page.get_by_text("Revoked incident-bot").wait_for()
        assert "revoked" in page.locator("tr", has_text="incident-bot").inner_text()
        page.screenshot(path=str(shots / "api-tokens-revoked.png"), full_page=True)
        refused = requests.get(api, headers=bearer, timeout=10)
        assert refused.status_code == 401 and refused.json()["reason"] == "revoked"

        # a name in use (revoked tokens keep theirs) is said at the field, not as a bare failed request
        page.get_by_label("Name (who uses it)").fill("incident-bot")
        page.get_by_label("flags:read").check()
        page.get_by_role("button", name="Create token").click()
        page.get_by_text("already used by another token").wait_for()
        assert page.get_by_label("Name (who uses it)").input_value() == "incident-bot"
        browser.close()
    # the refused creation above answered 422 on purpose; anything else (a CSP refusal, a script error) fails
    assert [m for m in problems if "status of 422" not in m] == []
