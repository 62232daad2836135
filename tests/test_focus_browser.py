"""Focus moves only for what the admin did: pages whose panels fill themselves in (on load, when revealed,
by polling, after changes made elsewhere) keep focus on the page and do not scroll, on a phone too."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import url_for

from nous.live import publish
from tests.conftest import ADMIN_EMAIL
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium

pytest.importorskip("playwright.sync_api")

PHONE = {"width": 390, "height": 844}
# Counts the htmx requests answered (a fragment swapped with outerHTML settles on an element already gone,
# so its afterSettle never reaches the document), so the test knows when a page's panels are in.
COUNT_SWAPS = """
window.__settled = 0;
document.addEventListener("htmx:afterRequest", function () { window.__settled += 1; });
"""
STATE = """() => ({active: document.activeElement === document.body ? "body"
                 : document.activeElement.tagName + "#" + (document.activeElement.id || "")
                   + "." + document.activeElement.className,
                 scrollY: Math.round(window.scrollY), settled: window.__settled})"""


@pytest.fixture(scope="module")
def stack(app) -> Iterator[tuple[str, Any]]:
    with served_in_chromium(app) as served:
        yield served
    wait_hub_idle(app)


def _seed(app) -> dict[str, str]:
    from sqlalchemy import select

    from nous.extensions import db
    from nous.feedback import demo
    from nous.flags import demo as flags_demo
    from nous.testers.models import BetaUser

    with app.app_context():
        demo.seed(actor=ADMIN_EMAIL, testers=4, feedback=12, days=7, seed_value=7)
        flags_demo.seed(actor=ADMIN_EMAIL)
        tester = db.session.scalars(select(BetaUser).order_by(BetaUser.created_at)).first()
        with app.test_request_context():
            return {"dashboard": "/admin/beta/",
                    "jobs": url_for("jobs.index"), "tester": url_for("testers.show_tester", user_id=tester.id)}


def settled(page: Any, timeout: float = 10) -> dict[str, Any]:
    """The page's state once its self-loading panels are in: no htmx request in flight, at least one swap
    settled, and nothing more settling over a few short looks."""
    deadline = time.monotonic() + timeout
    last, calm = -1, 0
    while time.monotonic() < deadline:
        state = page.evaluate(STATE)
        busy = page.evaluate("() => !!document.querySelector('.htmx-request')")
        if not busy and state["settled"] > 0 and state["settled"] == last:
            calm += 1
            if calm >= 5:
                return state
        else:
            calm = 0
        last = state["settled"]
        page.wait_for_timeout(100)
    raise AssertionError(f"the page's panels never settled: {page.evaluate(STATE)}")


@pytest.fixture
def urls(app) -> dict[str, str]:
    return _seed(app)  # each test starts from an empty database


@pytest.fixture
def phone(app, stack, urls) -> Iterator[tuple[str, Any, list[str]]]:
    """A signed-in phone-sized page (base url, page, its script errors)."""
    base, browser = stack
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(COUNT_SWAPS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    from nous.admin.service import create_login_link

    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")
    page.goto(f"{base}/admin/login/link/{token}")
    page.get_by_role("button").first.click()
    page.wait_for_url(f"{base}/admin/beta/")
    yield base, page, problems
    context.close()


@pytest.mark.parametrize("name", ["dashboard", "jobs", "tester"])
def test_panels_that_fill_themselves_in_never_take_focus_or_scroll(phone, urls, name) -> None:
    base, page, problems = phone
    page.goto(base + urls[name])
    state = settled(page)
    assert (state["active"], state["scrollY"]) == ("body", 0), f"{name}: {state}"
    assert not problems


def test_changes_made_elsewhere_refresh_panels_without_taking_focus(app, phone, urls) -> None:
    base, page, problems = phone
    page.goto(base + urls["dashboard"])
    settled(page)
    page.wait_for_function("() => document.getElementById('live-status').dataset.state === 'on'")
    before = page.evaluate(STATE)["settled"]
    with app.app_context():
        publish("feedback", {"id": 1, "action": "updated", "status": "new"})
        publish("flags", {"id": 1, "key": "x", "action": "updated"})
    page.wait_for_function(f"() => window.__settled > {before}")
    state = settled(page)
    assert (state["active"], state["scrollY"]) == ("body", 0), f"after a live change: {state}"
    assert not problems
