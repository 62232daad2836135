"""The flag page's environment switcher follows the flag in Chromium: saving "who gets it" or switching in
the environment shown changes that environment's on/off in the switcher at once (it kept what the page was
loaded with, saying "off" beside a flag just switched on)."""

from __future__ import annotations

import pytest

from tests.support.live import served_in_chromium, signed_in_page

playwright_api = pytest.importorskip("playwright.sync_api")


def test_the_switcher_follows_a_switch_in_the_environment_shown(app, ctx, make_flag) -> None:
    make_flag("search.ranking", description="New ranking")
    with served_in_chromium(app) as (base, browser):
        page, problems = signed_in_page(app, base, browser)
        page.goto(f"{base}/admin/beta/flags/search.ranking?env=staging")
        switcher = page.get_by_role("navigation", name="Environment")
        expect = playwright_api.expect
        expect(switcher.get_by_role("link", name="staging")).to_contain_text("off")
        page.locator("#simple-form input[name=enabled]").check()
        page.locator("#simple-form").get_by_role("button", name="Save").click()
        expect(switcher.get_by_role("link", name="staging")).to_contain_text("on")
        page.locator("#flag-switch").click()
        expect(page.locator("#flag-switch")).to_have_text("Switch on")
        expect(switcher.get_by_role("link", name="staging")).to_contain_text("off")
        expect(switcher.get_by_role("link", name="production")).to_contain_text("off")
        assert problems == []


def test_impression_data_is_a_switch_beside_its_label(app, ctx, make_flag) -> None:
    make_flag("search.ranking", description="New ranking")
    with served_in_chromium(app) as (base, browser):
        page, problems = signed_in_page(app, base, browser)
        page.goto(f"{base}/admin/beta/flags/search.ranking")
        box, card = (page.locator(s).bounding_box() for s in ("#d-impression-data", "#details-card"))
        assert box["x"] - card["x"] < 20 and box["width"] < 60  # at the start of its line, not stretched
        page.get_by_role("switch", name="Impression data").check()
        page.locator("#details-card").get_by_role("button", name="Save details").click()
        playwright_api.expect(page.get_by_text("Saved: version 2.")).to_be_visible()
        assert problems == []
    from nous.extensions import db
    from nous.flags import service

    db.session.rollback()
    assert service.get_flag("search.ranking").impression_data is True
