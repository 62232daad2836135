"""The delta API and the flag stream while the Redis that holds the log is away: the SDKs keep getting the
flags the process has (never a 500), a new stream is told to come back later, and an open stream carries
on across the outage and sends what changed. Each test stops a throwaway Redis of its own
(tests/adminapi/test_tokens_outages.py's `own_app`), never the shared one."""

from __future__ import annotations

import time

from nous import flags
from nous.flags import service
from tests.adminapi import test_tokens_outages
from tests.flags.test_streaming import _events

DELTA = "/api/client/delta"
STREAM = "/api/client/streaming"
own_app = test_tokens_outages.own_app  # a throwaway Redis to stop and start, and apps on it


def _setup(web, **flags: bool) -> str:
    with web.app_context():
        for key, on in flags.items():
            service.create_flag({"key": key, "enabled": on}, actor="test@nous.test", ip="127.0.0.1")
        return service.create_token("outage", actor="test@nous.test")[1]


def test_delta_while_redis_is_down_answers_the_flags_with_an_etag_that_is_no_log_position(own_app) -> None:
    make, server = own_app
    web = make()
    raw = _setup(web, **{"o.on": True, "o.off": False})
    client = web.test_client()
    logged = client.get(DELTA, headers={"Authorization": raw})
    assert logged.status_code == 200 and "." in logged.headers["ETag"]

    server.stop()
    started = time.monotonic()
    down = client.get(DELTA, headers={"Authorization": raw, "If-None-Match": logged.headers["ETag"]})
    assert down.status_code == 200
    (event,) = down.get_json()["events"]
    assert event["type"] == "hydration"
    assert {f["name"]: f["enabled"] for f in event["features"]} == {"o.on": True, "o.off": False}
    assert "." not in down.headers["ETag"]  # never read back as a position in the log
    again = client.get(DELTA, headers={"Authorization": raw, "If-None-Match": down.headers["ETag"]})
    assert again.status_code == 304
    assert time.monotonic() - started < 10  # no long hangs on the dead server

    server.start()
    back = client.get(DELTA, headers={"Authorization": raw, "If-None-Match": down.headers["ETag"]})
    assert back.status_code == 200 and "." in back.headers["ETag"]
    assert [e["type"] for e in back.get_json()["events"]] == ["hydration"]


def test_a_change_by_a_process_gone_before_redis_came_back_reaches_the_log_and_every_process(own_app) -> None:
    """A CLI command run while Redis is away cannot announce its change and has ended when Redis comes back
    with the version it had. A web process that reloaded during the outage announces once Redis answers, so
    the delta log gets the change and a process that never looked during the outage reloads too."""
    make, server = own_app
    web, idle = make(), make()
    raw = _setup(web, **{"o.cli": False})
    web.extensions["nous.flags"].offline_reload = 0.2  # (5 s in production)
    client = web.test_client()
    before = client.get(DELTA, headers={"Authorization": raw}).headers["ETag"]
    with idle.app_context():
        assert flags.is_enabled("o.cli") is False

    server.stop(keep_data=True)
    shell = make()
    with shell.app_context():
        service.set_enabled("o.cli", True, actor="cli")  # cannot be announced; this process then ends
    time.sleep(0.3)
    during = client.get(DELTA, headers={"Authorization": raw, "If-None-Match": before}).get_json()["events"]
    assert {f["name"]: f["enabled"] for f in during[0]["features"]} == {"o.cli": True}

    server.start()
    back = client.get(DELTA, headers={"Authorization": raw, "If-None-Match": before})
    assert back.status_code == 200 and back.headers["ETag"] != before and "." in back.headers["ETag"]
    sent = [f for e in back.get_json()["events"] for f in (e.get("features") or [e.get("feature") or {}])]
    assert {"name": "o.cli", "enabled": True} in [{"name": f.get("name"), "enabled": f.get("enabled")} for f in sent]
    with idle.app_context():
        idle.extensions["nous.flags"].recheck()
        assert flags.is_enabled("o.cli") is True  # it never looked during the outage, and follows now


def test_a_new_stream_while_redis_is_down_is_503_with_retry_after(own_app) -> None:
    make, server = own_app
    web = make()
    raw = _setup(web, **{"o.on": True})
    server.stop()
    resp = web.test_client().get(STREAM, headers={"Authorization": raw, "Accept": "text/event-stream"})
    assert resp.status_code == 503 and int(resp.headers["Retry-After"]) > 0


def _state_sent(chunks, key: str, enabled: bool) -> str:
    """The id of the first event that tells the SDK `key` is `enabled` (a hydration or an update)."""
    started = time.monotonic()
    while True:
        assert time.monotonic() - started < 10, f"{key} never sent as {enabled}"
        for _name, event_id, data in _events([next(chunks)]):
            for event in data["events"]:
                features = event.get("features") or [event.get("feature") or {}]
                if any(f.get("name") == key and f.get("enabled") is enabled for f in features):
                    return event_id


def _connected_stream(web, raw: str):
    """A stream opened with token `raw`, its first event (unleash-connected) read: (response, chunks)."""
    resp = web.test_client().get(STREAM, headers={"Authorization": raw, "Accept": "text/event-stream"},
                                 buffered=False)
    chunks = iter(resp.response)
    ((name, _id, _data),) = _events([next(chunks)])
    assert name == "unleash-connected"
    return resp, chunks


def test_an_open_stream_carries_on_across_a_redis_outage_and_sends_each_change(own_app) -> None:
    make, server = own_app
    web = make()
    raw = _setup(web, **{"o.one": False})
    resp, chunks = _connected_stream(web, raw)
    try:
        server.stop()
        with web.app_context():
            service.set_enabled("o.one", True, actor="t")  # made while the log cannot be written
        event_id = _state_sent(chunks, "o.one", True)
        assert "." not in event_id  # the flags the process read, under no log position

        server.start()  # empty: the log and its epoch are gone
        with web.app_context():
            service.set_enabled("o.one", False, actor="t")
        event_id = _state_sent(chunks, "o.one", False)
        assert "." in event_id  # a position in the new log again
    finally:
        resp.close()


def test_an_outage_the_follower_saw_before_the_stream_ran_again_still_sends_the_change(own_app) -> None:
    """The follower looks at Redis in its own thread; an outage (and a change) it saw between two steps of
    the stream, before the stream waited again, must not be lost until the heartbeat."""
    from nous.flags.streaming import follower

    make, server = own_app
    web = make()
    raw = _setup(web, **{"o.two": False})
    resp, chunks = _connected_stream(web, raw)
    try:
        follow = follower(web)

        def follower_moves_past(generation: int) -> None:
            deadline = time.monotonic() + 5
            while follow.generation <= generation and time.monotonic() < deadline:
                time.sleep(0.05)
            assert follow.generation > generation

        follower_moves_past(0)  # its first look at the version
        before = follow.generation
        server.stop()
        with web.app_context():
            service.set_enabled("o.two", True, actor="t")
        follower_moves_past(before)  # it has seen Redis go, before the stream takes its next step
        started = time.monotonic()
        assert "." not in _state_sent(chunks, "o.two", True)
        assert time.monotonic() - started < 5  # not the 20 s heartbeat
    finally:
        resp.close()
