"""Health endpoints: liveness, readiness, the IETF health document, metrics."""

from __future__ import annotations

import http.server
import re
import threading

import pytest

from nous.dbmonitor.monitor import STATS as query_stats
from nous.health import service

REQUIRED_CHECKS = {"database:responseTime", "redis:responseTime", "queue:depth", "workers:count",
                   "cpu:utilization", "memory:utilization", "disk:utilization", "smtp:responseTime"}


def test_healthz_is_fast_and_touches_no_database(client) -> None:
    before = query_stats.total
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "pass"}
    assert query_stats.total == before
    assert "Set-Cookie" not in resp.headers


def test_healthz_answers_head_and_refuses_other_methods(client) -> None:
    head = client.head("/healthz")
    assert head.status_code == 200 and head.data == b"" and head.headers["X-Content-Type-Options"] == "nosniff"
    assert client.post("/healthz").status_code == 405
    assert client.get("/healthz?probe=lb").get_json() == {"status": "pass"}


def test_healthz_is_answered_before_flask_runs_any_request_hook(app, client) -> None:
    seen: list[str] = []
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(lambda: seen.append("hook"))
    try:
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200  # the hook itself works
    finally:
        hooks.pop()
    assert seen == ["hook"]


def test_readyz_passes_and_explains_itself(client) -> None:
    assert client.get("/readyz").get_json() == {"status": "pass"}
    text = client.get("/readyz?verbose").get_data(as_text=True)
    assert "[+]database ok" in text and "[+]redis ok" in text


def test_readyz_fails_while_draining(client) -> None:
    service.DRAINING.set()
    resp = client.get("/readyz?verbose")
    assert resp.status_code == 503
    assert "[-]shutdown failed: draining" in resp.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200


def test_detailed_follows_the_health_check_format(client) -> None:
    resp = client.get("/health/detailed")  # the test client comes from 127.0.0.1 and no token is set
    assert resp.mimetype == "application/health+json"
    doc = resp.get_json()
    assert doc["status"] in {"pass", "warn"} and resp.status_code == 200
    assert {"version", "releaseId", "checks"} <= doc.keys()
    assert REQUIRED_CHECKS <= doc["checks"].keys()
    for name, results in doc["checks"].items():
        for r in results:
            assert {"componentType", "observedValue", "observedUnit", "status", "time"} <= r.keys(), name
            if r["status"] != "pass":
                assert r["output"], name
    assert doc["checks"]["workers:count"][0]["status"] == "warn"  # no worker runs in this test


def test_details_need_the_token_when_one_is_configured(app, client) -> None:
    app.config["HEALTH_TOKEN"] = "monitor-token"
    try:
        assert client.get("/health/detailed").get_json().keys() == {"status"}
        assert client.get("/health/detailed", headers={"Authorization": "Bearer wrong"}).get_json().keys() == {"status"}
        full = client.get("/health/detailed", headers={"Authorization": "Bearer monitor-token"}).get_json()
        assert "checks" in full
        assert client.get("/health/metrics").status_code == 403
        assert client.get("/metrics").status_code == 403
        assert client.get("/metrics", headers={"Authorization": "Bearer monitor-token"}).status_code == 200
    finally:
        app.config["HEALTH_TOKEN"] = ""


def test_details_are_hidden_from_remote_callers_without_token(client) -> None:
    resp = client.get("/health/detailed", environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert resp.get_json() == {"status": resp.get_json()["status"]}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def probe_target():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_configured_probes_are_checked(ctx, client, probe_target) -> None:
    from nous.settings import service as settings

    settings.set_value("outbound.allowed_networks", ["127.0.0.1"], actor="test")  # the probed server is local
    settings.set_value("health.probes", [
        {"name": "model", "url": f"{probe_target}/ok", "expect_status": 200},
        {"name": "search", "url": f"{probe_target}/broken", "expect_status": 200},
    ], actor="test")
    checks = client.get("/health/detailed").get_json()["checks"]
    assert checks["probe:model:responseTime"][0]["status"] == "pass"
    broken = checks["probe:search:responseTime"][0]
    assert broken["status"] == "warn" and "answered 500, expected 200" in broken["output"]


def test_metrics_are_aggregated_from_every_process(app, client, redis_conn) -> None:
    """Counts flushed by another process (here: a subprocess) show up next to ours."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("from nous import create_app\n"
            "app = create_app()\n"
            "c = app.test_client()\n"
            "for _ in range(7): c.get('/openapi.json')\n"
            "from nous.telemetry.requests import STATS\n"
            "from nous.extensions import get_redis\n"
            "with app.app_context(): STATS.flush(get_redis())\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60, capture_output=True)
    from nous.telemetry.requests import STATS

    STATS.reset()
    for _ in range(3):
        client.get("/openapi.json")
    client.get("/health/nothing-here")
    STATS.flush(redis_conn)
    data = client.get("/health/metrics").get_json()
    assert data["requests"]["endpoints"]["openapi.openapi_json"]["requests"] == 10
    assert data["requests"]["endpoints"]["openapi.openapi_json"]["by_status"] == {"2xx": 10}
    assert data["requests"]["endpoints"]["unmatched"]["by_status"] == {"4xx": 1}
    assert "health.healthz" not in data["requests"]["endpoints"]  # liveness probes are not counted
    assert data["requests"]["latency_ms"]["p95"] is not None
    assert set(data["queues"]) == {"high", "default", "low"}
    assert "by_type" in data["database"]


def test_prometheus_exposition(client) -> None:
    client.get("/openapi.json")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'nous_http_requests_total{endpoint="openapi.openapi_json",method="GET",status="200"}' in text
    assert "nous_http_request_duration_seconds_bucket" in text


def test_errors_are_json_on_api_paths_and_never_500(client) -> None:
    resp = client.post("/healthz")
    assert resp.status_code == 405 and resp.get_json()["error"] == "Method Not Allowed"
    assert client.get("/health/nothing").get_json()["error"] == "Not Found"
    bad = client.get("/health/metrics?window=abc")
    assert bad.status_code == 400 and bad.get_json()["errors"] == {"window": "must be a whole number from 10 to 3600"}


def test_openapi_documents_every_public_route(app, client) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    rules = {r.rule.replace("<", "{").replace(">", "}").split(":")[-1]: r for r in app.url_map.iter_rules()}
    normalized: dict[str, set[str]] = {}  # a path's methods, from every rule serving it
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule)  # <converter:name> → {name}
        normalized.setdefault(path, set()).update(rule.methods or ())
    for path, ops in doc["paths"].items():
        assert path in normalized, f"{path} is documented but not served"
        for method in ops:
            assert method.upper() in normalized[path], f"{method} {path} is documented but not served"
    public = [p for p in normalized  # /api/docs is the reference page for people, not an operation
              if (p.startswith("/api/") and p != "/api/docs") or p in {"/healthz", "/readyz", "/metrics"}
              or p.startswith("/health/")]
    for path in public:
        assert path in doc["paths"], f"{path} is served but not documented"
    assert rules
