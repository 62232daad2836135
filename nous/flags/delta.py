"""Unleash's delta API: `GET /api/client/delta`, the flags as an ordered log of changes per environment.

The official SDKs that poll in delta format (Node `experimentalMode: {type: 'polling', format: 'delta'}`)
ask `<url>/client/delta` with the ETag of their last answer in If-None-Match and apply the answer's
`events` in order (unleash-node-sdk, src/repository/index.ts `applyFeatureResponse`; the event shapes of
Unleash/client-specification, schema/delta-event-schema.js):

    {"events": [{"type": "hydration", "eventId": 7, "features": [...], "segments": [...]}]}
    {"events": [{"type": "feature-updated", "eventId": 8, "feature": {...}},
                {"type": "feature-removed", "eventId": 9, "featureName": "x", "project": "default"},
                {"type": "segment-updated", "eventId": 10, "segment": {...}},
                {"type": "segment-removed", "eventId": 11, "segmentId": 3}]}

The log lives in Redis, one stream per environment, next to the environment's state as last logged
(`state`: each flag and segment as the SDKs get it) and `meta` (epoch, last event id, the flags version
it was made from). Redis rather than a table: the log is derived data — everything in it can be rebuilt
from the flags — so losing it must cost no more than one full answer per SDK, and Redis already carries
the version every process follows; a table would need a schema change for a cache.

The log is written lazily, by whichever process answers a delta request (or follows the stream) and
finds the flags version moved past the one the log was made from: it diffs its snapshot against the
logged state and appends the differences, inside a WATCH on the version key and the log's meta, so
the log only ever moves forward to the state of the version current when it is written (a process
holding an older snapshot reloads first; a race leaves the write to the next asker). Every kind of
change is seen this way — console, CLI, admin API, import, schedule, segment edit — without any of them
telling the log.

The ETag is `"<epoch>.<event id>"`. The epoch is drawn when the log is first made, so after a Redis
restarted empty (or a log trimmed past what a client holds, or an ETag from elsewhere) an SDK gets a
hydration, never events from another history. Event ids count up from 1 within an epoch.

With Redis unreachable the log cannot be read, but the flags can (the per-process snapshot reloads from
the database every few seconds): a delta request is answered with a hydration of the snapshot, as
/api/client/features answers in an outage, rather than a 503. The official Node SDK backs off on a 503
(up to ten intervals) and an SDK starting during the outage would get no flags at all; a hydration keeps
every SDK correct. Its ETag is the snapshot's content hash (`offline_etag`), which has no `.` and so is
never read as a log position: once Redis answers again the SDK holding it gets a hydration.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Iterable
from typing import Any

import redis
from flask import Blueprint, Response, request

from nous import openapi
from nous.extensions import get_redis
from nous.flags import api
from nous.flags.cache import VERSION_KEY, EnvironmentFlags, get_cache

log = logging.getLogger("nous.flags.delta")

bp = Blueprint("flags_delta", __name__)

LOG_KEY = "nous:flags:delta:{env}:log"  # stream: fields seq, event (JSON)
STATE_KEY = "nous:flags:delta:{env}:state"  # hash: "f:<flag>" / "s:<segment id>" → JSON as the SDKs get it
META_KEY = "nous:flags:delta:{env}:meta"  # hash: epoch, seq, version
LOG_MAX = 2000  # events kept per environment; an SDK further behind gets a hydration
WARN_EVERY = 60.0  # seconds between warnings that delta requests are answered without the log
_warned_at = float("-inf")


def _text(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def current_state(here: EnvironmentFlags, segments: Iterable[dict[str, Any]]) -> dict[str, str]:
    state = {f"f:{f['name']}": _text(f) for f in here.features}
    state.update({f"s:{s['id']}": _text(s) for s in segments})
    return state


def _events(old: dict[str, str], new: dict[str, str]) -> list[dict[str, Any]]:
    """What turns `old` into `new`: segments first (a flag may name a new one), removals of segments last."""
    out: list[dict[str, Any]] = []
    for name in sorted(n for n in new if n.startswith("s:") and old.get(n) != new[n]):
        out.append({"type": "segment-updated", "segment": json.loads(new[name])})
    for name in sorted(n for n in new if n.startswith("f:") and old.get(n) != new[n]):
        out.append({"type": "feature-updated", "feature": json.loads(new[name])})
    for name in sorted(n for n in old if n.startswith("f:") and n not in new):
        out.append({"type": "feature-removed", "featureName": name[2:], "project": "default"})
    for name in sorted(n for n in old if n.startswith("s:") and n not in new):
        out.append({"type": "segment-removed", "segmentId": int(name[2:])})
    return out


def _version_text(version: object) -> str:
    return version.decode() if isinstance(version, bytes) else "none"


def sync(environment: str, conn: redis.Redis | None = None, attempts: int = 3) -> tuple[str, int]:
    """Bring the environment's log up to the current flags version; (epoch, last event id). Costs one
    version check and one HMGET when nothing changed."""
    conn = conn or get_redis()
    meta_key, state_key, log_key = (k.format(env=environment) for k in (META_KEY, STATE_KEY, LOG_KEY))
    for _ in range(attempts):
        cache = get_cache()
        snap = cache.refresh(force=True, wait=True)  # another thread's reload may be under way: its result
        version = _version_text(cache.version)
        epoch, seq, logged = conn.hmget(meta_key, "epoch", "seq", "version")
        if epoch is not None and logged is not None and logged.decode() == version:
            return epoch.decode(), int(seq or 0)
        new = current_state(snap.env(environment), snap.segments)
        with conn.pipeline() as pipe:
            try:
                pipe.watch(VERSION_KEY, meta_key)
                if _version_text(pipe.get(VERSION_KEY)) != version:
                    continue  # changed again meanwhile: reload and try again
                epoch, seq = pipe.hmget(meta_key, "epoch", "seq")
                if epoch is None:  # a new log (first use, or Redis lost it): clients holding an old one hydrate
                    epoch_text, last, events = secrets.token_hex(4), 0, []
                else:
                    epoch_text, last = epoch.decode(), int(seq or 0)
                    old = {k.decode(): v.decode() for k, v in pipe.hgetall(state_key).items()}
                    events = _events(old, new)
                pipe.multi()
                if epoch is None:
                    pipe.delete(log_key)
                pipe.delete(state_key)
                for event in events:
                    last += 1
                    pipe.xadd(log_key, {"event": _text({**event, "eventId": last})}, id=f"{last}-0",
                              maxlen=LOG_MAX, approximate=True)
                if new:
                    pipe.hset(state_key, mapping=new)
                pipe.hset(meta_key, mapping={"epoch": epoch_text, "seq": last, "version": version})
                pipe.execute()
                return epoch_text, last
            except redis.WatchError:
                continue
    epoch, seq = conn.hmget(meta_key, "epoch", "seq")  # busy: answer from the log as it is
    return (epoch.decode() if epoch else ""), int(seq or 0)


def events_after(environment: str, seq: int, conn: redis.Redis | None = None) -> list[dict[str, Any]] | None:
    """The logged events after event id `seq`, in order; None when the log no longer reaches back that far."""
    conn = conn or get_redis()
    entries = conn.xrange(LOG_KEY.format(env=environment), f"{seq + 1}-0", "+")
    events = [json.loads(fields[b"event"]) for _id, fields in entries]
    if events and events[0]["eventId"] != seq + 1:
        return None
    return events


def hydration(environment: str, last: int) -> dict[str, Any]:
    snap = get_cache().get()
    return {"type": "hydration", "eventId": last, "features": snap.env(environment).features,
            "segments": snap.segments}


def parse_etag(raw: str, epoch: str) -> int | None:
    """The event id an SDK holds, from the ETag we gave it; None when it is not one of this log's."""
    text = raw.strip().removeprefix("W/").strip('"')
    head, _, tail = text.partition(".")
    if head != epoch or not (tail.isascii() and tail.isdigit()) or len(tail) > 18:  # not "²", "①" nor "٣"
        return None
    return int(tail)


def offline_etag(environment: str) -> str:
    """The ETag of an answer made without the log: the snapshot's content hash, never a log position."""
    return f'"{get_cache().get().env(environment).etag}"'


def offline(environment: str, if_none_match: str) -> tuple[int, str, list[dict[str, Any]]]:
    """(status, ETag, events) while Redis is unreachable: a hydration of the snapshot, or 304 when the SDK
    holds this very content."""
    etag = offline_etag(environment)
    if if_none_match.strip().removeprefix("W/") == etag:
        return 304, etag, []
    return 200, etag, [hydration(environment, 0)]


def delta(environment: str, if_none_match: str) -> tuple[int, str, list[dict[str, Any]]]:
    """(status, ETag, events) of a delta request: 304, the events since the ETag, or a hydration."""
    try:
        return _from_log(environment, if_none_match)
    except (redis.RedisError, OSError) as exc:
        global _warned_at
        if time.monotonic() - _warned_at >= WARN_EVERY:  # one line per minute of outage, not one per poll
            _warned_at = time.monotonic()
            log.warning("flags delta answered without the log: Redis unreachable",
                        extra={"error": str(exc).splitlines()[0][:200]})
        return offline(environment, if_none_match)


def _from_log(environment: str, if_none_match: str) -> tuple[int, str, list[dict[str, Any]]]:
    epoch, last = sync(environment)
    etag = f'"{epoch}.{last}"'
    held = parse_etag(if_none_match, epoch) if if_none_match else None
    if held is not None and held == last:
        return 304, etag, []
    if held is not None and held < last:
        events = events_after(environment, held)
        if events is not None:
            return 200, etag, [e for e in events if e["eventId"] <= last]
    return 200, etag, [hydration(environment, last)]


@bp.get("/api/client/delta")
@api.rate_limited
@api.token_required
def client_delta() -> Any:
    environment = api._client(request.environ)[2]  # type: ignore[index] # token_required ran
    status, etag, events = delta(environment, request.headers.get("If-None-Match", "")[:200])
    resp = Response(status=304) if status == 304 else Response(
        json.dumps({"events": events}, separators=(",", ":"), default=str), mimetype="application/json")
    resp.headers["ETag"] = etag
    resp.headers["Cache-Control"] = "no-cache"
    return resp


openapi.register({
    "/api/client/delta": {"get": {
        "summary": "Unleash's delta API: a hydration, then the changes since the ETag sent (official SDKs' delta "
                   "polling).",
        "operationId": "clientDelta", "tags": ["flags"], "security": [{"flagsClientToken": []}],
        "parameters": [{"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                        "description": "The ETag of the last answer: the events after it, or 304."}],
        "responses": {
            "200": {"description": "Events to apply in order; a hydration first when the ETag is unknown or old.",
                    "headers": {"ETag": {"schema": {"type": "string"}}},
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["events"],
                        "properties": {"events": {"type": "array", "items": {
                            "type": "object", "required": ["type", "eventId"],
                            "properties": {"type": {"enum": ["hydration", "feature-updated", "feature-removed",
                                                             "segment-updated", "segment-removed"]},
                                           "eventId": {"type": "integer"}}}}}}}}},
            "304": {"description": "Nothing changed since the ETag sent.",
                    "headers": {"ETag": {"schema": {"type": "string"}}}},
            "401": api._COMMON["401"], "429": api._COMMON["429"],
        },
    }},
})
