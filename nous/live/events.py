"""Live events: publish from any process, fan out to every `/ws/live` socket through Redis.

    from nous.live import publish
    publish("jobs", {"job_id": "3f2a…", "task": "email.send", "status": "failed", "error": "SMTP 554"})

`publish` never raises and costs one Redis round trip: a Lua script appends the event to a capped
stream per topic (`{nous:live}:stream:<topic>`, the last KEEP events, for replay on connect) and
publishes it on the topic's channel (`nous:live:<database>:<topic>`, see `channel`) with its id,
which orders events across topics. With Redis down the event is dropped with a log line, and
publishing pauses for a few seconds instead of waiting for a timeout on every call. Redis pub/sub
and streams are the engine here; nothing home-made.

Each socket receives JSON text messages:

    {"type": "hello", "topics": [...], "heartbeat": 20}              once, first
    {"type": "event", "topic": "<topic>", "id": "<event id>", "data": {…}}   replayed ones first, then live
    {"type": "replayed", "count": <n>}                                 once, after the replayed events
    {"type": "ping", "at": <unix time>}                               every `heartbeat` seconds
    {"type": "signed-out", "reason": str}                             last, when the session ended (then
                                                                      closed with 1008: do not reconnect)

The client answers a ping with `{"type": "pong"}` and may reconnect with `?after=<last id seen>`
to receive exactly the events it missed (within the last KEEP per topic).

Event shapes (`data`), by topic. Times are ISO 8601 in UTC; fields may be null when unknown.

metrics  one collector sample (nous.live.collector):
    {"at": str, "t": float (unix seconds), "host": str, "cpu_percent": float, "memory_percent": float,
     "disk_percent": float, "load_1m": float, "requests_per_second": float, "error_rate": float (0–1),
     "latency_p95_ms": float, "queue_depth": float, "db_p95_ms": float,
     "failing_checks": {"<check name>": "<why>", …}}

alerts   an alert raised or cleared (nous.live.alerts):
    {"id": int, "rule": str ("cpu", "memory", "disk", "error_rate", "queue_backlog", "check:<name>"),
     "status": "open" | "cleared", "title": str, "message": str, "value": float, "threshold": float,
     "unit": str, "last_value": float, "raised_at": str, "cleared_at": str | null}

jobs     a job changed state (published by nous.jobs):
    {"job_id": str, "task": str, "status": "queued" | "scheduled" | "started" | "retrying" | "finished" |
     "failed" | "canceled" | "stopped", "queue": str, "attempt": int, "progress": int | null (0–100),
     "error": str | null (one line), "at": str}

feedback new or changed feedback (published by nous.feedback):
    {"id": str | int, "action": "created" | "updated" | "replied", "rating": int (1–5), "category": str,
     "feature": str | null, "status": str, "excerpt": str (≤ 140 characters of the message), "at": str,
     "version": str | null (the feedback's last change in µs since 1970: what the console's pages carry;
     null for a reply, which leaves the feedback itself as it was)}

flags    a flag changed (published by nous.flags):
    {"id": int, "key": str, "action": "created" | "updated" | "enabled" | "disabled" | "archived" | "restored" |
     "deleted" | "rollout", "enabled": bool | null, "actor": str, "version": int | null, "at": str}

testers  a tester was added, changed, invited, (de)activated, joined or removed (published by nous.testers):
    {"id": str (UUID) | null (an import: many at once), "action": "added" | "updated" | "invited" |
     "deactivated" | "reactivated" | "joined" | "removed" | "imported", "version": str | null, "at": str}

workflows a workflow run started, moved on or ended (published by nous.workflows):
    {"run_id": int, "workflow_id": int, "status": str, "at": str}

Each event about an object is also dispatched by the console's live.js as the DOM events
"<kind>-changed" and "<kind>-<id>-changed" (see nous.changes), so every fragment showing the
object follows a change made anywhere.

Publishers send ids and short summaries, never secrets or whole records: every event is shown to
the admin's browser as it is.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from typing import Any

import redis
from flask import Flask, current_app

log = logging.getLogger("nous.live")

TOPICS = ("metrics", "jobs", "feedback", "alerts", "flags", "testers", "workflows")
# One hash tag, so the script's keys share a slot on Redis Cluster too.
STREAM_KEY = "{{nous:live}}:stream:{}"
LAST_KEY = "{nous:live}:last"  # the newest event id of any topic
CHANNEL = "nous:live:{}"  # of "<database number>:<topic>" (see channel)
KEEP = 50  # events kept per topic for replay
REPLAY = 20  # events per topic replayed to a new socket that has seen nothing yet
MAX_EVENT_BYTES = 64 * 1024
PAUSE_AFTER_FAILURE = 5.0  # seconds publishing is skipped after Redis failed
STREAM_ID = re.compile(r"^[0-9]{1,20}-[0-9]{1,20}$")

# KEYS: stream, last id; ARGV: max length, event JSON, channel. Publishes "<id> <json>".
# Event ids are "<µs>-<n>": Redis's clock in microseconds, and a count within one microsecond, from one
# last-id key for every topic, so ids order events across topics (a reconnecting client resumes after
# the last id it saw and misses nothing of any topic). Being times, they keep growing when Redis is
# flushed or restarted empty: a browser's `after` from before never hides the events that follow.
# Should the last id ever be behind a stream (deleted by hand), the next id goes past that stream's.
_PUBLISH_LUA = """
local t = redis.call('TIME')
local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = 0
local function after(id)
  local m, s = string.match(id, '^(%d+)-(%d+)$')
  if not m then return end
  m, s = tonumber(m), tonumber(s)
  if m > us then us, n = m, s + 1 elseif m == us and s >= n then n = s + 1 end
end
local last = redis.call('GET', KEYS[2])
if last then after(last) end
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if top then after(top[1]) end
local id = string.format('%d-%d', us, n)
redis.call('SET', KEYS[2], id)
id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], id, 'e', ARGV[2])
redis.call('PUBLISH', ARGV[3], id .. ' ' .. ARGV[2])
return id
"""


def channel(conn: redis.Redis, topic: str) -> str:
    """The topic's pub/sub channel on this connection's database. Keys belong to one database but
    channels are server-wide: with the database number in the name, apps sharing a Redis server on
    different databases never hear each other's events (whose ids order one database's events only)."""
    pool = getattr(conn, "connection_pool", None)
    db = getattr(pool, "connection_kwargs", {}).get("db", 0) or 0
    return CHANNEL.format(f"{int(db)}:{topic}")


class _Publisher:
    """Per-app publishing state: the registered script and the pause after a failure (safe to lose)."""

    def __init__(self, conn: redis.Redis) -> None:
        self.conn = conn
        self.script = conn.register_script(_PUBLISH_LUA)
        self.paused_until = 0.0
        self.dropped = 0
        self.lock = threading.Lock()


def _publisher(app: Flask) -> _Publisher:
    pub = app.extensions.get("nous.live.publisher")
    if pub is None:
        pub = app.extensions["nous.live.publisher"] = _Publisher(app.extensions["nous.redis"])
    return pub


def publish(topic: str, event: dict[str, Any]) -> None:
    """Send `event` to every live viewer subscribed to `topic`. Never raises; dropped (logged) on failure."""
    try:
        if topic not in TOPICS:
            log.warning("live event dropped: unknown topic", extra={"topic": str(topic)[:50]})
            return
        payload = json.dumps(event, default=str, separators=(",", ":"), ensure_ascii=False)
        if len(payload) > MAX_EVENT_BYTES:
            log.warning("live event dropped: too large", extra={"topic": topic, "bytes": len(payload)})
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        pub = _publisher(app)
        if time.monotonic() < pub.paused_until:
            with pub.lock:
                pub.dropped += 1
            log.debug("live event dropped: Redis unreachable", extra={"topic": topic})
            return
        pub.script(keys=[STREAM_KEY.format(topic), LAST_KEY], args=[KEEP, payload, channel(pub.conn, topic)])
    except (redis.RedisError, OSError) as exc:
        with pub.lock:  # set before the only call that talks to Redis
            pub.paused_until = time.monotonic() + PAUSE_AFTER_FAILURE
            dropped, pub.dropped = pub.dropped, 0
        log.warning("live event dropped: Redis unreachable; publishing paused for %.0f s", PAUSE_AFTER_FAILURE,
                    extra={"topic": topic, "error": str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__,
                           "dropped_before": dropped})
    except Exception:  # a publisher's bad event or no app context must never break its caller
        log.exception("live event dropped", extra={"topic": str(topic)[:50]})


def envelope(topic: str, event_id: str, payload: str) -> str:
    """The text frame for one event; `payload` is already JSON (encoded once for every viewer)."""
    return f'{{"type":"event","topic":"{topic}","id":"{event_id}","data":{payload}}}'


def id_key(event_id: str) -> tuple[int, int]:
    ms, _, seq = event_id.partition("-")
    return int(ms), int(seq or 0)


def parse_after(raw: str | None) -> str | None:
    """A client's `after` stream id, or None when missing or malformed."""
    raw = (raw or "").strip()
    return raw if STREAM_ID.match(raw) else None


def resume_after(conn: redis.Redis, after: str | None) -> str | None:
    """Where a reconnecting client's replay starts: after the last id it saw, unless that id is ahead of
    the newest event (Redis was flushed or replaced since; ids then belong to another history): then
    from the start of the kept events, all of which the client has not seen."""
    if not after:
        return None
    newest = conn.get(LAST_KEY)
    newest = newest.decode() if isinstance(newest, bytes) else newest
    if newest is None or id_key(after) > id_key(newest):
        return "0-0"
    return after


def parse_topics(raw: str | None) -> tuple[str, ...]:
    """The topics a client asked for (comma-separated); all of them when none is valid."""
    wanted = {t.strip() for t in (raw or "").split(",")}
    chosen = tuple(t for t in TOPICS if t in wanted)
    return chosen or TOPICS


def replay(conn: redis.Redis, topics: tuple[str, ...], after: str | None = None,
           count: int = REPLAY) -> list[tuple[str, str]]:
    """[(id, text frame)] oldest first: the last `count` events per topic, or every kept event after `after`."""
    pipe = conn.pipeline(transaction=False)
    for topic in topics:
        if after:
            pipe.xrange(STREAM_KEY.format(topic), min=f"({after}", count=KEEP)
        else:
            pipe.xrevrange(STREAM_KEY.format(topic), count=count)
    frames: list[tuple[tuple[int, int], str, str]] = []
    for topic, entries in zip(topics, pipe.execute(), strict=True):
        for raw_id, fields in entries:
            event_id = raw_id.decode() if isinstance(raw_id, bytes) else raw_id
            payload = fields.get(b"e") or fields.get("e") or b"null"
            payload = payload.decode() if isinstance(payload, bytes) else payload
            frames.append((id_key(event_id), event_id, envelope(topic, event_id, payload)))
    frames.sort(key=lambda f: f[0])
    return [(event_id, text) for _, event_id, text in frames]
