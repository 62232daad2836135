"""An open `/ws/live` socket follows its session and survives a Redis that lost its events."""

from __future__ import annotations

import contextlib
import re
import time

import requests
from simple_websocket import ConnectionClosed

from nous.extensions import get_redis
from nous.live import events
from tests.live.conftest import open_socket, receive_until, sign_in
from tests.live.test_events import FakeSocket, serve_in_thread


def closed_within(ws, seconds: float) -> tuple[float, ConnectionClosed]:
    """Seconds until the server closes the socket (frames before that are read and dropped)."""
    start = time.monotonic()
    while True:
        assert time.monotonic() - start < seconds, f"socket still open after {seconds} s"
        try:
            ws.receive(timeout=0.1)
        except ConnectionClosed as closed:
            return time.monotonic() - start, closed


def sign_out(http: requests.Session, base: str) -> None:
    page = http.get(f"{base}/admin/beta/", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    assert http.post(f"{base}/admin/logout", data={"csrf_token": csrf}, timeout=10).status_code == 200


def test_an_open_socket_closes_when_its_session_is_signed_out(app, gunicorn_web) -> None:
    admin = sign_in(app, gunicorn_web)
    copy = requests.Session()
    copy.cookies.update(admin.cookies)
    ws = open_socket(gunicorn_web, copy)  # a copy of the cookie holds a socket open
    try:
        assert receive_until(ws, lambda m: True)["type"] == "hello"
        sign_out(admin, gunicorn_web)
        took, closed = closed_within(ws, 3.0)
    finally:
        with contextlib.suppress(ConnectionClosed):
            ws.close()
    assert took < 2.0
    assert closed.reason == 1008 and closed.message == "signed out"


def test_a_socket_of_another_session_stays_open_when_one_signs_out(app, gunicorn_web) -> None:
    staying, leaving = sign_in(app, gunicorn_web), sign_in(app, gunicorn_web)
    ws = open_socket(gunicorn_web, staying)
    try:
        assert receive_until(ws, lambda m: True)["type"] == "hello"
        sign_out(leaving, gunicorn_web)
        with app.app_context():
            events.publish("flags", {"id": 1, "key": "still-here", "action": "updated"})
        event = receive_until(ws, lambda m: m["type"] == "event" and m["topic"] == "flags")
        assert event["data"]["key"] == "still-here"
    finally:
        ws.close()


def test_after_a_flush_a_client_resuming_from_an_older_id_gets_the_new_events(app, ctx) -> None:
    conn = get_redis()
    events.publish("jobs", {"n": "before"})
    for _ in range(5):
        events.publish("flags", {"n": "before"})
    seen = events.replay(conn, events.TOPICS)[-1][0]  # the browser's last id
    conn.flushdb()  # Redis restarted empty
    events.publish("jobs", {"n": "after 1"})

    ws = FakeSocket()
    thread, _ = serve_in_thread(app, ws, after=seen)
    assert ws.next()["data"] == {"n": "after 1"}  # replayed: the new history is not hidden by the old id
    assert ws.next("replayed")["count"] == 1
    events.publish("flags", {"n": "after 2"})
    assert ws.next()["data"] == {"n": "after 2"}  # and live events are not dropped as "already sent"
    ws.connected = False
    thread.join(timeout=5)


def test_ids_keep_growing_across_a_flush(app, ctx) -> None:
    conn = get_redis()
    for _ in range(3):
        events.publish("jobs", {"n": 1})
    before = events.replay(conn, ("jobs",))[-1][0]
    conn.flushdb()
    events.publish("alerts", {"n": 2})
    after = events.replay(conn, ("alerts",))[-1][0]
    assert events.id_key(after) > events.id_key(before)


def test_an_id_ahead_of_the_newest_event_replays_from_the_start(app, ctx) -> None:
    """A Redis replaced by one whose clock is behind: an `after` from the other history hides nothing."""
    events.publish("jobs", {"n": 1})
    events.publish("flags", {"n": 2})
    ws = FakeSocket()
    thread, _ = serve_in_thread(app, ws, after="99999999999999999-0")
    assert [ws.next()["data"]["n"] for _ in range(2)] == [1, 2]
    assert ws.next("replayed")["count"] == 2
    ws.connected = False
    thread.join(timeout=5)
