"""Environments in Chromium: the list's columns, the flag page's switcher (the forms stay in the
environment shown), copying rules after seeing the difference, and the environments page — under the
real CSP, without a console error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nous.flags import service
from tests.flags.conftest import rollout
from tests.support.live import LiveServer, launch_browser

playwright_api = pytest.importorskip("playwright.sync_api")


def fresh(key: str, environment: str):
    from nous.extensions import db

    db.session.rollback()
    return service.get_flag(key, environment=environment)


def test_environments_in_a_browser(app, ctx, make_flag, tmp_path) -> None:
    from nous.admin.service import create_login_link

    make_flag("search.ranking", enabled=True, description="New ranking", strategies=[rollout(20)])
    shots = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    token = create_login_link("admin@nous.test", actor="test")
    server = LiveServer(app)
    problems: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("console", lambda m: problems.append(f"{page.url}: {m.location} {m.text}")
                    if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{server.url}/admin/login/link/{token}")
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{server.url}/admin/beta/flags/")
            page.get_by_role("switch", name="search.ranking is off in staging; switch on").click()
            page.get_by_text("search.ranking is on in staging").wait_for()
            # the list then follows the change (a refresh swaps its rows): a click on a row being swapped out
            # is dropped by htmx, so wait for the refresh to land before following a link
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(shots / "environments-list.png"), full_page=True)

            page.get_by_role("link", name="search.ranking").first.click()
            page.get_by_role("navigation", name="Environment").get_by_role("link", name="staging").click()
            page.wait_for_url("**/search.ranking?env=staging")
            page.locator("#simple-rollout").fill("70")
            page.locator("#simple-form").get_by_role("button", name="Save").click()
            page.get_by_text("Saved: version 3.").wait_for()
            page.wait_for_load_state("networkidle")  # the page's other parts follow the change first
            assert fresh("search.ranking", "staging").strategies[0]["parameters"]["rollout"] == "70"
            assert fresh("search.ranking", "production").strategies[0]["parameters"]["rollout"] == "20"
            page.screenshot(path=str(shots / "environments-flag.png"), full_page=True)

            page.get_by_label("Copy staging's strategies to").select_option("production")
            page.get_by_role("button", name="Show the difference").click()
            page.locator("#copy-words").wait_for()
            assert "Rollout 20 % → 70 %" in page.locator("#copy-words").inner_text()  # in words first
            assert not page.locator("#copy-diff").is_visible()  # field by field, folded below
            page.get_by_text("Field by field").click()
            page.locator("#copy-diff").wait_for()
            assert "strategies[0].parameters.rollout" in page.locator("#copy-diff").inner_text()
            page.screenshot(path=str(shots / "environments-copy.png"), full_page=True)
            page.get_by_role("button", name="Copy to production").click()
            page.get_by_text("Copied the rules of staging to production.").wait_for()
            assert fresh("search.ranking", "production").strategies[0]["parameters"]["rollout"] == "70"

            # staging's rollout half edited while someone switches production off: the save goes in (it was
            # refused as "changed since you opened it", the edit lost, though staging had not changed)
            page.goto(f"{server.url}/admin/beta/flags/search.ranking?env=staging")
            page.locator("#simple-rollout").fill("45")
            service.set_enabled("search.ranking", False, actor="other@nous.test")  # version 5, production
            page.locator("#flag-header").get_by_text("by other@nous.test").wait_for()  # the page heard of it
            page.locator("#simple-form").get_by_role("button", name="Save").click()
            page.get_by_text("Saved: version 6.").wait_for()
            assert page.get_by_text("changed since you opened it").count() == 0
            assert fresh("search.ranking", "staging").strategies[0]["parameters"]["rollout"] == "45"
            production = fresh("search.ranking", "production")
            assert production.enabled is False and production.strategies[0]["parameters"]["rollout"] == "70"

            page.goto(f"{server.url}/admin/beta/flags/-/environments")
            page.get_by_label("Name", exact=True).fill("qa")
            page.get_by_role("button", name="Add environment").click()
            page.get_by_text("Added the environment qa").wait_for()
            page.get_by_role("button", name="Move qa up").click()
            page.get_by_text("Moved qa up.").wait_for()
            page.screenshot(path=str(shots / "environments-page.png"), full_page=True)
            browser.close()
    finally:
        server.stop()
    assert service.environment_names() == ["development", "staging", "qa", "production"]
    assert problems == [], "\n".join(problems)
