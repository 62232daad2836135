"""The dashboard's latest activity and a feedback's history follow changes made elsewhere (another tab,
the CLI, a job) through the change events from /ws/live, within 2 seconds and without polling."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback
from nous.flags import service as flags
from tests.conftest import ADMIN_EMAIL
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

FOLLOW_MS = 2000


@pytest.fixture(scope="module")
def stack(app) -> Iterator[tuple[str, Any]]:
    with served_in_chromium(app) as served:
        yield served
    wait_hub_idle(app)


def signed_in_page(app, base: str, browser: Any) -> Any:
    from nous.admin.service import create_login_link

    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{base}/admin/login/link/{token}")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/admin/beta/")
    return page


def live(page: Any) -> None:
    page.wait_for_function("() => document.getElementById('live-status').dataset.state === 'on'")


def test_latest_activity_and_feedback_history_follow_changes_made_elsewhere(app, stack) -> None:
    base, browser = stack
    with app.app_context():
        flags.create_flag({"key": "follow.activity"}, actor=ADMIN_EMAIL)
        row = Feedback(rating=2, message="The export hangs", category="bug", status="new", email="ada@example.com")
        db.session.add(row)
        db.session.commit()
        fid = row.id
    page = signed_in_page(app, base, browser)
    try:
        activity = page.locator("#activity-panel")
        expect(activity).to_contain_text("follow.activity")
        assert "every" not in (activity.get_attribute("hx-trigger") or "")  # follows changes, no polling
        live(page)
        with app.app_context():
            flags.set_enabled("follow.activity", True, actor="ops@example.com")
        expect(activity).to_contain_text("ops@example.com", timeout=FOLLOW_MS)

        detail = page.context.new_page()
        detail.goto(f"{base}/admin/beta/feedback/{fid}")
        live(detail)
        history = detail.locator("#feedback-history")
        expect(history).not_to_contain_text("Replied")
        with app.app_context():
            feedback.reply(fid, "Fixed in 2.4, thanks", actor="ops@example.com")
        expect(history).to_contain_text("Replied", timeout=FOLLOW_MS)
        expect(activity).to_contain_text("Replied", timeout=FOLLOW_MS)
    finally:
        page.context.close()


def test_a_page_signed_out_elsewhere_says_so_and_stops_reconnecting(app, stack) -> None:
    from nous.admin.service import end_every_session

    base, browser = stack
    page = signed_in_page(app, base, browser)
    try:
        live(page)
        # the panels are in (one still loading when the session ends would take the page to the sign-in)
        page.wait_for_function(
            "() => !document.querySelector('.htmx-request') && !document.body.innerText.includes('Loading…')")
        status = page.locator("#live-status")
        with app.app_context():
            end_every_session(actor="ops@example.com")
        expect(status).to_have_text("signed out", timeout=FOLLOW_MS)
        expect(page.locator("#toasts")).to_contain_text("signed out")
        connects = status.get_attribute("data-connects")
        end = time.monotonic() + 2.5  # longer than the first reconnect delays (0.5–2 s): none is tried
        while time.monotonic() < end:
            assert (status.inner_text(), status.get_attribute("data-connects")) == ("signed out", connects)
            page.wait_for_timeout(100)
    finally:
        page.context.close()
