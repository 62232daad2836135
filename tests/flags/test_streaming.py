"""Unleash's streaming API (nous.flags.streaming) in process: the first event (a hydration, or what was
missed after Last-Event-ID), change events with ids, the per-process cap and the drain."""

from __future__ import annotations

import json

import pytest

from nous.flags import service
from nous.health.service import DRAINING

PATH = "/api/client/streaming"


def _events(chunks) -> list[tuple[str, str | None, dict]]:
    out = []
    for chunk in chunks:
        for block in chunk.decode().split("\n\n"):
            fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
            if "event" in fields:
                out.append((fields["event"], fields.get("id"), json.loads(fields["data"])))
    return out


def _open(client, token, last_event_id=None):
    headers = {"Authorization": token, "Accept": "text/event-stream"}
    if last_event_id:
        headers["Last-Event-ID"] = last_event_id
    resp = client.get(PATH, headers=headers, buffered=False)
    return resp, iter(resp.response)


def test_a_new_stream_starts_with_a_hydration_then_sends_each_change(client, make_flag, token) -> None:
    make_flag("s.one", enabled=False)
    resp, chunks = _open(client, token)
    try:
        assert resp.status_code == 200 and resp.mimetype == "text/event-stream"
        ((name, first_id, data),) = _events([next(chunks)])
        assert name == "unleash-connected" and data["events"][0]["type"] == "hydration"
        assert data["events"][0]["features"][0]["name"] == "s.one"
        service.set_enabled("s.one", True, actor="t")
        ((name, event_id, data),) = _events([next(chunks)])
        assert name == "unleash-updated" and event_id != first_id
        (event,) = data["events"]
        assert event["type"] == "feature-updated" and event["feature"]["enabled"] is True
        assert event_id.endswith(f".{event['eventId']}")
    finally:
        resp.close()


def test_a_reconnect_with_last_event_id_gets_only_what_it_missed(client, make_flag, token) -> None:
    make_flag("s.one", enabled=False)
    resp, chunks = _open(client, token)
    ((_name, held, _data),) = _events([next(chunks)])
    resp.close()
    service.set_enabled("s.one", True, actor="t")
    resp, chunks = _open(client, token, held)
    try:
        ((name, _id, data),) = _events([next(chunks)])
        assert name == "unleash-updated"
        assert [(e["type"], e["feature"]["enabled"]) for e in data["events"]] == [("feature-updated", True)]
    finally:
        resp.close()
    resp, chunks = _open(client, token, '"not-ours.3"')
    try:
        assert _events([next(chunks)])[0][0] == "unleash-connected"
    finally:
        resp.close()


def test_streams_are_capped_per_process(app, client, make_flag, token) -> None:
    make_flag("s.one", enabled=True)
    app.config["FLAGS_MAX_STREAMS"] = 1
    try:
        resp, chunks = _open(client, token)
        next(chunks)
        refused = client.get(PATH, headers={"Authorization": token, "Accept": "text/event-stream"})
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        resp.close()
        again, chunks = _open(client, token)
        assert again.status_code == 200
        again.close()
    finally:
        app.config.pop("FLAGS_MAX_STREAMS")


@pytest.fixture
def draining():
    yield DRAINING
    DRAINING.clear()


def test_a_draining_process_ends_its_streams_and_refuses_new_ones(client, make_flag, token, draining) -> None:
    make_flag("s.one", enabled=True)
    _resp, chunks = _open(client, token)
    next(chunks)
    draining.set()
    assert list(chunks) == []  # the stream ends: the SDK reconnects, to another instance
    assert client.get(PATH, headers={"Authorization": token, "Accept": "text/event-stream"}).status_code == 503


def test_a_request_that_does_not_accept_an_event_stream_is_406(client, token) -> None:
    assert client.get(PATH, headers={"Authorization": token}).status_code == 406


def test_a_stream_whose_log_redis_lost_sends_a_fresh_hydration(client, make_flag, token, redis_conn) -> None:
    make_flag("s.one", enabled=False)
    resp, chunks = _open(client, token)
    try:
        ((_name, first_id, _data),) = _events([next(chunks)])
        for key in redis_conn.scan_iter("nous:flags:delta:*"):
            redis_conn.delete(key)  # what a Redis restarted empty holds of the log
        service.set_enabled("s.one", True, actor="t")
        ((name, event_id, data),) = _events([next(chunks)])
        assert name == "unleash-connected" and event_id.split(".")[0] != first_id.split(".")[0]
        assert data["events"][0]["type"] == "hydration" and data["events"][0]["features"][0]["enabled"] is True
    finally:
        resp.close()


def test_every_stream_of_a_process_gets_each_change(app, make_flag, token) -> None:
    """A change made in another process wakes every stream at once and each brings the log up to date; one
    that finds another thread reloading the flags waits for that reload rather than answer from the flags it
    had (and so miss the change until the next one)."""
    import contextlib
    import queue
    import threading
    import time

    from nous import create_app
    from nous.extensions import db
    from tests.flags.test_delta_sdk import SEEN_WITHIN_MS

    make_flag("s.many", enabled=False)
    arrived: queue.Queue = queue.Queue()
    opened = threading.Barrier(7)
    streams = []

    def listen() -> None:
        resp, chunks = _open(app.test_client(), token)
        streams.append(resp)
        next(chunks)  # the hydration
        opened.wait(10)
        for chunk in chunks:
            for _name, _id, data in _events([chunk]):
                if any(e.get("feature", {}).get("enabled") is True for e in data["events"]):
                    arrived.put(time.monotonic())
                    return

    threads = [threading.Thread(target=listen, daemon=True) for _ in range(6)]
    for t in threads:
        t.start()
    other = create_app()  # another process, as far as the flags go: its own copy, the same database and Redis
    opened.wait(10)
    changed = time.monotonic()
    with other.app_context():
        service.set_enabled("s.many", True, actor="t")
        db.session.remove()
        db.engine.dispose()  # (its connections would keep the test database from being dropped)
    try:
        delays = [arrived.get(timeout=SEEN_WITHIN_MS / 1000 + 1) - changed for _ in threads]
    finally:
        for t in threads:
            t.join(timeout=0.1)
        for resp in streams:
            with contextlib.suppress(ValueError):  # a listener still waiting (the failure case)
                resp.close()
    assert max(delays) < SEEN_WITHIN_MS / 1000
