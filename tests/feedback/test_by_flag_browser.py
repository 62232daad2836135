"""What testers felt, in Chromium: the flag page loads the comparison card by itself, shows the table and the
reading, a period picked redraws it in place, and a group's count leads to the feedback list filtered by it."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from nous.extensions import db
from tests.feedback.helpers import OFF, ON, create_flag, email_flag
from tests.support.live import served_in_chromium, signed_in_page

pytest.importorskip("playwright.sync_api")
from playwright.sync_api import expect


def test_the_flag_page_shows_what_testers_felt(app, ctx, client, unlimited, tmp_path: Path) -> None:
    create_flag(email_flag())
    db.session.commit()
    for i in range(12):
        for emails, rating, word in ((ON, 5, "lovely"), (OFF, 2, "confusing")):
            assert client.post("/api/feedback", json={"rating": rating, "message": f"The calendar is {word} {i}",
                                                      "category": "idea", "email": emails[i % len(emails)]}
                               ).status_code == 201
    with served_in_chromium(app) as (base, browser):
        page, problems = signed_in_page(app, base, browser, width=1440)

        page.goto(f"{base}/admin/beta/flags/new-calendar")
        card = page.locator("#flag-insights")
        expect(card.locator("#insights-reading")).to_have_text(
            "Testers with the flag on rated it 3.0 higher (5.0 vs 2.0).")
        table = card.locator("#insights-table")
        expect(table.locator("tr.insights-on td").first).to_have_text("12")
        expect(table.locator("tr.insights-off td").first).to_have_text("12")
        expect(table.locator("tr.insights-on")).to_contain_text("lovely")
        page.screenshot(path=str(Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path) / "flag-insights.png"),
                        full_page=True)

        expect(table.locator("caption")).to_have_text("Feedback of the last 30 days by new-calendar in production")
        with page.expect_response(lambda r: "/admin/beta/feedback/by-flag/new-calendar?" in r.url) as answer:
            card.get_by_label("Period").select_option("7")  # redrawn in place, the page stays
        asked = parse_qs(urlsplit(answer.value.url).query)
        assert answer.value.status == 200 and asked["days"] == ["7"] and asked["env"] == ["production"]
        expect(card.get_by_label("Period")).to_have_value("7")
        expect(table.locator("caption")).to_have_text("Feedback of the last 7 days by new-calendar in production")
        now = datetime.now(UTC)  # the page may have been drawn on the day before, a moment ago
        week_ago = "|".join(sorted({(now - timedelta(days=7, minutes=m)).date().isoformat() for m in (0, 5)}))
        expect(card.locator(".hint")).to_contain_text(re.compile(f"Since ({week_ago}) in production"))
        expect(card.locator("#insights-reading")).to_contain_text("rated it 3.0 higher")
        assert page.url.endswith("/admin/beta/flags/new-calendar")

        table.locator("tr.insights-off td a").first.click()
        page.wait_for_url("**/admin/beta/feedback?*flag_state=off*")
        expect(page.locator("#feedback-results")).to_contain_text("confusing")
        expect(page.locator("#feedback-results")).not_to_contain_text("lovely")
        expect(page.locator("#f-flag")).to_have_value("new-calendar")

        # "Flag was: off" without a flag means nothing: the list stays as it was and the toast says why
        page.locator("#f-flag").select_option("")
        expect(page.locator("#toasts")).to_contain_text("flag is needed with flag_env and flag_state")
        expect(page.locator("#feedback-results")).to_contain_text("confusing")
        expect(page.locator("#feedback-results")).not_to_contain_text("lovely")
        # the browser and htmx each log the 400; nothing else went wrong
        assert [p for p in problems if "400" not in p] == [] and len(problems) == 2, problems
