"""`/ws/live` over real sockets: gunicorn's threaded workers, events from other processes, refusals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from simple_websocket import ConnectionClosed
from simple_websocket import ConnectionError as HandshakeRefused

from tests.conftest import ROOT
from tests.live.conftest import events, open_socket, receive_until, sign_in, start_gunicorn, wait_hub_idle
from tests.support.live import LiveServer

# Another process: the real collector takes a sample (and publishes it), then a job event is published.
ANOTHER_PROCESS = """
import json, sys
from nous import create_app
from nous.live import collector, publish
with create_app().app_context():
    print(json.dumps(collector.collect().as_event()))
    publish("jobs", {"job_id": sys.argv[1], "task": "email.send", "status": "failed", "error": "SMTP 554"})
"""


def test_admin_gets_metrics_and_job_events_made_in_other_processes(app, gunicorn_web) -> None:
    http = sign_in(app, gunicorn_web)
    ws = open_socket(gunicorn_web, http)
    try:
        hello = receive_until(ws, lambda m: True)
        assert hello["type"] == "hello" and set(hello["topics"]) == {"metrics", "jobs", "feedback", "alerts", "flags",
                                                                    "testers", "workflows"}

        other = subprocess.run([sys.executable, "-c", ANOTHER_PROCESS, "job-7f3a"], cwd=ROOT, capture_output=True,
                               text=True, timeout=120)
        assert other.returncode == 0, other.stderr
        sample = json.loads(other.stdout.strip().splitlines()[-1])
        metrics = receive_until(ws, lambda m: m["type"] == "event" and m["topic"] == "metrics")
        assert metrics["data"]["at"] == sample["at"]
        assert 0 <= metrics["data"]["cpu_percent"] <= 100 and metrics["data"]["memory_percent"] > 0
        job = receive_until(ws, lambda m: m["type"] == "event" and m["topic"] == "jobs")
        assert job["data"] == {"job_id": "job-7f3a", "task": "email.send", "status": "failed", "error": "SMTP 554"}
    finally:
        ws.close()


def test_anonymous_socket_is_refused_before_the_handshake(app, gunicorn_web) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        open_socket(gunicorn_web)
    assert refused.value.status_code == 401


@pytest.mark.parametrize("origin", ["https://evil.example", "http://127.0.0.1:1", None])
def test_foreign_or_missing_origin_is_refused_even_for_the_admin(app, gunicorn_web, origin) -> None:
    http = sign_in(app, gunicorn_web)
    with pytest.raises(HandshakeRefused) as refused:
        open_socket(gunicorn_web, http, origin=origin)
    assert refused.value.status_code == 403


def test_last_events_are_replayed_on_connect_and_after_resumes(app, gunicorn_web) -> None:
    from nous.live import publish

    with app.app_context():
        for n in range(3):
            publish("feedback", {"id": n, "action": "created", "rating": 5 - n})
        publish("flags", {"key": "new-onboarding", "action": "enabled"})
    http = sign_in(app, gunicorn_web)

    ws = open_socket(gunicorn_web, http)
    replayed = events(ws, 4)
    assert receive_until(ws, lambda m: True) == {"type": "replayed", "count": 4}
    ws.close()
    assert [(e["topic"], e["data"].get("id", e["data"].get("key"))) for e in replayed] == [
        ("feedback", 0), ("feedback", 1), ("feedback", 2), ("flags", "new-onboarding")]

    ws = open_socket(gunicorn_web, http, query=f"after={replayed[1]['id']}&topics=feedback")
    try:
        assert [e["data"]["id"] for e in events(ws, 1)] == [2]  # only what came after, only the topic asked for
        with app.app_context():
            publish("flags", {"key": "ignored", "action": "disabled"})
            publish("feedback", {"id": 3, "action": "created", "rating": 1})
        assert events(ws, 1)[0]["data"]["id"] == 3
    finally:
        ws.close()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["sigterm-drain", "ctrl-c-quick"])
def test_shutdown_closes_sockets_at_once_and_refuses_new_ones_while_draining(app, sig) -> None:
    """A drain (SIGTERM) or a quick shutdown (Ctrl-C) never waits on open live sockets until the
    graceful timeout (30 s): they close with 1012, "service restart", and the browser reconnects elsewhere."""
    base, proc = start_gunicorn(DRAIN_SECONDS="1.5")
    try:
        http = sign_in(app, base)
        ws = open_socket(base, http)
        receive_until(ws, lambda m: m["type"] == "hello")
        stopped_at = time.monotonic()
        proc.send_signal(sig)
        with pytest.raises(ConnectionClosed) as closed:
            while time.monotonic() - stopped_at < 5:
                ws.receive(timeout=0.2)
        assert closed.value.reason == 1012
        assert time.monotonic() - stopped_at < 3
        if sig == signal.SIGTERM:
            with pytest.raises(HandshakeRefused) as refused:  # still serving while draining, but not new sockets
                open_socket(base, http)
            assert refused.value.status_code == 503
        assert proc.wait(timeout=15) == 0  # a clean exit, well before the graceful timeout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


# --- one process in the test: heartbeats, capacity, no database connection while idle ------------

@pytest.fixture(scope="module")
def small_server(app):
    from nous import create_app

    live_app = create_app({"LIVE_HEARTBEAT_SECONDS": 0.4, "LIVE_MAX_SOCKETS": 2})
    server = LiveServer(live_app)
    yield live_app, server.url
    server.stop()
    wait_hub_idle(live_app)


def test_idle_socket_gets_pings_holds_no_db_connection_and_silent_clients_are_dropped(app, small_server) -> None:
    from nous.extensions import db

    live_app, base = small_server
    http = sign_in(app, base)
    ws = open_socket(base, http)
    assert receive_until(ws, lambda m: m["type"] == "hello")["heartbeat"] == 0.4
    ping = receive_until(ws, lambda m: m["type"] == "ping", timeout=3)
    assert ping["at"] == pytest.approx(time.time(), abs=5)
    with live_app.app_context():
        assert db.engine.pool.checkedout() == 0  # the open socket holds no connection
    # This client never answers the pings: after three heartbeats the server closes the socket.
    deadline = time.monotonic() + 5
    with pytest.raises(ConnectionClosed) as closed:
        while time.monotonic() < deadline:
            ws.receive(timeout=0.2)
    assert closed.value.reason == 1001


def test_a_process_holds_at_most_its_socket_allowance(app, small_server) -> None:
    _, base = small_server
    http = sign_in(app, base)
    sockets = [open_socket(base, http) for _ in range(2)]
    try:
        for ws in sockets:
            receive_until(ws, lambda m: m["type"] == "hello")
        with pytest.raises(HandshakeRefused) as refused:
            open_socket(base, http)
        assert refused.value.status_code == 503
    finally:
        for ws in sockets:
            ws.close()
