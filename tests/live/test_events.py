"""Publishing and fan-out through a real Redis: streams for replay, pub/sub for live delivery."""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from typing import Any

import pytest
from simple_websocket import ConnectionClosed

from nous.live import events, hub
from tests.support.live import ThrowawayRedis


class FakeSocket:
    """Stands in for the browser's end of a socket: records frames, can go quiet or close."""

    def __init__(self) -> None:
        self.connected = True
        self.sent: queue.Queue[dict[str, Any]] = queue.Queue()
        self.closed: tuple[int | None, str | None] | None = None
        self.answers = True
        self.unanswered = 0

    def send(self, data: str) -> None:
        frame = json.loads(data)
        if frame["type"] == "ping" and self.answers:
            self.unanswered += 1
        self.sent.put(frame)

    def receive(self, timeout: float | None = None) -> str | None:
        if not self.connected:
            raise ConnectionClosed()
        if self.unanswered:
            self.unanswered -= 1
            return '{"type":"pong"}'
        return None

    def close(self, reason: int | None = None, message: str | None = None) -> None:
        self.closed, self.connected = (reason, message), False

    def next(self, kind: str = "event", timeout: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                frame = self.sent.get(timeout=0.1)
            except queue.Empty:
                continue
            if frame["type"] == kind:
                return frame
        raise AssertionError(f"no {kind} frame within {timeout} s")


def serve_in_thread(app, ws: FakeSocket, topics=events.TOPICS, after=None, heartbeat=5.0, deadline=None):
    from nous.extensions import get_redis

    result: dict[str, str] = {}
    the_hub = app.extensions["nous.live.hub"]

    def run() -> None:
        with app.app_context():
            result["why"] = hub.serve(ws, the_hub, get_redis(), topics, after, heartbeat, deadline)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ws.next("hello")
    return thread, result


def test_ids_order_events_across_topics_even_within_one_millisecond(ctx, redis_conn) -> None:
    published = []
    for n in range(30):
        topic = ("jobs", "alerts", "flags")[n % 3]
        events.publish(topic, {"n": n})
        published.append(n)
    frames = [json.loads(t) for _, t in events.replay(redis_conn, ("jobs", "alerts", "flags"))]
    assert [f["data"]["n"] for f in frames] == published
    middle = frames[14]["id"]
    assert [json.loads(t)["data"]["n"] for _, t in events.replay(redis_conn, events.TOPICS, middle)] == published[15:]


def test_a_lost_last_id_does_not_stop_publishing(ctx, redis_conn) -> None:
    events.publish("jobs", {"n": 1})
    redis_conn.delete(events.LAST_KEY)
    events.publish("jobs", {"n": 2})
    assert [json.loads(t)["data"]["n"] for _, t in events.replay(redis_conn, ("jobs",))] == [1, 2]


def test_publish_keeps_the_last_events_per_topic_and_replays_them_in_order(ctx, redis_conn) -> None:
    for n in range(events.KEEP + 5):
        events.publish("feedback", {"id": n})
    events.publish("alerts", {"id": "a"})
    assert redis_conn.xlen(events.STREAM_KEY.format("feedback")) == events.KEEP

    frames = [json.loads(text) for _, text in events.replay(redis_conn, ("feedback", "alerts"))]
    assert [f["data"]["id"] for f in frames] == [*range(events.KEEP + 5 - events.REPLAY, events.KEEP + 5), "a"]
    assert all(f["type"] == "event" for f in frames)

    after = frames[-3]["id"]
    assert [json.loads(t)["data"]["id"] for _, t in events.replay(redis_conn, ("feedback", "alerts"), after)] == [
        events.KEEP + 4, "a"]


@pytest.mark.parametrize(("topic", "event"), [
    ("weather", {"a": 1}),  # not a topic
    ("jobs", {"blob": "x" * (events.MAX_EVENT_BYTES + 1)}),  # too large
])
def test_bad_events_are_dropped_with_a_log_line_and_never_raise(ctx, redis_conn, live_log, topic, event) -> None:
    with live_log.at_level(logging.WARNING, logger="nous.live"):
        events.publish(topic, event)
    assert "live event dropped" in live_log.text
    assert not redis_conn.keys("{nous:live}:stream:*")


def test_publish_outside_an_app_never_raises(live_log) -> None:
    with live_log.at_level(logging.ERROR, logger="nous.live"):
        events.publish("jobs", {"job_id": "x"})
    assert "live event dropped" in live_log.text


def test_redis_down_drops_events_quickly_and_publishing_resumes(app, tmp_path, live_log) -> None:
    from nous import create_app

    server = ThrowawayRedis(tmp_path)
    down_app = create_app({"REDIS_URL": server.url})
    try:
        with down_app.app_context():
            events.publish("jobs", {"n": 1})
            server.stop()
            with live_log.at_level(logging.WARNING, logger="nous.live"):
                events.publish("jobs", {"n": 2})  # fails once, then pauses
                started = time.perf_counter()
                for n in range(50):
                    events.publish("jobs", {"n": n})
                paused_cost = time.perf_counter() - started
            assert "Redis unreachable" in live_log.text
            assert paused_cost < 0.5  # no connection attempt per event while paused
            server.start()
            down_app.extensions["nous.live.publisher"].paused_until = 0  # as if the pause had run out
            events.publish("jobs", {"n": 3})
            conn = down_app.extensions["nous.redis"]
            assert [json.loads(t)["data"]["n"] for _, t in events.replay(conn, ("jobs",))] == [3]
    finally:
        server.stop()


def test_parse_helpers_accept_only_what_they_know() -> None:
    assert events.parse_topics("alerts, metrics,bogus") == ("metrics", "alerts")
    assert events.parse_topics("") == events.TOPICS
    assert events.parse_topics("bogus") == events.TOPICS
    assert events.parse_after("1795320289020-3") == "1795320289020-3"
    assert events.parse_after("$") is None and events.parse_after("0-0; FLUSHALL") is None


def test_serve_replays_then_streams_live_events_once_each(app, ctx) -> None:
    events.publish("jobs", {"n": 0})
    ws = FakeSocket()
    thread, _ = serve_in_thread(app, ws, topics=("jobs", "alerts"))
    assert ws.next()["data"] == {"n": 0}
    assert ws.next("replayed") == {"type": "replayed", "count": 1}
    events.publish("jobs", {"n": 1})
    events.publish("flags", {"n": "not subscribed"})
    events.publish("alerts", {"n": 2})
    assert [ws.next()["data"]["n"] for _ in range(2)] == [1, 2]
    ws.connected = False  # the browser went away
    thread.join(timeout=5)
    assert not thread.is_alive()
    with pytest.raises(queue.Empty):
        ws.sent.get_nowait()


def test_serve_pings_and_drops_a_client_that_stops_answering(app, ctx) -> None:
    ws = FakeSocket()
    thread, result = serve_in_thread(app, ws, heartbeat=0.2)
    assert ws.next("ping", timeout=2)["at"] == pytest.approx(time.time(), abs=5)
    ws.next("ping", timeout=2)
    ws.answers = False
    thread.join(timeout=5)
    assert result["why"] == "client silent" and ws.closed == (1001, "no answer to pings")


def test_serve_ends_the_socket_when_the_session_ends(app, ctx) -> None:
    ws = FakeSocket()
    thread, result = serve_in_thread(app, ws, deadline=time.time() + 0.3)
    thread.join(timeout=5)
    assert result["why"] == "session expired" and ws.closed[0] == 1008


def test_serve_closes_with_service_restart_when_the_process_drains(app, ctx) -> None:
    stopping = threading.Event()
    ws = FakeSocket()
    result: dict[str, str] = {}

    def run() -> None:
        with app.app_context():
            from nous.extensions import get_redis

            result["why"] = hub.serve(ws, app.extensions["nous.live.hub"], get_redis(), events.TOPICS, None, 5.0,
                                      stopping=stopping)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ws.next("hello")
    stopping.set()
    thread.join(timeout=5)
    assert result["why"] == "server stopping" and ws.closed[0] == 1012


def test_a_client_that_falls_behind_is_told_to_resync(app, ctx, monkeypatch) -> None:
    monkeypatch.setattr(hub, "QUEUE_SIZE", 3)
    ws = FakeSocket()
    original_send = ws.send
    gate = threading.Event()

    def slow_send(data: str) -> None:
        if json.loads(data)["type"] == "event":
            gate.wait(5)  # the browser is stuck
        original_send(data)

    ws.send = slow_send  # type: ignore[method-assign]
    thread, result = serve_in_thread(app, ws, topics=("feedback",))
    for n in range(10):
        events.publish("feedback", {"n": n})
    the_hub = app.extensions["nous.live.hub"]
    deadline = time.monotonic() + 10
    while not any(sub.lost for sub in list(the_hub._subs)) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the hub has offered more than the socket's queue holds
    gate.set()
    thread.join(timeout=5)
    assert result["why"] == "fell behind" and ws.closed[0] == 1013


def test_losing_the_redis_subscription_makes_every_socket_resync(app, tmp_path) -> None:
    server = ThrowawayRedis(tmp_path)
    try:
        import redis

        conn = redis.Redis.from_url(server.url, socket_timeout=2, socket_connect_timeout=1)
        the_hub = hub.Hub(lambda: conn)
        subs = [the_hub.subscribe(("jobs",)), the_hub.subscribe(("alerts",))]
        assert the_hub.ready.wait(5)
        conn.execute_command("PUBLISH", events.channel(conn, "jobs"), '1-0 {"n":1}')
        assert subs[0].queue.get(timeout=5) == ("1-0", '{"type":"event","topic":"jobs","id":"1-0","data":{"n":1}}')
        assert subs[1].queue.empty()
        server.stop()
        deadline = time.monotonic() + 5
        while not all(s.lost for s in subs) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [s.lost for s in subs] == ["subscription lost"] * 2
    finally:
        for sub in subs:
            the_hub.unsubscribe(sub)
        server.stop()
    deadline = time.monotonic() + 15
    while the_hub.running and time.monotonic() < deadline:  # the hub thread ends with its last socket
        time.sleep(0.05)
    assert not the_hub.running


def test_events_stay_on_their_database_of_a_shared_redis_server(ctx, redis_conn) -> None:
    """Channels are server-wide, keys are not: another app on another database of the same server
    (staging next to production, or a second test run) never hears this app's events."""
    db = redis_conn.connection_pool.connection_kwargs.get("db", 0)
    pool = redis_conn.connection_pool
    neighbour = redis_conn.__class__(connection_pool=pool.__class__(
        connection_class=pool.connection_class, **{**pool.connection_kwargs, "db": (db + 1) % 16}))
    assert events.channel(redis_conn, "jobs") == f"nous:live:{db}:jobs"
    assert events.channel(neighbour, "jobs") != events.channel(redis_conn, "jobs")
    ours, theirs = redis_conn.pubsub(ignore_subscribe_messages=True), neighbour.pubsub(ignore_subscribe_messages=True)
    ours.subscribe(events.channel(redis_conn, "jobs"))
    theirs.subscribe(events.channel(neighbour, "jobs"))
    try:
        events.publish("jobs", {"n": 1})
        heard = None
        deadline = time.monotonic() + 5
        while heard is None and time.monotonic() < deadline:
            heard = ours.get_message(timeout=0.1)
        assert heard is not None and heard["data"].endswith(b' {"n":1}')
        assert theirs.get_message(timeout=0.3) is None
    finally:
        ours.close()
        theirs.close()
        neighbour.close()
