"""The engine's notices about a definition (nous.flags.engine.notices) reach the console: the flag page
says when an IN / NOT_IN condition asks to ignore case, and the condition editor no longer offers it."""

from __future__ import annotations

import pytest

from nous.extensions import db
from nous.flags import service
from tests.support.live import LiveServer, launch_browser

BASE = "/admin/beta/flags"
IN_CI = {"contextName": "plan", "operator": "IN", "values": ["pro"], "caseInsensitive": True}


def test_flag_page_shows_a_notice_for_ignore_case_on_in(admin_client, ctx, make_flag) -> None:
    make_flag("ci.old", enabled=True, strategies=[{"name": "default", "constraints": [IN_CI]}])
    make_flag("ci.fine", enabled=True, strategies=[{"name": "default", "constraints": [
        {**IN_CI, "operator": "STR_CONTAINS"}]}])
    page = admin_client.get(f"{BASE}/ci.old").get_data(as_text=True)
    assert 'id="flag-notices"' in page
    assert "Strategy 1, condition 1: &#34;ignore case&#34; is set on IN, which always compares exactly" in page
    assert 'id="flag-notices"' not in admin_client.get(f"{BASE}/ci.fine").get_data(as_text=True)


def test_condition_editor_offers_ignore_case_except_on_in_and_not_in(app) -> None:
    with app.test_request_context():
        template = app.jinja_env.get_template("flags/_condition.html")
        for op, offered in (("IN", False), ("NOT_IN", False), ("STR_CONTAINS", True), ("REGEX", True)):
            html = template.render(row_id="r1", cond={**IN_CI, "operator": op}, operators=[op])
            label = html[html.index("<label class=\"check\" data-ignore-case"):]
            label = label[:label.index("</label>")]
            assert ("hidden" not in label) is offered, op
            assert ("checked" in label) is offered, op


def test_ignore_case_follows_the_operator_in_a_browser(app, ctx, make_flag) -> None:
    playwright_api = pytest.importorskip("playwright.sync_api")
    from nous.admin.service import create_login_link

    make_flag("ci.browser", enabled=True, strategies=[{"name": "flexibleRollout", "parameters": {
        "rollout": "100", "stickiness": "default", "groupId": "ci.browser"}, "constraints": [IN_CI]}])
    server = LiveServer(app)
    problems: list[str] = []
    try:
        with playwright_api.sync_playwright() as p:
            browser = launch_browser(p)
            page = browser.new_page(viewport={"width": 1360, "height": 900})
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(f"{server.url}/admin/login/link/{create_login_link('admin@nous.test', actor='test')}")
            page.get_by_role("button", name="Sign in").click()
            page.goto(f"{server.url}{BASE}/ci.browser")
            assert page.locator("#flag-notices").is_visible()
            row = page.locator(".condition-row").first
            box = row.locator("[data-ignore-case]")
            assert box.is_hidden()  # IN: not offered
            row.get_by_label("Operator").select_option("STR_CONTAINS")
            assert box.is_visible()
            box.locator("input").check()
            row.get_by_label("Operator").select_option("NOT_IN")
            assert box.is_hidden() and not box.locator("input").is_checked()

            # saved as IN without "ignore case": the notice goes at once, with no reload
            row.get_by_label("Operator").select_option("IN")
            page.locator("#simple-form").get_by_role("button", name="Save").click()
            page.get_by_text("Saved: version 2.").wait_for()
            assert page.locator("#flag-notices").count() == 0
            db.session.rollback()  # the server's commit, not this session's copy
            assert service.get_flag("ci.browser").strategies[0]["constraints"] == [
                {"contextName": "plan", "operator": "IN", "values": ["pro"]}]

            # a condition added to the form starts as IN: no "ignore case" either
            page.get_by_role("button", name="Add condition").click()
            added = page.locator(".condition-row [data-ignore-case]").nth(1)
            added.wait_for(state="attached")
            assert added.is_hidden()
            browser.close()
    finally:
        server.stop()
    assert problems == []
