"""Unleash's streaming API: `GET /api/client/streaming`, the delta log as server-sent events.

The official Node SDK 6.x in `experimentalMode: {type: 'streaming'}` opens `<url>/client/streaming` with
an EventSource (launchdarkly-eventsource) and handles these events (unleash-node-sdk,
src/repository/streaming-fetcher.ts): `unleash-connected` and `unleash-updated`, whose data is a delta
answer `{"events": [...]}` applied like a delta poll's (nous.flags.delta), `end` (the server closed) and
`fetch-mode` (`polling`: go back to polling). Each event carries `id: <epoch>.<event id>`, the delta ETag,
so a reconnecting SDK sends it back as Last-Event-ID and gets only what it missed (a hydration when the
log no longer reaches back or Redis lost it).

Reach: one thread per process (`Follower`) looks at the flags version key four times a second — one GET
for all the streams of the process — and wakes every stream when it moves; each stream then brings the
log up to date (`delta.sync`, once per change thanks to its WATCH) and sends the new events. The version
key moves on every change made anywhere (console, CLI, admin API, schedules, imports, segments), which no
single pub/sub message covers today, so a change reaches every instance's SDKs within half a second.

Cost: a stream holds one gunicorn thread, like a live-dashboard socket. They are counted per process and
capped (`FLAGS_MAX_STREAMS`), and share one budget with the live sockets (nous.held: the gunicorn threads
less four kept for pages and APIs): past either a
503 with Retry-After, which the SDK retries with backoff. A comment line every 20 s keeps the SDK's read
timeout (60 s) from firing. A stream follows its token: it goes on in the environment's new name after a
rename (a hydration of it) and ends when the token is revoked (the SDK's reconnect then gets a 401, on
which it stops). When the process drains (SIGTERM: `nous.health.service.DRAINING`) every
stream ends within a second and new ones get 503, so SDKs reconnect to another instance.

Redis unreachable: a new stream gets 503 + Retry-After (its first event needs the log; the SDK retries,
or after a few failures polls, and the delta API answers from the flags the process holds). An open
stream stays open and keeps sending the flags the process reloads from the database (see `stream`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis
from flask import Blueprint, Flask, Response, current_app, request

from nous import held, openapi
from nous.errors import error_response
from nous.flags import api, delta
from nous.flags.cache import VERSION_KEY, get_cache
from nous.health.service import DRAINING

log = logging.getLogger("nous.flags.streaming")

bp = Blueprint("flags_streaming", __name__)

LOOK_EVERY = 0.25  # seconds between the follower's looks at the version key
HEARTBEAT = 20.0  # seconds between comment lines on a quiet stream
UNREACHABLE = object()  # the follower's version while Redis does not answer


class Follower:
    """Wakes this process's streams when the flags version moves; runs only while a stream is open."""

    def __init__(self, connection: Callable[[], redis.Redis]) -> None:
        self._connection = connection
        self.changed = threading.Condition()
        self.generation = 0
        self.streams = 0
        self._thread: threading.Thread | None = None

    def join(self) -> None:
        with self.changed:
            self.streams += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="nous-flags-streams", daemon=True)
                self._thread.start()

    def leave(self) -> None:
        with self.changed:
            self.streams -= 1

    def wait(self, seen: int, timeout: float) -> int:
        with self.changed:
            if self.generation == seen:
                self.changed.wait(timeout)
            return self.generation

    def _wake(self) -> None:
        with self.changed:
            self.generation += 1
            self.changed.notify_all()

    def _run(self) -> None:
        last: object = None
        while True:
            with self.changed:
                if self.streams <= 0:
                    self._thread = None
                    return
            try:
                version = self._connection().get(VERSION_KEY)
            except (redis.RedisError, OSError):
                version = UNREACHABLE  # not None: a Redis back empty (no key) must wake the streams too
            if version != last or DRAINING.is_set():
                last = version
                self._wake()
            time.sleep(LOOK_EVERY)


def follower(app: Flask) -> Follower:
    found = app.extensions.get("nous.flags.streams")
    if found is None:
        found = app.extensions["nous.flags.streams"] = Follower(lambda: app.extensions["nous.redis"])
        held.register(app, "flag streams", lambda: found.streams)
    return found


def max_streams(app: Flask) -> int:
    """This process's cap on flag streams (FLAGS_MAX_STREAMS, else the budget they share with the live
    dashboard's sockets: nous.held)."""
    configured = app.config.get("FLAGS_MAX_STREAMS")
    return int(configured) if configured else held.budget(app)


def sse(name: str, data: Any, event_id: str | None = None) -> bytes:
    lines = [f"event: {name}"]
    if event_id is not None:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), default=str))
    return ("\n".join(lines) + "\n\n").encode()


def first_events(environment: str, last_event_id: str) -> tuple[int, str, bytes]:
    """(event id, epoch, what to send first): the events after Last-Event-ID, or a hydration."""
    epoch, last = delta.sync(environment)
    held = delta.parse_etag(last_event_id, epoch) if last_event_id else None
    if held is not None and held <= last:
        events = delta.events_after(environment, held)
        if events is not None:
            events = [e for e in events if e["eventId"] <= last]
            return last, epoch, sse("unleash-updated", {"events": events}, f"{epoch}.{last}") if events else b""
    return last, epoch, sse("unleash-connected", {"events": [delta.hydration(environment, last)]}, f"{epoch}.{last}")


def _hydration(environment: str, event_id: str, last: int = 0) -> bytes:
    return sse("unleash-connected", {"events": [delta.hydration(environment, last)]}, event_id)


def _token_environment(token: str, fresh: bool) -> str | None:
    """The environment the stream's token answers for now (it follows a rename), None once it is revoked.
    `fresh`: after a look at the flags version (Redis up), else from the flags the process holds."""
    cache = get_cache()
    found = (cache.refresh(force=True, wait=True) if fresh else cache.get()).client(token)
    return found[2] if found else None


def stream(app: Flask, environment: str, first: tuple[int, str, bytes], token: str) -> Iterator[bytes]:
    """The events of one SDK's connection, until it goes, its token is revoked or the process drains.

    Redis going away does not end it: the stream waits, sending a hydration (id: the snapshot's content
    hash, no log position) when the flags the process reloads from the database change, and once the
    follower sees Redis again a hydration under the log's new position, since the log cannot say what
    changed meanwhile. One warning per outage; nothing is retried faster than the follower looks."""
    follow = follower(app)
    follow.join()
    try:
        last, epoch, out = first
        # One look at the log straight after the first events (a change made since `first` was read, or one
        # the follower saw before this generator ran again, would otherwise wait for the next change).
        seen = follow.generation - 1
        yield out or b": connected\n\n"
        quiet_since = time.monotonic()
        sent_offline: str | None = None  # the content hash last sent while Redis was away; None when up
        while not DRAINING.is_set():
            seen_now = follow.wait(seen, min(1.0, HEARTBEAT))
            if DRAINING.is_set():
                break
            out = b""
            if seen_now != seen:
                seen = seen_now
                try:
                    with app.app_context():
                        now_environment = _token_environment(token, fresh=True)
                        if now_environment is None:
                            break  # revoked: the SDK's reconnect is refused (401) and it stops
                        moved, environment = now_environment != environment, now_environment  # renamed
                        now_epoch, now_last = delta.sync(environment)
                        if moved or sent_offline is not None or now_epoch != epoch:
                            out = _hydration(environment, f"{now_epoch}.{now_last}", now_last)
                        elif now_last != last:
                            events = delta.events_after(environment, last)
                            if events is None:
                                out = _hydration(environment, f"{now_epoch}.{now_last}", now_last)
                            else:
                                events = [e for e in events if e["eventId"] <= now_last]
                                out = sse("unleash-updated", {"events": events}, f"{now_epoch}.{now_last}")
                    epoch, last, sent_offline = now_epoch, now_last, None
                except (redis.RedisError, OSError) as exc:
                    if sent_offline is None:
                        log.warning("flags stream waiting: Redis unreachable",
                                    extra={"error": str(exc).splitlines()[0][:200]})
                        sent_offline = ""
            if sent_offline is not None:  # Redis away: follow the flags the process reloads from the database
                with app.app_context():
                    now_environment = _token_environment(token, fresh=False)
                    if now_environment is None:
                        break
                    environment = now_environment
                    tag = delta.offline_etag(environment).strip('"')
                    if tag != sent_offline:
                        out, sent_offline = _hydration(environment, tag), tag
            if out:
                quiet_since = time.monotonic()
                yield out
            elif time.monotonic() - quiet_since >= HEARTBEAT:
                quiet_since = time.monotonic()
                yield b": keep-alive\n\n"
    finally:
        follow.leave()


@bp.get("/api/client/streaming")
@api.rate_limited
@api.token_required
def client_streaming() -> Any:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if "text/event-stream" not in request.headers.get("Accept", ""):
        return error_response(406, "Not Acceptable", "This is an event stream: send Accept: text/event-stream "
                                                     "(as an EventSource does).")
    refusal = None
    if DRAINING.is_set():
        refusal = "This process is shutting down; connect again to reach another."
    elif not held.room(app, "flag streams", max_streams(app)):
        refusal = "Too many flag streams (or live viewers) on this process; try again shortly."
    if refusal:
        resp = error_response(503, "Service Unavailable", refusal)
        resp.headers["Retry-After"] = "5"
        return resp
    environment = api._client(request.environ)[2]  # type: ignore[index] # token_required ran
    try:
        first = first_events(environment, request.headers.get("Last-Event-ID", "")[:200])
    except (redis.RedisError, OSError):  # the log cannot be read: the SDK reconnects later (or polls)
        resp = error_response(503, "Service Unavailable", "The flag stream is unavailable for a moment; "
                                                          "connect again shortly.")
        resp.headers["Retry-After"] = "5"
        return resp
    token = api._presented_token(request.environ)
    resp = Response(stream(app, environment, first, token), mimetype="text/event-stream")
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["X-Accel-Buffering"] = "no"  # a proxy must pass each event on at once
    return resp


openapi.register({
    "/api/client/streaming": {"get": {
        "summary": "Unleash's streaming API (server-sent events) for the official SDKs' streaming mode.",
        "description": "`unleash-connected` (a hydration) or, with Last-Event-ID, `unleash-updated` with what was "
                       "missed; then `unleash-updated` with each change's delta events. Each event's id is the "
                       "delta ETag. Send Accept: text/event-stream, as an EventSource does (406 otherwise).",
        "operationId": "clientStreaming", "tags": ["flags"], "security": [{"flagsClientToken": []}],
        "parameters": [{"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "The id of the last event received: resume after it."}],
        "responses": {
            "200": {"description": "An event stream.",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            "401": api._COMMON["401"],
            "406": {"description": "The request does not accept text/event-stream.",
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
            "429": api._COMMON["429"],
            "503": {"description": "The process is draining, holds as many streams as it may, or cannot reach "
                           "the log (Redis); retry.",
                    "headers": {"Retry-After": {"schema": {"type": "integer"}}}},
        },
    }},
})
