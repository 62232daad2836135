"""One Redis subscription per web process, shared by every live socket the process holds.

The hub's thread reads the topic channels and hands each event's text frame (built once) to the
queues of the sockets subscribed to its topic. A socket whose queue overflows (a stuck client), or
every socket when the Redis subscription broke, is marked `lost`: its handler closes it and the
browser reconnects with `?after=<last id>`, getting what it missed from the replay streams. The
thread stops when the last socket goes. All of it is process state that is safe to lose.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

import redis
from simple_websocket import ConnectionClosed

from nous.live.events import TOPICS, channel, envelope, id_key, replay, resume_after

log = logging.getLogger("nous.live")

QUEUE_SIZE = 500  # frames a socket may fall behind before it is dropped (and resyncs)
POLL = 1.0  # seconds: how often an idle socket loop looks at its connection
SESSION_CHECK = 0.5  # seconds between looks at whether the socket's session was signed out
RETRY_MAX = 10.0
CLOSE_WAIT = 1.0  # seconds a closing socket waits for the browser's answer to its close


class Subscriber:
    def __init__(self, topics: tuple[str, ...]) -> None:
        self.topics = frozenset(topics)
        self.queue: queue.Queue[tuple[str, str]] = queue.Queue(QUEUE_SIZE)
        self.lost = ""  # why this socket must resync ("" while fine)

    def offer(self, topic: str, event_id: str, text: str) -> None:
        if topic not in self.topics or self.lost:
            return
        try:
            self.queue.put_nowait((event_id, text))
        except queue.Full:
            self.lost = "fell behind"


class Hub:
    def __init__(self, connection: Callable[[], redis.Redis]) -> None:
        self._connection = connection
        self._subs: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.ready = threading.Event()  # set while the Redis subscription is up

    def count(self) -> int:
        return len(self._subs)

    @property
    def running(self) -> bool:
        return self._thread is not None

    def subscribe(self, topics: tuple[str, ...]) -> Subscriber:
        sub = Subscriber(topics)
        with self._lock:
            self._subs.add(sub)
            if self._thread is None:
                self.ready.clear()
                self._thread = threading.Thread(target=self._run, name="nous-live-hub", daemon=True)
                self._thread.start()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subs.discard(sub)

    def _dispatch(self, channel: bytes | str, data: bytes | str) -> None:
        channel = channel.decode() if isinstance(channel, bytes) else channel
        raw = data.decode() if isinstance(data, bytes) else data
        topic = channel.rsplit(":", 1)[-1]
        event_id, _, payload = raw.partition(" ")
        text = envelope(topic, event_id, payload)
        for sub in list(self._subs):
            sub.offer(topic, event_id, text)

    def resync_all(self, why: str) -> None:
        """Close every socket of this process; their browsers reconnect and replay what they missed."""
        for sub in list(self._subs):
            sub.lost = why

    def _run(self) -> None:
        delay = 0.5
        while True:
            with self._lock:
                if not self._subs:
                    self._thread = None
                    self.ready.clear()
                    return
            pubsub = None
            try:
                conn = self._connection()
                pubsub = conn.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(*(channel(conn, t) for t in TOPICS))
                self.ready.set()
                delay = 0.5
                while self._subs:
                    message = pubsub.get_message(timeout=POLL)
                    if message and message.get("type") == "message":
                        self._dispatch(message["channel"], message["data"])
            except (redis.RedisError, OSError) as exc:
                self.ready.clear()
                log.warning("live subscription lost; retrying in %.1f s", delay,
                            extra={"error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})
                self.resync_all("subscription lost")
                time.sleep(delay)
                delay = min(RETRY_MAX, delay * 2)
            finally:
                self.ready.clear()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except (redis.RedisError, OSError):
                        pass


class Socket(Protocol):
    connected: bool

    def send(self, data: str) -> None: ...
    def receive(self, timeout: float | None = None) -> Any: ...
    def close(self, reason: int | None = None, message: str | None = None) -> None: ...


def _signed_out(ws: Socket, why: str) -> str:
    """Close for good: the browser must not retry. The message says it even where a proxy or server
    drops the close frame (the browser then sees 1006, which it would retry)."""
    ws.send(json.dumps({"type": "signed-out", "reason": why}))
    ws.close(1008, why)
    # The closing handshake: let the browser read the close and answer before the connection goes (a
    # connection closed with the answer unread is reset, and a reset can discard what was sent last).
    reader = getattr(ws, "thread", None)
    if isinstance(reader, threading.Thread) and reader is not threading.current_thread():
        reader.join(timeout=CLOSE_WAIT)
    return why


def _replay(ws: Socket, conn: redis.Redis, topics: tuple[str, ...], after: str | None) -> tuple[int, int]:
    """Send the kept events the client has not seen (all of them without `after`), then say how many;
    returns the id of the last one sent."""
    after = resume_after(conn, after)
    last = id_key(after) if after else (0, 0)
    replayed = replay(conn, topics, after)
    for event_id, text in replayed:
        ws.send(text)
        last = max(last, id_key(event_id))
    ws.send(json.dumps({"type": "replayed", "count": len(replayed)}))
    return last


def serve(ws: Socket, hub: Hub, conn: redis.Redis, topics: tuple[str, ...], after: str | None,
          heartbeat: float, deadline: float | None = None, stopping: threading.Event | None = None,
          signed_in: Callable[[], bool] | None = None) -> str:
    """Stream events to one socket until it closes; returns why it ended.

    Subscribes first and replays second, skipping live events the replay already sent, so nothing
    published in between is lost or sent twice. Sends a ping every `heartbeat` seconds (idle proxies
    keep the connection) and closes a client that has not answered for three of them. When
    `stopping` is set (the process drains after SIGTERM) the socket closes with 1012 at once, so the
    browser moves to another process and this one is not held up until its graceful timeout.
    `signed_in` is asked about twice a second (it answers from a per-process copy): once the session
    is signed out on the server the socket closes with 1008, which the browser does not retry.
    """
    sub = hub.subscribe(topics)
    try:
        hub.ready.wait(timeout=2)  # events published from now on reach this socket
        ws.send(json.dumps({"type": "hello", "topics": list(topics), "heartbeat": heartbeat}))
        last = _replay(ws, conn, topics, after)
        next_ping = time.monotonic() + heartbeat
        heard = time.monotonic()
        next_check = time.monotonic() + SESSION_CHECK
        while True:
            if sub.lost:
                ws.close(1013, f"resync: {sub.lost}")
                return sub.lost
            if stopping is not None and stopping.is_set():
                ws.close(1012, "server restarting")
                return "server stopping"
            if deadline is not None and time.time() >= deadline:
                return _signed_out(ws, "session expired")
            if signed_in is not None and time.monotonic() >= next_check:
                next_check = time.monotonic() + SESSION_CHECK
                if not signed_in():
                    return _signed_out(ws, "signed out")
            try:
                message = ws.receive(timeout=0)
                while message is not None:  # pongs (and anything else) only prove the client is alive
                    heard = time.monotonic()
                    message = ws.receive(timeout=0)
            except (ConnectionClosed, OSError):
                return "closed by client"
            now = time.monotonic()
            if now - heard > 3 * heartbeat:
                ws.close(1001, "no answer to pings")
                return "client silent"
            if now >= next_ping:
                ws.send(json.dumps({"type": "ping", "at": round(time.time(), 3)}))
                next_ping = now + heartbeat
            try:
                wait = min(POLL, next_ping - now, next_check - now if signed_in is not None else POLL)
                event_id, text = sub.queue.get(timeout=max(0.05, wait))
            except queue.Empty:
                continue
            key = id_key(event_id)
            if key <= last:
                continue  # already sent by the replay
            last = key
            ws.send(text)
    finally:
        hub.unsubscribe(sub)
