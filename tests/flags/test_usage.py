"""Evaluation counts per environment, the SDKs' own reports kept apart (per environment, with the
applications and SDKs that sent them), and the flag page's usage panel that shows both."""

from __future__ import annotations

import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry

from nous import flags
from nous.flags import service
from nous.flags.cache import EVALS, read_counts
from tests.conftest import free_port
from tests.flags.conftest import rollout

EVALUATE = "/api/flags/evaluate"
BASE = "/admin/beta/flags"


def _report(toggles: dict, app: str = "checkout-web") -> dict:
    return {"appName": app, "instanceId": "i-1", "bucket": {"start": "2026-12-06T10:00:00Z",
                                                            "stop": "2026-12-06T10:01:00Z", "toggles": toggles}}


def test_evaluations_are_counted_for_the_environment_that_answered(client, ctx, make_flag, redis_conn) -> None:
    make_flag("split", enabled=True, strategies=[rollout(100)])
    service.set_enabled("split", False, actor="t", environment="staging")
    _row, staging = service.create_token("staging app", actor="t", environment="staging")
    _row, production = service.create_token("production app", actor="t")
    for _ in range(3):
        assert client.post(EVALUATE, json={"userId": "u"}, headers={"Authorization": staging}).status_code == 200
    assert client.post(EVALUATE, json={"userId": "u"}, headers={"Authorization": production}).status_code == 200
    flags.is_enabled("split", {"userId": "v"})  # the Python API: the default environment (production)
    flags.is_enabled("split", {"userId": "v"}, environment="development")
    flags.is_enabled("split", {"userId": "v"}, environment="no-such-place")  # answered (off), not counted
    EVALS.flush(redis_conn)
    assert (read_counts(redis_conn, environment="production")["split"]["yes"],
            read_counts(redis_conn, environment="production")["split"]["no"]) == (2, 0)
    assert read_counts(redis_conn, environment="staging")["split"] | {} == {
        "yes": 0, "no": 3, "total": 3, "recent_yes": 0, "recent_no": 3, "recent": 3}
    assert read_counts(redis_conn, environment="development")["split"]["no"] == 1  # development starts off
    assert read_counts(redis_conn, environment="no-such-place") == {}
    for name in ("production", "staging", "development"):  # one flag read alone: the same figures
        assert read_counts(redis_conn, environment=name, key="split") == {
            "split": read_counts(redis_conn, environment=name)["split"]}
    assert read_counts(redis_conn, environment="staging", key="nothing") == {}
    rows = {r["environment"]: r for r in service.usage("split")}
    assert list(rows) == ["development", "staging", "production"]
    assert (rows["production"]["nous"]["recent"], rows["staging"]["nous"]["recent"]) == (2, 3)


def test_evaluations_counted_whole_are_spread_over_the_flags_of_their_snapshot(client, ctx, make_flag,
                                                                              redis_conn) -> None:
    """POST /api/flags/evaluate counts each request's answers as one set, spread over the flags when
    flushed: a flag added between requests (another snapshot, other keys) is counted only for the
    requests that had it, and the others' counts add up across both."""
    make_flag("first", enabled=True, strategies=[rollout(100)])
    make_flag("never", enabled=True, strategies=[rollout(0)])
    _row, token = service.create_token("app", actor="t")
    EVALS.reset()
    for user in ("u1", "u2"):
        assert client.post(EVALUATE, json={"userId": user}, headers={"Authorization": token}).status_code == 200
    make_flag("later", enabled=True, strategies=[rollout(100)])
    flags.cache.snapshot()  # the new snapshot, with the new flag
    for user in ("u3", "u4", "u5"):
        answered = client.post(EVALUATE, json={"userId": user}, headers={"Authorization": token}).json["flags"]
        assert set(answered) == {"first", "never", "later"}
    assert EVALS.tally("production").counts() == ({"first": 5, "later": 3}, {"never": 5})
    EVALS.flush(redis_conn)
    counts = read_counts(redis_conn)
    assert [(counts[k]["yes"], counts[k]["no"]) for k in ("first", "never", "later")] == [(5, 0), (0, 5), (3, 0)]
    assert EVALS.tally("production").counts() == ({}, {})  # taken by the flush


def test_sdk_reports_are_kept_per_environment_with_their_application(client, ctx, make_flag) -> None:
    make_flag("checkout", enabled=True, variants=[{"name": "blue", "weight": 1}])
    _row, staging = service.create_token("staging sdk", actor="t", environment="staging")
    headers = {"Authorization": staging, "Unleash-SDK": "unleash-node-sdk:6.12.2"}
    toggles = {"checkout": {"yes": 5, "no": 2, "variants": {"blue": 5, "disabled": 2}}}
    assert client.post("/api/client/metrics", json=_report(toggles), headers=headers).status_code == 202
    assert client.post("/api/client/metrics", json=_report(toggles), headers=headers).status_code == 202
    staged = service.sdk_usage("staging", "checkout")
    assert (staged["yes"], staged["no"], staged["total"]) == (10, 4, 14)
    assert staged["variants"] == {"blue": 10, "disabled": 4}
    assert [(a["app"], a["sdk"]) for a in staged["apps"]] == [("checkout-web", "unleash-node-sdk:6.12.2")]
    assert service.sdk_usage("production", "checkout")["total"] == 0
    # without the header, the SDK named at registration is shown
    client.post("/api/client/register", json={"appName": "mobile", "instanceId": "i-1", "sdkVersion": "unleash-go:4.1"},
                headers={"Authorization": staging})
    client.post("/api/client/metrics", json=_report({"checkout": {"yes": 1}}, app="mobile"),
                headers={"Authorization": staging})
    assert {a["app"]: a["sdk"] for a in service.sdk_usage("staging", "checkout")["apps"]} == {
        "checkout-web": "unleash-node-sdk:6.12.2", "mobile": "unleash-go:4.1"}


def test_hostile_variant_counts_are_refused_naming_the_field(client, ctx, make_flag, token) -> None:
    make_flag("checkout", enabled=True)
    for variants in ({"x" * 1001: 1}, {f"v{i}": 1 for i in range(101)}, {"a": -1}, {"a": True}, ["a"]):
        resp = client.post("/api/client/metrics", json=_report({"checkout": {"yes": 1, "variants": variants}}),
                           headers={"Authorization": token})
        assert resp.status_code == 400 and list(resp.json["errors"]) == ["bucket.toggles.checkout.variants"]
    assert service.sdk_usage("production", "checkout")["total"] == 0  # a refused report keeps nothing


def test_the_usage_panel_shows_both_per_environment(client, admin_client, ctx, make_flag, redis_conn) -> None:
    make_flag("checkout", enabled=True)
    _row, staging = service.create_token("staging sdk", actor="t", environment="staging")
    client.post("/api/client/metrics", json=_report({"checkout": {"yes": 3, "no": 1}}, app="<b>shop</b>"),
                headers={"Authorization": staging, "Unleash-SDK": "unleash-node-sdk:6.12.2"})
    for _ in range(4):
        flags.is_enabled("checkout", {"userId": "u"})
    EVALS.flush(redis_conn)
    page = admin_client.get(f"{BASE}/checkout").get_data(as_text=True)
    assert f'hx-get="{BASE}/checkout/usage"' in page
    panel = admin_client.get(f"{BASE}/checkout/usage", headers={"HX-Request": "true"})
    html = panel.get_data(as_text=True)
    assert panel.status_code == 200 and "<html" not in html
    rows = {chunk.split('"')[0]: chunk for chunk in html.split('data-environment="')[1:]}
    assert list(rows) == ["development", "staging", "production"]
    assert ">4<" in rows["production"] and "100 % on" in rows["production"]  # NOUS's own, 24 h
    assert "75 % on" in rows["staging"] and "&lt;b&gt;shop&lt;/b&gt;" in rows["staging"]  # escaped
    assert "unleash-node-sdk:6.12.2" in rows["staging"] and "<b>shop" not in html
    assert "none in 8 days" in rows["development"]
    assert admin_client.get(f"{BASE}/no.such.flag/usage").status_code == 404


def test_the_usage_panel_is_for_the_admin_only(client) -> None:
    assert client.get(f"{BASE}/checkout/usage", headers={"HX-Request": "true"}).status_code == 401
    assert client.get(f"{BASE}/checkout/usage").status_code == 302


def test_the_usage_panel_without_redis_says_so(app, admin_client, ctx, make_flag, monkeypatch) -> None:
    make_flag("checkout", enabled=True)
    dead = redis_lib.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                           retry=Retry(NoBackoff(), 0))
    monkeypatch.setitem(app.extensions, "nous.redis", dead)
    html = admin_client.get(f"{BASE}/checkout/usage", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert html.count("Unavailable: Redis cannot be reached.") == 3
    assert '<td class="num"' not in html  # no count shown as 0 when it cannot be read


def test_the_flag_page_counts_the_environment_it_shows(admin_client, ctx, make_flag, redis_conn) -> None:
    make_flag("checkout", enabled=True)
    for _ in range(3):
        flags.is_enabled("checkout", {"userId": "u"}, environment="staging")
    flags.is_enabled("checkout", {"userId": "u"})
    EVALS.flush(redis_conn)

    def stat(page: str, label: str) -> str:
        return page.split(f"{label}</div>", 1)[1].split('class="stat-value">', 1)[1].split("<", 1)[0]

    staging = admin_client.get(f"{BASE}/checkout?env=staging").get_data(as_text=True)
    production = admin_client.get(f"{BASE}/checkout").get_data(as_text=True)
    assert stat(staging, "Evaluations in staging, 24 h") == "3"
    assert stat(production, "Evaluations in production, 24 h") == "1"


def test_the_usage_panel_in_a_browser(app, ctx, make_flag, redis_conn, tmp_path) -> None:
    import os
    from pathlib import Path

    import pytest

    from tests.support.live import LiveServer, launch_browser, signed_in_page

    playwright_api = pytest.importorskip("playwright.sync_api")
    make_flag("checkout", enabled=True, variants=[{"name": "blue", "weight": 1}])
    _row, staging = service.create_token("staging sdk", actor="t", environment="staging")
    for _ in range(5):
        flags.is_enabled("checkout", {"userId": "u"})
    EVALS.flush(redis_conn)
    server = LiveServer(app)
    shots = Path(os.environ.get("NOUS_SCREENSHOTS") or tmp_path)
    try:
        sdk = {"Authorization": staging, "Unleash-SDK": "unleash-node-sdk:6.12.2"}
        app.test_client().post("/api/client/metrics", headers=sdk,
                               json=_report({"checkout": {"yes": 8, "no": 2, "variants": {"blue": 8, "disabled": 2}}}))
        with playwright_api.sync_playwright() as p:
            browser = launch_browser(p)
            page, problems = signed_in_page(app, server.url, browser, width=1360)
            page.goto(f"{server.url}{BASE}/checkout")
            table = page.locator("#flag-usage-table")
            table.wait_for()
            staging_row = table.locator('tr[data-environment="staging"]')
            assert "80 % on" in staging_row.inner_text() and "checkout-web" in staging_row.inner_text()
            assert "blue 8" in staging_row.inner_text() and "unleash-node-sdk:6.12.2" in staging_row.inner_text()
            assert table.locator('tr[data-environment="production"] td').first.inner_text().startswith("5")
            page.locator("#usage-h").scroll_into_view_if_needed()
            page.screenshot(path=str(shots / "flag-usage.png"), full_page=False)
            browser.close()
    finally:
        server.stop()
    assert problems == []


def test_what_one_token_can_make_redis_hold_is_bounded_by_the_flags(client, ctx, make_flag, token, redis_conn,
                                                                   monkeypatch) -> None:
    import importlib

    clients = importlib.import_module("nous.flags.service.clients")  # (the package exports a function of that name)
    make_flag("checkout", enabled=True, variants=[{"name": "blue", "weight": 1}])
    made_up = {f"{'v' * 900}{i}": 1 for i in range(98)}  # with blue and disabled: the 100 allowed
    monkeypatch.setattr(clients, "APPS_KEPT", 3)
    for i in range(5):
        report = _report({"checkout": {"yes": 1, "variants": {**made_up, "blue": 2, "disabled": 1}}}, app=f"app-{i}")
        assert client.post("/api/client/metrics", json=report, headers={"Authorization": token}).status_code == 202
    kept = service.sdk_usage("production", "checkout")
    assert kept["variants"] == {"blue": 10, "disabled": 5}  # names the flag does not have are left out
    assert sorted(a["app"] for a in kept["apps"]) == ["app-0", "app-1", "app-2"]  # no more until some expire
    assert kept["yes"] == 5  # every report still counted
    again = _report({"checkout": {"yes": 1}}, app="app-1")  # one already kept is still updated
    client.post("/api/client/metrics", json=again, headers={"Authorization": token})
    assert service.sdk_usage("production", "checkout")["apps"][0]["app"] == "app-1"
