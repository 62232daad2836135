"""The widget in a real browser (Chromium through Playwright), on a page of another origin with a strict CSP."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback
from nous.settings import service as settings
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


# A host page that tries everything to restyle what it contains (served as a stylesheet of its own).
HOSTILE_CSS = b"* { all: unset !important; font: 30px/3 serif !important; letter-spacing: 5px !important }\n"


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


def _hostile_page(console_url: str) -> tuple[bytes, str]:
    html, csp = _host_page(console_url)
    html = html.replace(b"<title>", b'<link rel="stylesheet" href="/hostile.css"><title>')
    return html, csp.replace("style-src 'none'", "style-src 'self'")  # its own stylesheet only, nothing inline


def _serve_host(html: bytes, csp: str) -> tuple[str, Any]:
    def site(environ, start_response):
        if environ["PATH_INFO"] == "/hostile.css":
            start_response("200 OK", [("Content-Type", "text/css")])
            return [HOSTILE_CSS]
        if environ["PATH_INFO"] != "/":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", csp)])
        return [html]

    return _serve(site)


@pytest.fixture
def host(console) -> Iterator[str]:
    url, server = _serve_host(*_host_page(console))
    yield url
    server.shutdown()


@pytest.fixture
def hostile_host(console) -> Iterator[str]:
    url, server = _serve_host(*_hostile_page(console))
    yield url
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _open_page(browser: Any, url: str) -> Any:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()
    pg.problems = []  # CSP violations and script errors seen by the page
    pg.on("console", lambda m: pg.problems.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(str(e)))
    pg.goto(url)
    pg.wait_for_function("window.NousFeedback !== undefined")
    return pg


@pytest.fixture
def page(browser, app, host) -> Iterator[Any]:
    set_setting(app, "feedback.widget_origins", [host])
    set_setting(app, "feedback.min_submit_ms", 300)
    pg = _open_page(browser, host)
    yield pg
    pg.context.close()


@pytest.fixture
def hostile_page(browser, app, hostile_host) -> Iterator[Any]:
    set_setting(app, "feedback.widget_origins", [hostile_host])
    set_setting(app, "feedback.min_submit_ms", 300)
    pg = _open_page(browser, hostile_host)
    yield pg
    pg.context.close()


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
    assert _focused(page).startswith("select:")  # the type, with nothing chosen yet
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")  # category: (choose one) -> bug -> idea
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")  # feature: in general -> calendar
    page.keyboard.press("Tab")
    page.keyboard.type("Week view should <b>start</b> on Monday")
    page.keyboard.press("Tab")
    page.keyboard.type("o'brien+beta@example.com")  # apostrophe and plus: a valid address
    time.sleep(0.3)  # a person takes longer than feedback.min_submit_ms
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Add image"  # screenshots: tests/feedback/test_widget_attachments_browser.py
    page.keyboard.press("Tab")
    assert _focused(page) == "button:Capture this page"
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
    assert page.get_by_text("Choose what kind of feedback this is.").is_visible()
    assert page.get_by_label("Type").get_attribute("aria-invalid") == "true"
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
    page.get_by_label("Type").select_option("bug")
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


def test_a_retry_after_a_lost_answer_stores_the_feedback_once(app, page) -> None:
    """The first request reaches the server and is stored, its answer never reaches the page (a dropped
    connection): the widget's retry carries the same Idempotency-Key and is answered with the same id."""
    keys: list[str] = []

    def answer_lost(route, request):
        if request.method != "POST":
            return route.continue_()
        keys.append(request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            route.fetch()  # the server stores it …
            return route.abort("connectionreset")  # … and the page never hears back
        return route.continue_()

    page.route("**/api/feedback", answer_lost)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert len(keys) == 2 and keys[0] == keys[1] and re.fullmatch(r"[0-9a-f]{32}", keys[0])
    assert [r.message for r in _rows(app)] == ["Sent through a flaky network"]


def test_a_retry_told_the_first_is_still_being_stored_asks_again_for_its_id(app, page) -> None:
    """A gateway gave up on the first request (504) while the console went on storing it, and the retry came
    while it still was (409 with Retry-After): the widget asks once more, and is answered with the stored id."""
    import json

    keys: list[str] = []

    def gateway(route, request):
        if request.method != "POST":
            return route.continue_()
        keys.append(request.headers.get("idempotency-key", ""))
        if len(keys) == 1:  # stored by the console; the gateway answers 504
            route.fetch()
            return route.fulfill(status=504, body="Gateway Timeout")
        if len(keys) == 2:  # as the console answers while the first is still being stored
            real = route.fetch()
            return route.fulfill(response=real, status=409, headers={**real.headers, "retry-after": "1"},
                                 body=json.dumps({"error": "Conflict", "message": "still being stored"}))
        return route.continue_()

    page.route("**/api/feedback", gateway)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for(timeout=15_000)
    assert len(keys) == 3 and len(set(keys)) == 1
    assert [r.message for r in _rows(app)] == ["Sent through a flaky network"]


def test_typing_while_it_sends_leaves_the_retry_with_the_key_of_what_it_resends(app, page) -> None:
    """The tester goes on typing while the first try is on its way; that try is stored but its answer is lost.
    The widget's retry resends the same body, so it carries the same key (stored once); what was typed meanwhile
    is still in the form, for another submission."""
    keys: list[str] = []

    def typed_meanwhile(route, request):
        if request.method != "POST":
            return route.continue_()
        keys.append(request.headers.get("idempotency-key", ""))
        if len(keys) == 1:
            page.get_by_label("Your message").press_sequentially(" (more)")  # while the request is out
            route.fetch()
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/feedback", typed_meanwhile)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert len(keys) == 2 and keys[0] == keys[1], keys
    assert [r.message for r in _rows(app)] == ["Sent through a flaky network"]


def test_a_changed_submission_after_a_failure_is_sent_with_a_new_key(app, page) -> None:
    keys: list[str] = []

    def down_twice(route, request):
        if request.method != "POST":
            return route.continue_()
        keys.append(request.headers.get("idempotency-key", ""))
        if len(keys) <= 2:  # the first try and the widget's own retry
            route.fetch()
            return route.abort("connectionreset")
        return route.continue_()

    page.route("**/api/feedback", down_twice)
    _fill(page)
    page.get_by_role("button", name="Send").click()
    page.get_by_role("button", name="Try again").wait_for()
    page.get_by_label("Your message").fill("Sent through a flaky network, then corrected")
    page.get_by_role("button", name="Try again").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert len(keys) == 3 and keys[0] == keys[1] != keys[2]
    # each stored once (in whichever order the server finished them)
    assert sorted(r.message for r in _rows(app)) == ["Sent through a flaky network",
                                                     "Sent through a flaky network, then corrected"]


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


def test_nothing_is_chosen_as_the_type_for_the_tester(app, page) -> None:
    set_setting(app, "feedback.min_submit_ms", 0)
    page.get_by_role("button", name="Feedback").click()
    kind = page.get_by_label("Type")
    assert kind.input_value() == "" and kind.evaluate("s => s.selectedOptions[0].textContent") == "Choose one…"
    page.get_by_label("4 of 5").check(force=True)
    page.get_by_label("Your message").fill("Love the new week view")
    page.get_by_role("button", name="Send").click()
    error = page.get_by_text("Choose what kind of feedback this is.")
    assert error.is_visible() and kind.get_attribute("aria-invalid") == "true"
    assert _focused(page).startswith("select:")  # the field that needs attention
    assert _rows(app) == []
    kind.select_option("praise")
    assert not error.is_visible() and kind.get_attribute("aria-invalid") is None
    page.get_by_role("button", name="Send").click()
    page.get_by_role("heading", name="Thank you!").wait_for()
    assert [(r.category, r.rating) for r in _rows(app)] == [("praise", 4)]


def test_a_site_that_is_not_allowed_is_told_so_and_noted_for_the_admin(app, browser, host) -> None:
    set_setting(app, "feedback.widget_origins", ["https://app.nous.example"])
    pg = _open_page(browser, host)
    posts: list[str] = []
    pg.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    try:
        _fill(pg)
        pg.get_by_role("button", name="Send").click()
        alert = pg.get_by_role("alert").filter(has_text="Feedback can't be sent from this site.")
        alert.wait_for()
        assert "cannot be reached" not in alert.inner_text()
        assert len(posts) == 1  # a refusal is no network failure: not retried
        assert pg.get_by_label("Your message").input_value() == "Sent through a flaky network"
    finally:
        pg.context.close()
    assert _rows(app) == []
    with app.app_context():
        assert [(o.origin, o.count) for o in feedback.refused_origins()] == [(host, 1)]


# What is read inside the widget's shadow root: computed styles of every rendered element and the stars' boxes.
_STYLES_INSIDE = """() => {
    const root = document.querySelector('nous-feedback').shadowRoot;
    const shown = [...root.querySelectorAll('*')].filter(e => e.getClientRects().length && e.tagName !== 'svg'
                                                           && e.tagName !== 'path');
    const css = e => getComputedStyle(e);
    const panel = root.querySelector('.panel').getBoundingClientRect();
    const stars = [...root.querySelectorAll('label.star')].map(e => e.getBoundingClientRect());
    return {
        spacing: [...new Set(shown.map(e => css(e).letterSpacing))],
        wordSpacing: [...new Set(shown.map(e => css(e).wordSpacing))],
        serif: shown.filter(e => !css(e).fontFamily.includes('system-ui')).map(e => e.tagName),
        launcher: [css(root.querySelector('.launcher')).fontSize, css(root.querySelector('.launcher')).position],
        heading: [css(root.querySelector('h2')).fontSize, css(root.querySelector('h2')).fontWeight],
        panel: [css(root.querySelector('.panel')).fontSize, css(root.querySelector('.panel')).lineHeight],
        message: css(root.querySelector('textarea')).fontSize,
        star: css(root.querySelector('label.star')).fontSize,
        starTops: [...new Set(stars.map(r => Math.round(r.top)))],
        starsRight: Math.max(...stars.map(r => r.right)), panelRight: panel.right, panelWidth: panel.width,
    };
}"""


def test_the_host_pages_typography_does_not_reach_the_widget(hostile_page) -> None:
    page = hostile_page
    h1 = page.evaluate("(() => { const s = getComputedStyle(document.querySelector('h1'));"
                       " return [s.letterSpacing, s.fontSize]; })()")
    assert h1 == ["5px", "30px"]  # the hostile stylesheet rules the page itself
    page.get_by_role("button", name="Feedback").click()
    page.get_by_role("dialog", name="Send feedback").wait_for()
    inside = page.evaluate(_STYLES_INSIDE)
    assert inside["spacing"] == ["normal"] and inside["wordSpacing"] == ["0px"]
    assert inside["serif"] == []  # every element names the widget's own font
    assert inside["launcher"] == ["15px", "fixed"]
    assert inside["heading"] == ["18px", "700"]
    assert inside["panel"] == ["15px", "21.75px"] and inside["message"] == "15px"
    assert inside["star"] == "28px" and len(inside["starTops"]) == 1  # the five stars on one line
    assert inside["starsRight"] <= inside["panelRight"] and inside["panelWidth"] == 390
    assert page.problems == []  # still under the strict CSP (its own stylesheet only)


def _readme_snippet(containing: str, console_url: str) -> bytes:
    """A ```html block of the README's "Put the widget on your site", pointed at this console."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Put the widget on your site", 1)[1]
    [block] = [b for b in re.findall(r"```html\n(.*?)```", section, re.S) if containing in b]
    return block.replace("https://beta-console.example.com", console_url).encode()


def test_the_readmes_snippets_work_and_strings_can_be_replaced(app, browser, console) -> None:
    html, csp = _host_page(console)
    start, end = html.index(b"<script"), html.index(b"</script>") + len(b"</script>")
    plain_url, plain = _serve_host(html[:start] + _readme_snippet("data-features", console) + html[end:], csp)
    french_url, french = _serve_host(html[:start] + _readme_snippet('data-lang="fr"', console) + html[end:], csp)
    set_setting(app, "feedback.widget_origins", [plain_url, french_url])
    try:
        pg = _open_page(browser, plain_url)
        pg.get_by_role("button", name="Feedback").click()
        assert pg.get_by_label("About").evaluate("s => [...s.options].map(o => o.value)") == [
            "", "calendar", "voice", "sync"]
        pg.context.close()

        pg = _open_page(browser, french_url)
        pg.get_by_role("button", name="Avis").click()
        pg.get_by_role("dialog", name="Donner votre avis").wait_for()
        assert pg.get_by_label("3 sur 5").count() == 1
        assert pg.get_by_label("Type").evaluate("s => s.selectedOptions[0].textContent") == "Choisir…"
        assert pg.get_by_role("button", name="Envoyer").is_visible()
        assert pg.get_by_role("button", name="Cancel").is_visible()  # a string left out stays English
        assert pg.evaluate("document.querySelector('nous-feedback').lang") == "fr"
        assert pg.problems == []
        pg.context.close()
    finally:
        plain.shutdown()
        french.shutdown()


def test_the_admin_allows_a_refused_site_from_the_settings_page(app, browser, host, console) -> None:
    set_setting(app, "feedback.widget_origins", [])
    set_setting(app, "feedback.min_submit_ms", 0)
    pg = _open_page(browser, host)
    _fill(pg)
    pg.get_by_role("button", name="Send").click()
    pg.get_by_role("alert").filter(has_text="Feedback can't be sent from this site.").wait_for()

    admin = pg.context.new_page()
    now = int(time.time())
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now})
    pg.context.add_cookies([{"name": "nous_session", "value": cookie, "url": console}])
    admin.goto(console + "/admin/settings")
    block = admin.get_by_role("region", name="Sites the feedback widget was refused on")
    block.get_by_role("cell", name=host, exact=True).wait_for()  # loaded into the page by itself
    assert block.get_by_role("cell", name="1 time").is_visible()
    block.get_by_role("button", name=f"Allow {host}").click()
    admin.get_by_text(f"Allowed {host}: the feedback widget works on that site now.").wait_for()
    with app.app_context():
        assert settings.get("feedback.widget_origins") == [host]
    admin.get_by_role("region", name="Sites the feedback widget was refused on").get_by_text(
        "No site was refused recently.").wait_for()  # the block reloads itself after the allow

    pg.get_by_role("button", name="Send").click()  # the tester tries again: it goes through now
    pg.get_by_role("heading", name="Thank you!").wait_for()
    assert [r.message for r in _rows(app)] == ["Sent through a flaky network"]
    pg.context.close()
