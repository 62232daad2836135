"""The jobs pages in Chromium: live job events update the dashboard's failure panel, the history
list and a job's page without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nous.jobs import service
from tests.conftest import ADMIN_EMAIL
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_jobs_here
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium, signed_in_page


@pytest.fixture(scope="module")
def browser_stack(app):
    with served_in_chromium(app) as stack:
        yield stack
    wait_hub_idle(app)


def _run_jobs(app) -> None:
    with app.app_context():
        run_jobs_here()


def test_failures_list_and_job_page_follow_live_job_events_without_reload(app, browser_stack, tmp_path):
    base, browser = browser_stack
    page, problems = signed_in_page(app, base, browser)
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    panel = page.locator("#job-failures")
    expect(panel).to_contain_text("No failed jobs", timeout=10_000)
    loaded_at = page.evaluate("performance.timeOrigin")

    with app.app_context():
        failing = service.enqueue("tests.alerting")
    _run_jobs(app)
    expect(panel.locator(f'[data-job-id="{failing}"]')).to_contain_text("tests.alerting")
    expect(panel).to_contain_text("ValueError: the nightly report could not be built")
    page.screenshot(path=str(tmp_path / "dashboard-failure.png"), full_page=True)
    with app.app_context():
        service.retry(failing, ADMIN_EMAIL)  # no longer failed: the panel lets it go
    expect(panel).to_contain_text("No failed jobs")
    assert page.evaluate("performance.timeOrigin") == loaded_at

    page.goto(f"{base}/admin/jobs?task=tests.echo")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    rows = page.locator("#job-rows")
    expect(rows).to_contain_text("No jobs match")
    loaded_at = page.evaluate("performance.timeOrigin")
    with app.app_context():
        echo = service.enqueue("tests.echo", "hello")
    row = rows.locator(f"#job-{echo}")
    expect(row).to_contain_text("queued")
    _run_jobs(app)  # also runs the retried failure again
    expect(row).to_contain_text("finished")
    assert page.evaluate("performance.timeOrigin") == loaded_at

    with app.app_context():
        later = service.enqueue("tests.echo", "on its own page")
    page.goto(f"{base}/admin/jobs/{later}")
    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    detail = page.locator("#job-detail")
    expect(detail.locator("h1")).to_contain_text("queued")
    loaded_at = page.evaluate("performance.timeOrigin")
    _run_jobs(app)
    expect(detail.locator("h1")).to_contain_text("finished")
    expect(detail).to_contain_text('"on its own page"')
    page.screenshot(path=str(tmp_path / "job-page.png"), full_page=True)
    assert page.evaluate("performance.timeOrigin") == loaded_at
    assert problems == []
    page.close()
