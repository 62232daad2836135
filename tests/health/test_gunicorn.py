"""The web process as it runs in production: gunicorn with threaded workers."""

from __future__ import annotations

import http.server
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from tests.conftest import ROOT
from tests.support.live import free_port, wait_port


@pytest.fixture
def gunicorn(app, tmp_path):
    """Start gunicorn with the project's config; yields (base url, process)."""
    procs = []

    def start(workers: int = 2, drain: float = 0) -> tuple[str, subprocess.Popen]:
        port = free_port()
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"prom-{port}"),
               "WEB_CONCURRENCY": str(workers), "DRAIN_SECONDS": str(drain), "GUNICORN_THREADS": "4",
               "LOG_LEVEL": "WARNING"}
        proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                 "--bind", f"127.0.0.1:{port}"],
                                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while requests.get(f"{base}/readyz", timeout=20).status_code != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        return base, proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def test_prometheus_counts_every_worker(gunicorn) -> None:
    base, _ = gunicorn(workers=2)
    for _ in range(40):
        requests.get(f"{base}/openapi.json", headers={"Connection": "close"}, timeout=20)
    text = requests.get(f"{base}/metrics", timeout=20).text
    line = next(ln for ln in text.splitlines()
                if ln.startswith('nous_http_requests_total{endpoint="openapi.openapi_json",method="GET",status="200"}'))
    assert float(line.split()[-1]) == 40.0


class _Slow(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        time.sleep(2.5)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_sigterm_fails_readiness_first_and_finishes_inflight_requests(gunicorn, ctx) -> None:
    from nous.settings import service as settings

    slow = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=slow.serve_forever, daemon=True).start()
    settings.set_value("health.probes",
                       [{"name": "slow", "url": f"http://127.0.0.1:{slow.server_port}/", "timeout": 10}],
                       actor="test")
    settings.set_value("outbound.allowed_networks", ["127.0.0.1"], actor="test")  # the probed server is local
    try:
        base, proc = gunicorn(workers=1, drain=1.5)
        result: dict = {}

        def inflight() -> None:
            result["resp"] = requests.get(f"{base}/health/detailed", timeout=30)

        t = threading.Thread(target=inflight)
        t.start()
        time.sleep(0.5)  # the slow request is now being served
        proc.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        ready = requests.get(f"{base}/readyz?verbose", timeout=20)
        assert ready.status_code == 503 and "draining" in ready.text
        t.join(timeout=30)
        checks = result["resp"].json()["checks"]  # the request that was in flight got its full answer
        assert checks["probe:slow:responseTime"][0]["status"] == "pass"
        assert checks["shutdown:draining"][0]["status"] == "fail"
        assert proc.wait(timeout=30) == 0
    finally:
        slow.shutdown()


def test_bad_configuration_stops_gunicorn_with_one_line(tmp_path) -> None:
    """Before any worker boots: a worker that cannot load the app would be started again forever."""
    env = {**os.environ, "DATABASE_URL": "mysql://u@h/db", "NOUS_INSTANCE_PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
                           f"127.0.0.1:{free_port()}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("configuration error: DATABASE_URL: scheme must be one of sqlite, postgresql, "
                                   "postgresql+psycopg, postgres, got 'mysql'")
    assert proc.stdout == ""


def test_requests_are_parsed_by_gunicorns_c_parser():
    """gunicorn.conf.py with the pinned gunicorn_h1c: gunicorn's "auto" parser is the C one (a flag in the
    config that it does not support would silently bring back the Python parser, a tenth of each request)."""
    from gunicorn.app.base import Application
    from gunicorn.http.message import _check_fast_parser

    class _Config(Application):
        def init(self, parser, opts, args):
            return None

        def load(self):
            return None

    app = _Config.__new__(_Config)
    app.usage, app.prog, app.callable = None, None, None
    app.cfg = None
    app.load_default_config()
    app.load_config_from_file(str(ROOT / "gunicorn.conf.py"))
    assert app.cfg.http_parser == "auto"
    assert _check_fast_parser(app.cfg) is True
