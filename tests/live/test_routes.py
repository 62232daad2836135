"""Live pages and JSON: admin only, every fragment also a page, bad input a clear 400."""

from __future__ import annotations

import pytest

from nous.clock import utcnow
from nous.live import collector
from nous.live.models import OPEN, Alert
from tests.support.sql import statements

PAGES = ["/admin/live/panel/charts", "/admin/live/panel/alerts", "/admin/live/alerts", "/admin/live/metrics.json"]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_get_nothing(client, ctx, path) -> None:
    page = client.get(path)
    assert page.status_code == 302 and "/admin/login" in page.headers["Location"]
    fragment = client.get(path, headers={"HX-Request": "true"})
    assert fragment.status_code == 401


def test_plain_http_to_the_socket_is_not_a_server_error(admin_client, ctx) -> None:
    assert admin_client.get("/ws/live").status_code == 400


def test_the_dashboard_loads_both_live_panels_and_knows_the_socket(admin_client, ctx) -> None:
    html = admin_client.get("/admin/beta/").text
    assert 'hx-get="/admin/live/panel/charts"' in html and 'hx-get="/admin/live/panel/alerts"' in html
    assert 'data-ws-url="ws://localhost/ws/live"' in html and 'id="live-status"' in html


def test_charts_panel_is_a_fragment_for_htmx_and_a_page_otherwise(admin_client, ctx) -> None:
    fragment = admin_client.get("/admin/live/panel/charts", headers={"HX-Request": "true"}).text
    assert "<html" not in fragment
    for chart in ("resources", "traffic", "latency", "queue"):
        assert f'id="chart-{chart}"' in fragment
    assert 'data-series="cpu_percent,memory_percent"' in fragment
    assert "/static/js/live.js" in fragment and "/static/vendor/uPlot-1.6.32.min.js" in fragment
    assert "<script>" not in fragment and "style=" not in fragment  # the CSP allows no inline script or style
    page = admin_client.get("/admin/live/panel/charts").text
    assert "<html" in page and 'id="chart-queue"' in page


def test_open_alerts_are_listed_and_refresh_on_alert_events(admin_client, ctx) -> None:
    empty = admin_client.get("/admin/live/panel/alerts", headers={"HX-Request": "true"}).text
    assert "No open alerts" in empty and 'hx-trigger="live:alerts from:body, every 60s"' in empty
    for _ in range(2):
        collector.record({"disk_percent": 97.5})
    listed = admin_client.get("/admin/live/alerts", headers={"HX-Request": "true"}).text
    assert "Disk use above 90.0 %" in listed and "now 97.5 %" in listed and "hx-trigger" not in listed
    history = admin_client.get("/admin/live/alerts").text
    assert "History" in history and "Disk use above 90.0 %" in history


def test_the_open_alerts_refresh_does_not_read_the_history(admin_client, ctx) -> None:
    """The list refreshes itself every minute and on each alert event: only the page reads the history."""
    with statements() as sent:
        assert admin_client.get("/admin/live/alerts", headers={"HX-Request": "true"}).status_code == 200
        fragment = sum("FROM alerts" in s for s in sent)
        sent.clear()
        assert "History" in admin_client.get("/admin/live/alerts").text
    assert (fragment, sum("FROM alerts" in s for s in sent)) == (1, 2)


def test_alert_history_shows_cleared_alerts_too(admin_client, ctx) -> None:
    from nous.extensions import db

    db.session.add(Alert(rule="check:smtp:responseTime", status=OPEN, title="Health check failing: smtp",
                         message="refused", unit="", raised_at=utcnow(), updated_at=utcnow()))
    db.session.commit()
    html = admin_client.get("/admin/live/alerts").text
    assert "Health check failing: smtp" in html and "badge-fail" in html


def test_metrics_json_gives_the_series_for_a_range(admin_client, ctx) -> None:
    collector.record({"cpu_percent": 12.5, "queue_depth": 3})
    doc = admin_client.get("/admin/live/metrics.json?range=6h").get_json()
    assert doc["range"] == "6h" and doc["series"]["cpu_percent"] == [12.5] and doc["series"]["queue_depth"] == [3]
    assert len(doc["t"]) == 1


@pytest.mark.parametrize("bad", ["2y", "", "1h;drop", "%00"])
def test_metrics_json_refuses_a_bad_range_with_a_400(admin_client, ctx, bad) -> None:
    resp = admin_client.get(f"/admin/live/metrics.json?range={bad}", headers={"Accept": "application/json"})
    assert resp.status_code == 400 and "range must be one of" in resp.get_json()["message"]
