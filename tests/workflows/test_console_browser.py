"""The workflows console in Chromium: validation as you type, run now with live status, the timeline."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ADMIN_EMAIL
from tests.support.live import LiveServer, launch_browser
from tests.workflows.conftest import run_here

BAD = "name: Broken\nsteps:\n  - id: first\n    uses: feedback.clasify\n    with: {text: hi}\n"
GOOD = """\
name: Browser made
steps:
  - id: classify
    uses: feedback.classify
    with: {text: "${{ text }}"}
  - id: entities
    uses: text.extract_entities
    if: steps.classify.output.category == "bug"
    with: {text: "${{ text }}"}
"""


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: NOUS_SCREENSHOTS (to look at them) or the test's temporary folder."""
    folder = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_console_in_a_real_browser(app, client, shots):
    from nous.admin.service import create_login_link
    from nous.workflows import service
    from nous.workflows.examples import seed_examples

    with app.app_context():
        seed_examples()
        triage_id = service.by_name("Triage crash reports").id
        token = create_login_link(ADMIN_EMAIL, "test")
    client.post("/api/feedback", json={"rating": 1, "category": "bug", "feature": "calendar",
                                       "message": "Crash when opening the calendar on 2.4.1, error E1234"})
    with app.app_context():
        run_here()
        [event_run] = service.list_runs(triage_id).rows
        event_run_id = event_run.id

    server = LiveServer(app)
    errors: list[str] = []
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            base = server.url
            page.goto(f"{base}/admin/login/link/{token}")
            page.get_by_role("button").first.click()
            page.wait_for_url(f"{base}/admin/beta/")

            page.goto(f"{base}/admin/workflows/")
            expect(page.get_by_label("All workflows").get_by_role("link", name="Triage crash reports")).to_be_visible()
            expect(page.locator(f"#workflow-run-{event_run_id}")).to_contain_text("succeeded")
            page.screenshot(path=str(shots / "workflows-index.png"), full_page=True)

            # run now: the history shows the run at once and follows it until it ends, without a reload
            page.goto(f"{base}/admin/workflows/{triage_id}")
            loaded_at = page.evaluate("performance.timeOrigin")
            page.get_by_role("button", name="Run now").click()
            expect(page.locator("#toasts")).to_contain_text("started")
            rows = page.locator(f"#workflow-{triage_id}-runs tbody tr")
            expect(rows).to_have_count(2)
            new_row = rows.first
            expect(new_row).to_contain_text("queued")
            with app.app_context():
                run_here()
            expect(new_row.locator(".wf-status")).to_have_text("succeeded", timeout=10_000)
            expect(page.locator(f"#workflow-{triage_id}-runs")).not_to_have_attribute("hx-trigger", "every 2s")
            assert page.evaluate("performance.timeOrigin") == loaded_at
            page.screenshot(path=str(shots / "workflow-page.png"), full_page=True)

            # the run's timeline
            page.goto(f"{base}/admin/workflows/runs/{event_run_id}")
            expect(page.locator(".wf-event")).to_have_count(4)
            expect(page.locator(".wf-event-succeeded")).to_have_count(4)
            expect(page.locator(f"#workflow-run-{event_run_id}-step-1")).to_contain_text("2.4.1")
            page.screenshot(path=str(shots / "run-timeline.png"), full_page=True)

            # the editor checks as you type and points at the line
            page.goto(f"{base}/admin/workflows/new")
            expect(page.locator("#wf-validation")).to_contain_text("Valid: My workflow")
            editor = page.locator("#wf-document")
            editor.fill(BAD)
            problems = page.locator(".wf-problems li")
            expect(problems).to_have_count(1)
            expect(problems.first).to_contain_text("unknown handler 'feedback.clasify'")
            expect(problems.first).to_contain_text("steps[0].uses")
            page.screenshot(path=str(shots / "editor-problem.png"), full_page=True)
            page.get_by_role("button", name="Go to line 4").click()
            caret = page.evaluate("document.getElementById('wf-document').selectionStart")
            assert BAD[:caret].count("\n") == 3  # the caret is on line 4

            editor.fill(GOOD)
            expect(page.locator("#wf-validation")).to_contain_text("Valid: Browser made")
            expect(page.locator("#wf-validation .wf-step")).to_have_count(2)
            page.screenshot(path=str(shots / "editor-valid.png"), full_page=True)
            page.get_by_role("button", name="Create workflow").click()
            expect(page.get_by_role("heading", name="Browser made")).to_be_visible()
            expect(page.locator(".notice-success")).to_contain_text("Workflow Browser made created")
            browser.close()
    finally:
        server.stop()
    assert errors == []
