"""Words for people, seen in Chromium: settings with typed inputs (a switch, list rows), flag history in words
and activity as linked sentences — under the real CSP, without a console error. Screenshots go to
NOUS_SCREENSHOTS when it is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nous.flags import service as flags
from nous.settings import service as settings
from nous.workflows import service as workflows
from tests.support.live import served_in_chromium
from tests.test_console_words import WEEKLY

pytest.importorskip("playwright.sync_api")


def fresh_setting(key: str):
    from nous.extensions import db

    db.session.rollback()
    return settings.get(key)


def test_settings_history_and_activity_read_as_words_in_a_browser(app, ctx, tmp_path) -> None:
    from nous.admin.service import create_login_link

    shots = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    wf = workflows.create(WEEKLY, actor="admin@nous.test")
    flags.create_flag({"key": "checkout", "enabled": True}, actor="admin@nous.test")
    rollout = {"name": "flexibleRollout", "parameters": {"rollout": "30", "stickiness": "default",
                                                          "groupId": "checkout"}, "constraints": []}
    plan = {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}
    flags.update_flag("checkout", {"strategies": [rollout]}, actor="admin@nous.test")
    flags.update_flag("checkout", {"strategies": [{**rollout, "constraints": [plan]}]}, actor="admin@nous.test")
    flags.set_rollout("checkout", 50, actor="admin@nous.test")
    token = create_login_link("admin@nous.test", actor="test")
    problems: list[str] = []
    with served_in_chromium(app) as (url, browser):
        page = browser.new_page(viewport={"width": 1360, "height": 900})
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{url}/admin/login/link/{token}")
        page.get_by_role("button", name="Sign in").click()

        # settings: a switch, a number with its unit, list rows with a blank one to add
        page.goto(f"{url}/admin/settings")
        switch = page.get_by_role("switch", name="Email alerts")
        assert switch.is_checked()
        switch.uncheck()
        page.locator("#setting-alerts-email").get_by_role("button", name="Save").click()
        page.locator("#setting-alerts-email .badge-pass").wait_for()
        assert fresh_setting("alerts.email") is False
        assert page.get_by_label("Slow query threshold").get_attribute("type") == "number"
        page.get_by_label("Sites allowed to send feedback 1 (new)").fill("https://shop.example.com")
        page.locator("#setting-feedback-widget_origins").get_by_role("button", name="Save").click()
        page.get_by_label("Sites allowed to send feedback 2 (new)").wait_for()  # saved, and a new blank row
        assert fresh_setting("feedback.widget_origins") == ["https://shop.example.com"]
        page.screenshot(path=str(shots / "settings.png"), full_page=True)

        # flag history in words
        page.goto(f"{url}/admin/beta/flags/checkout/history")
        page.get_by_text("Rollout 30 % → 50 %").wait_for()
        page.get_by_text("Added condition: plan is one of pro, team").wait_for()
        page.screenshot(path=str(shots / "flag-history.png"), full_page=True)

        # activity: sentences that link to the object
        page.goto(f"{url}/admin/beta/activity")
        page.get_by_role("link", name="workflow Weekly digest").click()
        page.wait_for_url(f"**/admin/workflows/{wf.id}")
        page.go_back()
        page.get_by_text("Changed setting Email alerts").wait_for()
        page.screenshot(path=str(shots / "activity.png"), full_page=True)
    assert problems == []
