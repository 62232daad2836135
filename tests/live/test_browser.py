"""The live dashboard in Chromium: the chart moves and an alert comes and goes as the figures change."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from nous.live import collector
from tests.conftest import ADMIN_EMAIL
from tests.live.conftest import wait_hub_idle
from tests.support.live import served_in_chromium


@pytest.fixture(scope="module")
def browser_stack(app):
    with served_in_chromium(app) as stack:
        yield stack
    wait_hub_idle(app)


def record(app, **figures: float) -> None:
    """What the collector job does with a sample, with figures the test chooses."""
    with app.app_context():
        collector.record({"memory_percent": 41.0, "requests_per_second": 2.0, "queue_depth": 0, **figures})


def test_chart_updates_and_an_alert_appears_and_clears_without_reload(app, browser_stack, tmp_path) -> None:
    from nous.admin.service import create_login_link
    from nous.settings import service as settings

    base, browser = browser_stack
    record(app, cpu_percent=20.0)
    record(app, cpu_percent=24.0)
    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" and "live" in m.text else None)
    page.goto(f"{base}/admin/login/link/{token}")
    page.get_by_role("button").first.click()
    page.wait_for_url(f"{base}/admin/beta/")
    loaded_at = page.evaluate("performance.timeOrigin")

    expect(page.locator("#live-status")).to_have_attribute("data-state", "on", timeout=10_000)
    chart = page.locator("#chart-resources")
    expect(chart.locator("canvas")).to_have_count(1, timeout=10_000)
    expect(chart).to_have_attribute("data-points", "2")

    record(app, cpu_percent=61.5)
    expect(chart.locator("[data-now]")).to_contain_text("61.5 %")
    expect(chart).to_have_attribute("data-points", "3")

    alerts = page.locator("#live-alerts")
    expect(alerts).to_contain_text("No open alerts")
    with app.app_context():
        settings.set_value("alerts.cpu_percent", 50, actor="test")
    record(app, cpu_percent=80.0)
    record(app, cpu_percent=82.0)
    raised = alerts.locator("[data-rule=cpu]")
    expect(raised).to_be_visible()
    expect(raised).to_contain_text("CPU use above 50.0 %")
    expect(page.locator("#toasts")).to_contain_text("Alert: CPU use above 50.0 %")
    page.screenshot(path=str(tmp_path / "dashboard-alert.png"), full_page=True)

    record(app, cpu_percent=30.0)
    expect(raised).to_be_visible()  # one good sample does not clear it
    record(app, cpu_percent=31.0)
    expect(raised).to_have_count(0)
    expect(alerts).to_contain_text("No open alerts")
    expect(chart).to_have_attribute("data-points", "7")

    assert page.evaluate("performance.timeOrigin") == loaded_at  # all of it without a reload
    assert problems == []
    page.close()


def test_the_page_reconnects_by_itself_when_the_socket_drops(app, browser_stack) -> None:
    from nous.admin.service import create_login_link

    base, browser = browser_stack
    record(app, disk_percent=97.0)
    record(app, disk_percent=97.0)  # an alert raised before the page opens: in the replay, shown, not toasted
    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")
    page = browser.new_page()
    page.goto(f"{base}/admin/login/link/{token}")
    page.get_by_role("button").first.click()
    page.wait_for_url(f"{base}/admin/beta/")
    status = page.locator("#live-status")
    expect(status).to_have_attribute("data-state", "on", timeout=10_000)
    expect(page.locator("#live-alerts [data-rule=disk]")).to_be_visible()
    page.wait_for_timeout(500)
    expect(page.locator("#toasts .toast")).to_have_count(0)

    # The server side of every socket goes away (as when a web process restarts) …
    expect(status).to_have_attribute("data-connects", "1")
    app.extensions["nous.live.hub"].resync_all("test")
    expect(status).to_have_attribute("data-connects", "2", timeout=10_000)
    expect(status).to_have_attribute("data-state", "on")

    record(app, cpu_percent=44.4)  # and it is live again
    expect(page.locator("#chart-resources [data-now]")).to_contain_text("44.4 %")
    page.close()


# Pixels of the first series' colour (#4f46e5) the chart's canvas holds.
ACCENT_PIXELS = """(canvas) => {
  const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) {
    if (d[i + 3] > 200 && Math.abs(d[i] - 79) < 12 && Math.abs(d[i + 1] - 70) < 12 && Math.abs(d[i + 2] - 229) < 12) {
      n++;
    }
  }
  return n;
}"""


def test_a_lone_sample_is_drawn_as_a_point(app, browser_stack) -> None:
    """A first sample (or one between gaps) has no neighbour to draw a line to: it is a dot, not nothing."""
    from tests.support.live import signed_in_page

    base, browser = browser_stack
    record(app, cpu_percent=40.0)
    page, problems = signed_in_page(app, base, browser)
    chart = page.locator("#chart-resources")
    expect(chart).to_have_attribute("data-points", "1", timeout=10_000)
    page.wait_for_timeout(300)  # the first frame of the canvas
    assert chart.locator("canvas").evaluate(ACCENT_PIXELS) > 0
    assert problems == []
    page.close()
