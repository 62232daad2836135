"""Every console page in Chromium, with demo data, at desktop (1440x900) and phone (390x844) size: axe-core
finds no critical or serious accessibility problem; from 360 to 430 px no page is wider than the screen, the
top bar keeps one line and every control is on screen; at 768 and 1024 px no page is wider than the window.
The open feedback widget on another site passes the same axe check; the phone menu works by keyboard.

NOUS_SCREENSHOTS=folder keeps a screenshot of every page at both sizes and the axe figures (axe.json)."""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import url_for
from sqlalchemy import select
from werkzeug.serving import make_server

from nous.extensions import db
from tests.conftest import ADMIN_EMAIL
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

AXE_CORE = "vendor/axe-core-4.14.1.min.js"  # static/, refreshed by scripts/vendor
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
PHONE_WIDTHS = (360, 390, 430)  # each page is also measured at the narrowest and widest common phones
TABLET_WIDTHS = (768, 1024)  # and, in the desktop pass, at tablet widths: no page wider than the window
BLOCKING = {"critical", "serious"}
# Sign-in steps and files: not pages to look at.
SKIPPED_ENDPOINTS = {"admin.login_start", "admin.auth_callback", "admin.login_link", "workflows.run_file"}

# The page's own checks, run beside axe: how wide the document is, and every visible control that lies
# (partly) outside the screen: inside a sideways-scrolling box or past the edge.
MEASURE = """() => {
  const vw = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')) {
    if (el.closest('.skip-link, .sr-only')) continue;  // off screen on purpose until focused
    const r = el.getBoundingClientRect();
    if (!r.width || !r.height || getComputedStyle(el).visibility === 'hidden') continue;
    if (r.left < -1 || r.right > vw + 1) {
      out.push((el.getAttribute('aria-label') || el.textContent || el.name || el.tagName).trim().slice(0, 40)
               + ' @' + Math.round(r.left) + '..' + Math.round(r.right));
    }
  }
  const bar = document.querySelector('.topbar');
  return {scrollWidth: document.documentElement.scrollWidth, width: vw, offscreen: out,
          topbar: bar ? Math.round(bar.getBoundingClientRect().height) : 0};
}"""

# Measured once the page has drawn two frames at its new size: charts follow their box from a ResizeObserver,
# whose callbacks run in the frame after a resize, as a user would see it (measured at once, a chart drawn
# for the wider window could still be there, on a busy machine).
MEASURED = ("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(() => done(("
            + MEASURE + ")()))))")


@pytest.fixture(scope="module")
def stack(app) -> Iterator[tuple[str, Any]]:
    with served_in_chromium(app) as served:
        yield served
    wait_hub_idle(app)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _seed(app) -> dict[str, dict[str, Any]]:
    """Demo data as `flask nous seed-demo` makes it, a workflow run with its jobs and an outbox message;
    returns the URL arguments of one object of each kind that has a page."""
    from nous.email.models import OutboxMessage
    from nous.email.service import create_message
    from nous.feedback import demo
    from nous.feedback.models import Feedback
    from nous.flags import demo as flags_demo
    from nous.flags.models import Flag
    from nous.jobs.models import JobRun
    from nous.testers.models import BetaUser
    from nous.workflows import service as workflows
    from nous.workflows.examples import seed_examples
    from nous.workflows.models import Workflow
    from tests.jobs.helpers import run_jobs_here

    with app.app_context():
        demo.seed(actor=ADMIN_EMAIL, testers=10, feedback=40, days=30, seed_value=19)
        flags_demo.seed(actor=ADMIN_EMAIL)
        seed_examples(actor=ADMIN_EMAIL)
        workflow = db.session.scalars(select(Workflow).order_by(Workflow.id)).first()
        run_id = workflows.run_now(workflow.id, {}, ADMIN_EMAIL)
        run_jobs_here()
        create_message(ADMIN_EMAIL, "test", {"sent_by": ADMIN_EMAIL}, actor=ADMIN_EMAIL)
        tester = db.session.scalars(select(BetaUser).order_by(BetaUser.created_at)).first()
        flag = db.session.scalars(select(Flag).order_by(Flag.key)).first()
        return {
            "testers.show_tester": {"user_id": tester.id},
            "flags.tester_overrides": {"user_id": tester.id},
            "feedback.admin_show": {"feedback_id": db.session.scalars(select(Feedback.id)).first()},
            "flags.show_flag": {"key": flag.key},
            "flags.flag_history": {"key": flag.key},
            "jobs.detail": {"job_id": db.session.scalars(select(JobRun.job_id)).first()},
            "email.message": {"outbox_id": db.session.scalars(select(OutboxMessage.id)).first()},
            "workflows.show": {"workflow_id": workflow.id},
            "workflows.edit": {"workflow_id": workflow.id},
            "workflows.workflow_runs": {"workflow_id": workflow.id},
            "workflows.run_detail": {"run_id": run_id},
        }


def _console_urls(app, details: dict[str, dict[str, Any]]) -> list[str]:
    """Every GET route under /admin that needs no argument, and the detail pages of the seeded objects."""
    urls: list[str] = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if (not rule.rule.startswith("/admin") or "GET" not in rule.methods or rule.endpoint in SKIPPED_ENDPOINTS
                    or rule.endpoint == "admin.login"):
                continue
            if rule.arguments:
                if rule.endpoint not in details:
                    continue
                urls.append(url_for(rule.endpoint, **details[rule.endpoint]))
            else:
                urls.append(url_for(rule.endpoint))
    missing = set(details) - {r.endpoint for r in app.url_map.iter_rules()}
    assert not missing, f"detail pages without a route: {missing}"
    return sorted(set(urls))


def _settle(page) -> None:
    """Wait until the page and the panels it loads after it are in (htmx requests done)."""
    page.wait_for_load_state("load")
    page.wait_for_function("() => !document.querySelector('.htmx-request') && document.readyState === 'complete'")


def _axe(page, base: str) -> list[dict[str, Any]]:
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(url=f"{base}/static/{AXE_CORE}")
    return page.evaluate("""async () => {
      // every rule axe runs by default, and WCAG 2.2's target size (2.5.8, off by default)
      const r = await axe.run(document, {resultTypes: ['violations'], rules: {'target-size': {enabled: true}}});
      return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: (n.failureSummary || '').slice(0, 300)}))}));
    }""")


def _blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def _login_token(app) -> str:
    from nous.admin.service import create_login_link

    with app.app_context():
        return create_login_link(ADMIN_EMAIL, "test")


def _sign_in(app, base: str, page) -> None:
    page.goto(f"{base}/admin/login/link/{_login_token(app)}")
    page.get_by_role("button").first.click()
    page.wait_for_url(f"{base}/admin/beta/")


def _kind(page, url: str) -> str:
    """'page' for an HTML page; else what it is (exports, JSON and redirects are not pages to check)."""
    answer = page.request.get(url, max_redirects=0)
    kind = answer.headers.get("content-type", "").split(";")[0]
    return "page" if answer.status == 200 and kind == "text/html" else f"{answer.status} {kind}"


def test_every_console_page_passes_axe_and_fits_a_phone(app, stack, shots) -> None:
    base, browser = stack
    details = _seed(app)
    urls = _console_urls(app, details)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"{page.url}: {exc}"))
    page.on("console", lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None)
    figures: dict[str, Any] = {"pages": {}, "totals": {}}
    failures: list[str] = []

    def record(name: str, pg, size: str) -> None:
        violations = _axe(pg, base)
        figures["pages"].setdefault(name, {})[size] = {
            v["id"]: {"impact": v["impact"], "nodes": len(v["nodes"])} for v in violations}
        for v in _blocking(violations):
            where = "; ".join(n["target"] for n in v["nodes"][:4])
            failures.append(f"{name} [{size}] {v['impact']} {v['id']} x{len(v['nodes'])}: {v['help']} — {where}")
        if size == "phone":
            for width in PHONE_WIDTHS:
                pg.set_viewport_size({"width": width, "height": PHONE["height"]})
                m = pg.evaluate(MEASURED)
                if m["scrollWidth"] > m["width"]:
                    failures.append(f"{name} [{width} px] the page is {m['scrollWidth']} px wide")
                if m["offscreen"]:
                    failures.append(f"{name} [{width} px] controls off screen: {', '.join(m['offscreen'][:5])}")
                if m["topbar"] > 64:
                    failures.append(f"{name} [{width} px] the top bar wraps ({m['topbar']} px high)")
            pg.set_viewport_size(PHONE)
        else:
            for width in TABLET_WIDTHS:
                pg.set_viewport_size({"width": width, "height": DESKTOP["height"]})
                m = pg.evaluate(MEASURED)
                if m["scrollWidth"] > m["width"]:
                    failures.append(f"{name} [{width} px] the page is {m['scrollWidth']} px wide")
            pg.set_viewport_size(DESKTOP)
        if os.environ.get("NOUS_SCREENSHOTS"):
            slug = name.strip("/").replace("/", "_").replace("<", "").replace(">", "") or "root"
            pg.screenshot(path=str(shots / f"{slug}.{size}.png"), full_page=True)

    token = _login_token(app)  # the sign-in pages first, at both sizes
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for url in ("/admin/login", f"/admin/login/link/{token}"):
            page.goto(f"{base}{url}")
            _settle(page)
            record(url.replace(token, "<token>"), page, size)
    page.set_viewport_size(DESKTOP)
    _sign_in(app, base, page)
    kinds = {url: _kind(page, f"{base}{url}") for url in urls}
    pages = [url for url, kind in kinds.items() if kind == "page"]
    figures["not pages"] = {url: kind for url, kind in kinds.items() if kind != "page"}
    assert len(pages) >= 38, figures["not pages"]
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        for url in pages:
            page.goto(f"{base}{url}")
            _settle(page)
            record(url, page, size)
    for s in ("desktop", "phone"):
        counts: Counter[str] = Counter()
        for per_size in figures["pages"].values():
            for rule, v in per_size.get(s, {}).items():
                counts[f"{v['impact']}:{rule}"] += v["nodes"]
        figures["totals"][s] = dict(counts.most_common())
    figures["failures"] = failures
    figures["checked"] = pages
    (shots / "axe.json").write_text(json.dumps(figures, indent=1))
    context.close()
    assert not failures, f"{len(failures)} problems on {len(pages)} pages:\n" + "\n".join(failures)
    assert problems == []


def _serve(wsgi: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def test_open_feedback_widget_passes_axe_on_a_host_site(app, stack, shots) -> None:
    from tests.feedback.helpers import set_setting

    base, browser = stack
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Host app</title></head>
<body><main><h1>Your day</h1><p>Three meetings and a reminder.</p></main>
<script src="{base}/widget.js" defer data-features="calendar,voice"></script></body></html>""".encode()
    csp = f"default-src 'none'; script-src {base}; connect-src {base}; style-src 'none'"

    def site(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Security-Policy", csp)])
        return [html]

    host, server = _serve(site)
    set_setting(app, "feedback.widget_origins", [host])
    failures: list[str] = []
    try:
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(host)
            page.wait_for_function("window.NousFeedback !== undefined")
            page.get_by_role("button", name="Feedback").click()
            page.get_by_role("dialog", name="Send feedback").wait_for()
            for v in _blocking(_axe(page, base)):
                failures.append(f"widget [{size}] {v['impact']} {v['id']}: {v['help']} — "
                                + "; ".join(n["target"] for n in v["nodes"][:4]))
            if os.environ.get("NOUS_SCREENSHOTS"):
                page.screenshot(path=str(shots / f"widget.{size}.png"))
            context.close()
    finally:
        server.shutdown()
    assert not failures, "\n".join(failures)


def test_phone_navigation_folds_behind_a_menu_button_that_works_by_keyboard(app, stack) -> None:
    base, browser = stack
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _sign_in(app, base, page)
    page.goto(f"{base}/admin/beta/users")
    menu = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Sections")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav).to_be_hidden()
    top = page.evaluate("document.querySelector('main h1').getBoundingClientRect().top")
    assert top < 200, f"the page's heading starts {top} px down the first screen"
    fields = page.locator("#add-tester").locator(":is(input:not([type=hidden]), select, textarea, button)")
    assert fields.evaluate_all("els => els.map(e => e.name || e.textContent.trim())") == [
        "email", "role", "notes", "invite", "Add"]  # read and tabbed in the order they are filled in

    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # brand
    page.keyboard.press("Tab")
    expect(menu).to_be_focused()
    page.keyboard.press("Enter")
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Testers")).to_have_attribute("aria-current", "page")
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Dashboard")).to_be_focused()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu).to_be_focused()
    expect(menu).to_have_attribute("aria-expanded", "false")

    account = page.locator("details.account > summary")
    account.focus()
    page.keyboard.press("Enter")
    sign_out = page.get_by_role("button", name="Sign out", exact=True)
    expect(sign_out).to_be_visible()
    expect(page.get_by_role("button", name="Sign out everywhere")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.keyboard.press("Escape")
    expect(sign_out).to_be_hidden()

    page.set_viewport_size(DESKTOP)  # wide: the list shows, no menu button
    expect(nav.get_by_role("link", name="Dashboard")).to_be_visible()
    expect(menu).to_be_hidden()
    context.close()
