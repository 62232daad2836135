"""The widget in a real browser (Chromium through Playwright), on a page of another origin with a strict CSP."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from nous.extensions import db
from nous.feedback.models import Feedback
from tests.feedback.helpers import set_setting

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


def _serve(wsgi: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


@pytest.fixture
def console(app) -> Iterator[str]:
    url, server = _serve(app)
    yield url
    server.shutdown()


def _host_page(console_url: str) -> tuple[bytes, str]:
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>NOUS app</title></head>
<body><main><h1>Your day</h1><p>Three meetings and a reminder.</p></main>
<script src="{console_url}/widget.js" defer data-position="bottom-right" data-features="calendar,voice"
        data-app-version="2.0.0" data-lang-button="Feedback"></script>
</body></html>""".encode()
    # Nothing inline is allowed, styles not at all, and DOM sinks need Trusted Types: the widget must cope.
    csp = (f"default-src 'none'; script-src {console_url}; connect-src {console_url}; style-src 'none'; "
           "img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; "
           "require-trusted-types-for 'script'")
    return html, csp


@pytest.fixture
def host(console) -> Iterator[str]:
    html, csp = _host_page(console)

    def site(environ, start_response):
        if environ["PATH_INFO"] != "/":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", csp)])
        return [html]

    url, server = _serve(site)
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app, host) -> Iterator[Any]:
    set_setting(app, "feedback.widget_origins", [host])
    set_setting(app, "feedback.min_submit_ms", 300)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.problems = []  # CSP violations and script errors seen by the page
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.goto(host)
    pg.wait_for_function("window.NousFeedback !== undefined")
    yield pg
    context.close()


def _focused(page) -> str:
    """What has focus inside the widget's shadow root, as 'tag:label'."""
    return page.evaluate("""() => {
        const host = document.querySelector('nous-feedback');
        const el = host && host.shadowRoot.activeElement;
        if (!el) return document.activeElement ? 'page:' + document.activeElement.tagName : 'none';
        const name = el.getAttribute('aria-label') || el.textContent.trim() || el.value || '';
        return el.tagName.toLowerCase() + ':' + name;
    }""")


def _rows(app) -> list[Feedback]:
    with app.app_context():
        rows = list(db.session.scalars(select(Feedback)))
        db.session.expunge_all()
        return rows


def test_keyboard_user_sends_feedback_and_it_reaches_the_console(app, page, console) -> None:
    launcher = page.get_by_role("button", name="Feedback")
    assert page.evaluate("getComputedStyle(document.querySelector('nous-feedback').shadowRoot"
                         ".querySelector('.launcher')).position") == "fixed"  # styles applied under the CSP
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Feedback"
    assert launcher.get_attribute("aria-expanded") == "false"
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Send feedback")
    dialog.wait_for()
    assert launcher.get_attribute("aria-expanded") == "true"
    assert _focused(page) == "input:1"  # the first rating star
    page.keyboard.press("Space")
    for _ in range(3):
        page.keyboard.press("ArrowRight")  # 4 stars
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # category: bug -> idea
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # feature: in general -> calendar
    page.keyboard.press("Tab")
    page.keyboard.type("Week view should <b>start</b> on Monday")
    page.keyboard.press("Tab")
    page.keyboard.type("o'brien+beta@example.com")  # apostrophe and plus: a valid address
    time.sleep(0.3)  # a person takes longer than feedback.min_submit_ms
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Cancel"
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Send"
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert _focused(page) == "h2:Thank you!"  # the success state is announced by moving focus to it
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert _focused(page) == "button:Feedback"  # focus goes back where it came from
    assert page.problems == []

    [row] = _rows(app)
    assert (row.rating, row.category, row.feature, row.email, row.app_version) == (
        4, "idea", "calendar", "o'brien+beta@example.com", "2.0.0")
    assert row.message == "Week view should <b>start</b> on Monday"
    assert row.page_url.startswith("http://127.0.0.1:") and row.viewport == "1280x800"
    assert "Chrome" in row.user_agent

    # The console, signed in as the admin, lists it (the HTML in the message stays text).
    now = int(time.time())
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now})
    page.context.add_cookies([{"name": "nous_session", "value": cookie, "url": console}])
    page.goto(console + "/admin/beta/feedback")
    assert page.get_by_role("link", name="Week view should <b>start</b> on Monday").is_visible()
    assert page.problems == []  # the console page itself runs under its own strict CSP


def test_errors_are_shown_and_the_dialog_keeps_focus(page) -> None:
    page.get_by_role("button", name="Feedback").click()
    page.get_by_role("button", name="Send").click()
    assert page.get_by_role("alert").filter(has_text="Please check the highlighted fields").is_visible()
    assert page.get_by_text("Choose a rating from 1 to 5.").is_visible()
    assert page.get_by_label("Your message").get_attribute("aria-invalid") == "true"
    assert _focused(page) == "input:1"  # the first field that needs attention
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "button:Close"  # the × in the dialog's header
    page.keyboard.press("Shift+Tab")
    assert _focused(page) == "button:Send"  # Tab stays inside the dialog: it wraps around
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Close"
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("dialog").wait_for(state="hidden")


def _fill(page) -> None:
    page.get_by_role("button", name="Feedback").click()
    page.get_by_label("3 of 5").check(force=True)  # the radio is visually hidden behind its star
    page.get_by_label("Your message").fill("Sent through a flaky network")
    time.sleep(0.3)


def test_one_retry_after_a_network_failure(app, page) -> None:
    calls: list[str] = []

    def flaky(route, request):
        if request.method != "POST":
            return route.continue_()
        calls.append(request.method)
        return route.abort("connectionreset") if len(calls) == 1 else route.continue_()

    page.route("**/api/feedback", flaky)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert len(calls) == 2
    assert [r.message for r in _rows(app)] == ["Sent through a flaky network"]


def test_failure_is_shown_after_the_retry_and_nothing_typed_is_lost(app, page) -> None:
    calls: list[str] = []

    def down(route, request):
        if request.method != "POST":
            return route.continue_()
        calls.append(request.method)
        return route.abort("connectionrefused")

    page.route("**/api/feedback", down)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    alert = page.get_by_role("alert").filter(has_text="could not be sent")
    alert.wait_for()
    assert len(calls) == 2  # the first try and one retry, no more
    assert page.get_by_label("Your message").input_value() == "Sent through a flaky network"
    assert page.get_by_role("button", name="Try again").is_visible()
    assert _rows(app) == []
