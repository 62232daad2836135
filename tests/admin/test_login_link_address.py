"""`flask nous login-link` from another shell links to the server that actually runs (gunicorn records
where it listens in the instance folder), unless SYSTEM_BASE_URL says otherwise."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from nous import server_address
from tests.conftest import ROOT, run_cli
from tests.support.live import free_port, wait_port


@pytest.fixture
def gunicorn(app, tmp_path):
    """gunicorn with the project's config on a spare port, PORT unset, its own instance folder."""
    port = free_port()
    instance = tmp_path / "instance"
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "SYSTEM_BASE_URL"}}
    env.update({"NOUS_INSTANCE_PATH": str(instance), "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "4",
                "DRAIN_SECONDS": "0", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")})
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"0.0.0.0:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        yield port, instance, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _link(instance: Path, **env: str) -> str:
    out = run_cli("nous", "login-link", env={"NOUS_INSTANCE_PATH": str(instance), **env})
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _wait_for(predicate, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_link_points_at_the_port_the_server_runs_on(gunicorn, monkeypatch) -> None:
    port, instance, proc = gunicorn
    monkeypatch.delenv("PORT", raising=False)
    _wait_for(lambda: server_address.recorded(instance) is not None)
    link = _link(instance)  # a second shell: no PORT, no SYSTEM_BASE_URL
    assert link.startswith(f"http://127.0.0.1:{port}/admin/login/link/")
    page = requests.get(link, timeout=20)  # the link works on that server
    assert page.status_code == 200 and "csrf_token" in page.text

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert server_address.recorded(instance) is None  # a stopped server takes its record away


def test_a_configured_address_still_wins(app, tmp_path) -> None:
    server_address.record(tmp_path, ["http://127.0.0.1:8123"], os.getpid())  # a server runs (this process)
    assert _link(tmp_path, SYSTEM_BASE_URL="https://beta.nous.example").startswith(
        "https://beta.nous.example/admin/login/link/")


def test_a_record_left_by_a_server_that_died_is_ignored(tmp_path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    server_address.record(tmp_path, ["http://127.0.0.1:8123"], dead.pid)
    assert server_address.recorded(tmp_path) is None
    server_address.record(tmp_path, ["http://127.0.0.1:8123"], os.getpid())
    assert server_address.recorded(tmp_path) == "http://127.0.0.1:8123"
    config = {"SYSTEM_BASE_URL": "http://127.0.0.1:5000", "PORT": 5000, "INSTANCE_PATH": str(tmp_path)}
    assert server_address.base_url(config) == "http://127.0.0.1:8123"
    assert server_address.base_url({**config, "SYSTEM_BASE_URL": "https://b.example"}) == "https://b.example"
    server_address.forget(tmp_path, pid=os.getpid() + 1)  # not its record: kept
    assert server_address.recorded(tmp_path) == "http://127.0.0.1:8123"
    server_address.forget(tmp_path, pid=os.getpid())
    assert server_address.recorded(tmp_path) is None


@pytest.mark.parametrize(("listeners", "url"), [
    (["http://0.0.0.0:8000"], "http://127.0.0.1:8000"),
    (["http://[::]:8000"], "http://[::1]:8000"),
    (["unix:/run/nous.sock", "https://10.0.0.5:8443"], "https://10.0.0.5:8443"),
    (["unix:/run/nous.sock"], None),
])
def test_the_address_recorded_for_a_listener(listeners, url) -> None:
    assert server_address.base_url_of(listeners) == url


def test_a_damaged_record_is_ignored(tmp_path) -> None:
    (tmp_path / server_address.RECORD_NAME).write_text('{"base_url": "javascript:alert(1)", "pid": 1}')
    assert server_address.recorded(tmp_path) is None
    (tmp_path / server_address.RECORD_NAME).write_text("not json")
    assert server_address.recorded(tmp_path) is None
