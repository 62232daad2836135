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
