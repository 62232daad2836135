"""The console's filter bar (templates/_filters.html) in Chromium: a search box asks when its text changes
however it changed (typed, pasted with the mouse, dropped, filled in by the browser), not only on a key."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from nous.jobs import service
from tests.conftest import ADMIN_EMAIL
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium


def test_a_search_box_asks_on_a_paste_without_any_key(app) -> None:
    from nous.admin.service import create_login_link

    with app.app_context():
        service.enqueue("tests.echo", "pasted-needle")
        service.enqueue("tests.echo", "other-hay")
        token = create_login_link(ADMIN_EMAIL, "test")
    with served_in_chromium(app) as (base, browser):
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{base}/admin/login/link/{token}")
        page.get_by_role("button").first.click()
        page.wait_for_url(f"{base}/admin/beta/")
        page.goto(f"{base}/admin/jobs")
        rows = page.locator("#job-rows tr")
        expect(rows).to_have_count(2)
        box = page.locator("#f-q")
        # What a paste from the context menu does: one input event carrying the text, no key pressed.
        box.evaluate("""el => {
            el.focus();
            el.value = 'pasted-needle';
            el.dispatchEvent(new InputEvent('input', {bubbles: true, inputType: 'insertFromPaste'}));
        }""")
        expect(rows).to_have_count(1, timeout=5_000)
        expect(rows.first).to_contain_text("pasted-needle")
        expect(page).to_have_url(re.compile(r"/admin/jobs\?.*\bq=pasted-needle"), timeout=5_000)  # a deep link
    wait_hub_idle(app)
