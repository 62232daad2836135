"""The per-process flag cache and the evaluation counters: evaluation does no SQL and no Redis call.

Each process keeps one compiled `Engine` with everything evaluation needs — flags, segments, the
per-tester overrides and the client tokens — in a `Snapshot` that is swapped whole. It follows the
flags version key the way every per-process copy does (nous.versioned): at most every half second an
evaluation asks Redis for the version (one GET); when another process changed something the version
differs and the snapshot is rebuilt from the database (four SELECTs, on a connection of its own so a
caller's transaction is never touched). A change writes a new random token, so even a Redis restarted
empty cannot hand back a version a process already holds: it reaches every process within a second,
and the process that made it sees it at once (`bump_version`). With Redis down the snapshot is
rebuilt every five seconds instead; with the database down the last one is kept.

Evaluations are counted in memory (yes/no per flag) and added to Redis at most once a second, at
request teardown (nous.telemetry FLUSHERS) or at the next version check: one pipeline, never one
Redis call per evaluation. The counts are safe to lose.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from nous.extensions import db
from nous.flags.engine import Engine
from nous.flags.engine.context import string_list
from nous.flags.limits import LIMITER
from nous.flags.models import (
    DEFAULT_ENVIRONMENTS,
    PRODUCTION,
    ClientToken,
    Environment,
    Flag,
    FlagState,
    Segment,
    forced,
    tester_flags,
)
from nous.settings import service as settings
from nous.versioned import Followed, Unavailable

try:  # the app of the current context without LocalProxy's cost (evaluation is on hot paths)
    from flask.globals import _cv_app
except ImportError:  # pragma: no cover - a Flask without it: the public proxy, slower but correct
    _cv_app = None

log = logging.getLogger("nous.flags")
_monotonic = time.monotonic

VERSION_KEY = "nous:flags:version"
CHECK_EVERY = 0.5  # seconds between version checks: a change elsewhere is seen within a second
OFFLINE_RELOAD = 5.0  # Redis down: rebuild from the database this often
RETRY_AFTER_FAILURE = 2.0  # database down during a rebuild: keep the old snapshot, retry after this

# Evaluation counts per flag environment, all time and per UTC hour (kept HOURS_KEPT hours): hashes {flag
# key: evaluations}. Production's keep the names they had before there were environments.
YES_KEY = "nous:flags:evals:yes"  # production's all-time "answered on"
NO_KEY = "nous:flags:evals:no"
HOURS_KEPT = 8 * 24
TOKEN_SEEN_KEY = "nous:flags:token-seen"  # noqa: S105 - a Redis key: hash {token id: unix time last used}
FLUSH_EVERY = 1.0
MAX_KNOWN_CLIENTS = 1000  # valid tokens remembered per snapshot as presented


class EnvironmentFlags:
    """What one environment's clients get: its compiled engine and its Unleash client-API answer, whose
    bytes (plain and gzip) are made once per snapshot, on the first request that wants them."""

    __slots__ = ("_answers", "engine", "environment", "etag", "features", "flag_enabled", "keys", "segments", "tally",
                 "variants")

    def __init__(self, environment: str, engine: Engine, features: list[dict[str, Any]],
                 segments: list[dict[str, Any]], counted: bool = True) -> None:
        self.environment = environment
        self.engine = engine
        # this environment's evaluation counts (one an environment that does not exist throws away)
        self.tally = EVALS.tally(environment) if counted else Tally()
        self.features = features  # Unleash client-API features (what the SDKs get)
        self.segments = segments
        self.flag_enabled = {f["name"]: f["enabled"] for f in features}  # the flags' own switches
        self.keys = frozenset(self.flag_enabled)
        self.variants = {f["name"]: frozenset(v.get("name") for v in f["variants"] if isinstance(v, Mapping))
                         for f in features}  # each flag's variant names
        body = json.dumps({"features": features, "segments": segments}, sort_keys=True, default=str)
        self.etag = hashlib.sha256(f"{environment}|{body}".encode()).hexdigest()[:32]
        self._answers: dict[bool, bytes] = {}

    def client_document(self, features: list[dict[str, Any]] | None = None, etag: str | None = None,
                        query: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The Unleash client-API answer (`GET /api/client/features`): every flag, or `features` as
        filtered by the request's `query` under their own `etag`."""
        etag = etag or self.etag
        return {"version": 2, "features": self.features if features is None else features,
                "segments": self.segments,
                "query": {"environment": self.environment, "inlineSegmentConstraints": False, **(query or {})},
                "meta": {"etag": f'"{etag}"', "revisionId": None, "queryHash": etag}}

    def client_answer(self, compressed: bool = False) -> bytes:
        """client_document() for every flag as JSON bytes, gzip-compressed when asked: made once (two
        threads may both make it the first time; they make the same bytes)."""
        found = self._answers.get(compressed)
        if found is None:
            plain = self._answers.get(False)
            if plain is None:
                plain = self._answers[False] = json.dumps(self.client_document(), separators=(",", ":"),
                                                          default=str).encode()
            found = self._answers[compressed] = gzip.compress(plain, 6, mtime=0) if compressed else plain
        return found


class Snapshot:
    """Everything evaluation reads, built together and replaced together: per environment its flags
    (`environments`, in the admin's order), and what they share (segments, tester overrides, tokens).
    `engine`, `features`, `etag`, `flag_enabled` and `keys` are those of the default environment."""

    __slots__ = ("default", "engine", "environments", "etag", "features", "flag_enabled", "keys", "known_clients",
                 "overrides", "segments", "stale", "tokens")

    def __init__(self, environments: dict[str, EnvironmentFlags], overrides: dict[str, dict[str, bool]],
                 tokens: dict[str, tuple[int, str, str]], segments: list[dict[str, Any]], stale: frozenset[str],
                 default: str = PRODUCTION) -> None:
        self.environments = environments
        self.overrides = overrides  # {tester id or lower-case email: {flag key: on/off}}
        self.tokens = tokens  # {sha256 hex of a client token: (id, name, environment)}
        self.known_clients: dict[str, tuple[int, str, str]] = {}  # tokens presented and found, for client()
        self.segments = segments
        self.stale = stale
        self.default = environments.get(default) or EnvironmentFlags(default, Engine(), [], segments, counted=False)
        self.engine = self.default.engine
        self.features = self.default.features
        self.etag = self.default.etag
        self.flag_enabled = self.default.flag_enabled
        self.keys = self.default.keys

    @classmethod
    def empty(cls) -> Snapshot:
        return cls({}, {}, {}, [], frozenset())

    def env(self, environment: str | None) -> EnvironmentFlags:
        """The flags of `environment` (the default one for None; an unknown one has no flags: all off)."""
        if environment is None:
            return self.default
        found = self.environments.get(environment)
        return found if found is not None else EnvironmentFlags(environment, Engine(), [], self.segments,
                                                                counted=False)

    def client(self, raw: str) -> tuple[int, str, str] | None:
        """The (id, name, environment) of a valid client token as presented. Tokens found are remembered for the
        life of this snapshot (a revocation makes a new one), so a client's requests after its first
        skip the SHA-256; unknown tokens are not remembered, so nobody can fill this up."""
        found = self.known_clients.get(raw)
        if found is None:
            found = self.tokens.get(hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest())
            if found is not None:
                if len(self.known_clients) >= MAX_KNOWN_CLIENTS:
                    self.known_clients.clear()
                self.known_clients[raw] = found
        return found

    def overrides_for(self, context: Any) -> dict[str, bool] | None:
        """The tester overrides that apply to this context (by its userId: tester id or email)."""
        if not self.overrides:
            return None
        try:
            uid = context.get("userId") if context is not None else None
        except Exception:  # noqa: BLE001 - not a mapping: no tester
            return None
        if uid.__class__ is not str or not uid:
            return None
        found = self.overrides.get(uid)
        if found is None:
            found = self.overrides.get(uid.strip().lower())
        return found


def _parameter_text(value: Any) -> str:
    """A strategy parameter as Unleash sends it: always a string (the SDKs' engine refuses the whole
    payload when one is a number), numbers as JSON writes them."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) or (isinstance(value, float) and not value.is_integer()):
        return json.dumps(value)
    if isinstance(value, float):
        return str(int(value))
    return json.dumps(value, default=str)


def client_constraints(raw: Any) -> list[Any]:
    """Constraints as the SDKs read them: a `value` is a string (the Python SDK's engine refuses the whole
    payload when one is a number), `values` the list the engine uses (nous.flags.engine.context.string_list:
    text, trimmed, unusable entries left out; the Python SDK compares values as written); anything else is
    passed on as stored."""
    out: list[Any] = []
    for c in raw or []:
        if isinstance(c, Mapping):
            c = dict(c)
            if c.get("value") is not None and not isinstance(c["value"], str):
                c["value"] = _parameter_text(c["value"])
            if isinstance(c.get("values"), list):
                c["values"] = string_list(c["values"])
        out.append(c)
    return out


_ROLLOUTS = frozenset({"flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom"})


def client_strategy(raw: Mapping[str, Any], flag_key: str = "") -> dict[str, Any]:
    """A strategy as the Unleash SDKs expect it: parameters (strings) and constraints always present.
    A rollout without a groupId gets the flag key, the default our engine applies: Unleash's own
    server always stores one, and the SDKs turn gradual rollouts without it off for everyone."""
    params = raw.get("parameters") or {}
    parameters = {str(k): _parameter_text(v) for k, v in params.items() if v is not None}
    if flag_key and raw.get("name") in _ROLLOUTS and not parameters.get("groupId"):
        parameters["groupId"] = flag_key
    out: dict[str, Any] = {"name": raw.get("name"), "parameters": parameters,
                           "constraints": client_constraints(raw.get("constraints"))}
    for key in ("segments", "variants", "title"):
        if raw.get(key):
            out[key] = raw[key]
    return out


def client_feature(row: Mapping[str, Any], stale: bool) -> dict[str, Any]:
    """One flag in Unleash's client-API format; disabled strategies are left out, as Unleash does."""
    out: dict[str, Any] = {
        "name": row["key"], "type": row["type"], "description": row["description"] or "",
        "enabled": bool(row["enabled"]), "stale": stale, "impressionData": bool(row.get("impression_data")),
        "project": "default",
        "strategies": [client_strategy(s, row["key"]) for s in row["strategies"] or []
                       if isinstance(s, Mapping) and s.get("disabled") is not True],
        "variants": list(row["variants"] or []),
    }
    if row["dependencies"]:
        out["dependencies"] = list(row["dependencies"])
    return out


def is_stale(flag_type: str, updated_at: datetime | None, stale_days: int, now: datetime | None = None) -> bool:
    """Unchanged for `stale_days`; kill switches are never stale (they wait for the day they are needed)."""
    if flag_type == "kill-switch" or updated_at is None:
        return False
    if updated_at.tzinfo is None:
        updated_at = updated_at.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - updated_at > timedelta(days=stale_days)


def _load_overrides(conn: Any) -> dict[str, dict[str, bool]]:
    """Every tester's overrides (nous.flags.models.tester_flags), by tester id and by lower-case email."""
    overrides: dict[str, dict[str, bool]] = {}
    columns = tester_flags.c
    for uid, email, flag_set in conn.execute(select(columns.id, columns.email, columns.flag_set)):
        chosen = forced(flag_set)
        if chosen:
            overrides[str(uid).lower()] = chosen
            overrides[str(email).strip().lower()] = chosen
    return overrides


def _load_snapshot() -> Snapshot:
    """Build a snapshot from the database (inside an app context), on a connection of its own."""
    stale_days = settings.get("flags.stale_days")
    try:
        with db.engine.connect() as conn:
            rows = conn.execute(select(
                Flag.id, Flag.key, Flag.description, Flag.type, Flag.variants, Flag.dependencies, Flag.impression_data,
                Flag.updated_at).where(Flag.archived.is_(False)).order_by(Flag.key)).mappings().all()
            states = conn.execute(select(FlagState.flag_id, FlagState.environment, FlagState.enabled,
                                         FlagState.strategies).join(Flag).where(Flag.archived.is_(False))).all()
            names = list(conn.scalars(select(Environment.name).order_by(Environment.position, Environment.id)))
            segs = conn.execute(select(Segment.id, Segment.name, Segment.constraints).order_by(Segment.id)).all()
            toks = conn.execute(select(ClientToken.id, ClientToken.name, ClientToken.token_hash,
                                       ClientToken.environment).where(ClientToken.revoked_at.is_(None))).all()
            overrides = _load_overrides(conn)
    except SQLAlchemyError as exc:
        log.warning("flags: cannot reload from the database, keeping the last flags",
                    extra={"error": str(exc).splitlines()[0][:200]})
        raise Unavailable from None
    now = datetime.now(UTC)
    stale = frozenset(r["key"] for r in rows if is_stale(r["type"], r["updated_at"], stale_days, now))
    segments = [{"id": i, "name": n, "constraints": list(c or [])} for i, n, c in segs]
    client_segments = [{**seg, "constraints": client_constraints(seg["constraints"])} for seg in segments]
    by_flag: dict[tuple[int, str], tuple[bool, list[Any]]] = {
        (fid, env): (bool(on), strategies or []) for fid, env, on, strategies in states}
    environments = {}
    for name in names or DEFAULT_ENVIRONMENTS:
        here = [{**r, "enabled": on, "strategies": strategies} for r in rows
                for on, strategies in (by_flag.get((r["id"], name), (False, [])),)]
        features = [client_feature(r, r["key"] in stale) for r in here]
        engine_features = [{"name": r["key"], "enabled": r["enabled"], "strategies": r["strategies"],
                            "variants": r["variants"] or [], "dependencies": r["dependencies"] or []} for r in here]
        environments[name] = EnvironmentFlags(name, Engine(engine_features, segments), features, client_segments)
    return Snapshot(environments, overrides, {h: (i, n, e) for i, n, h, e in toks}, client_segments, stale,
                    default=settings.get("flags.environment"))


class FlagCache(Followed[Snapshot]):
    """The snapshot of one app in this process, following the flags version key (nous.versioned); the
    evaluation counts travel with its version checks (no Redis call of their own)."""

    def __init__(self, app: Flask) -> None:
        super().__init__(VERSION_KEY, _load_snapshot, Snapshot.empty(), check_every=CHECK_EVERY,
                         offline_reload=OFFLINE_RELOAD, retry_after=RETRY_AFTER_FAILURE, app=app,
                         before_check=self._flush_counts)

    def _flush_counts(self) -> None:
        if EVALS.due():
            EVALS.flush(self.connection())

    def reset(self) -> None:
        """Forget everything (tests start from an empty database), rate-limit leases included."""
        LIMITER.reset()
        super().reset()


_ACTIVE: FlagCache | None = None  # the cache of the last app set up in this process, for callers without a context


def install(app: Flask) -> FlagCache:
    global _ACTIVE
    cache = app.extensions.get("nous.flags")
    if cache is None:
        cache = app.extensions["nous.flags"] = FlagCache(app)
    _ACTIVE = cache
    return cache


def get_cache(app: Flask | None = None) -> FlagCache:
    """The cache of `app`, else of the current app (or of the app set up last, outside any app context)."""
    if app is not None:
        return app.extensions["nous.flags"]
    ctx = _cv_app.get(None) if _cv_app is not None else None
    if ctx is not None:
        return ctx.app.extensions["nous.flags"]
    if _cv_app is None and has_app_context():  # pragma: no cover
        return current_app.extensions["nous.flags"]
    if _ACTIVE is None:
        raise RuntimeError("nous.flags is not set up: create the app first (nous.create_app())")
    return _ACTIVE


def bump_version() -> None:
    """Tell every process that flags (or tester overrides, or tokens) changed: call after the commit.
    A new random token each time (nous.versioned), so a Redis restarted empty cannot repeat a version."""
    get_cache().changed()


def total_key(environment: str, answer: str) -> str:
    """The Redis hash of `environment`'s all-time counts of evaluations that answered `answer` (yes/no)."""
    key = f"nous:flags:evals:{answer}"
    return key if environment == PRODUCTION else f"{key}:env:{environment}"


def hour_key(environment: str, hour: int, answer: str) -> str:
    """The same for one UTC hour (hours since the epoch)."""
    key = f"nous:flags:evals:{hour}:{answer}"
    return key if environment == PRODUCTION else f"{key}:env:{environment}"


def count_keys(environment: str, now_hour: int) -> list[str]:
    """Every Redis hash that can hold `environment`'s evaluation counts: all time, and each hour kept up
    to `now_hour`, in an order that depends on nothing but `now_hour` (two environments' lists pair up)."""
    keys = [total_key(environment, answer) for answer in ("yes", "no")]
    return keys + [hour_key(environment, now_hour - h, answer)
                   for h in range(HOURS_KEPT + 1) for answer in ("yes", "no")]


class Tally:
    """Evaluations of one environment in this process since the last flush, per flag and answer.

    evaluate_all_json answers every flag at once; its answers are counted whole, as one set (the flags'
    keys, then their answers in the same order: {keys: {answers: times}}), and spread over the flags when
    read — one dict update per request instead of one per flag."""

    __slots__ = ("no", "sets", "yes")

    def __init__(self) -> None:
        self.yes: defaultdict[str, int] = defaultdict(int)
        self.no: defaultdict[str, int] = defaultdict(int)
        self.sets: dict[tuple[str, ...], dict[tuple[bool, ...], int]] = {}

    def count_all(self, keys: tuple[str, ...], answers: tuple[bool, ...]) -> None:
        found = self.sets.get(keys)
        if found is None:
            found = self.sets.setdefault(keys, {})
        found[answers] = found.get(answers, 0) + 1

    def counts(self) -> tuple[dict[str, int], dict[str, int]]:
        """(yes, no) per flag so far, the sets spread over their flags (a copy; nothing is reset)."""
        return _spread(dict(self.yes), dict(self.no), self.sets)

    def take(self) -> tuple[dict[str, int], dict[str, int]]:
        """counts(), and this tally starts again from 0."""
        yes, no, sets = self.yes, self.no, self.sets
        self.yes, self.no, self.sets = defaultdict(int), defaultdict(int), {}
        return _spread(yes, no, sets)


def _spread(yes: dict[str, int], no: dict[str, int],
            sets: dict[tuple[str, ...], dict[tuple[bool, ...], int]]) -> tuple[dict[str, int], dict[str, int]]:
    # copies made in one step: a thread that read a dict before the swap may still add to it
    for keys, seen in list(sets.items()):
        for answers, n in list(seen.items()):
            for key, on in zip(keys, answers, strict=False):
                counts = yes if on else no
                counts[key] = counts.get(key, 0) + n
    return yes, no


class EvalCounts:
    """Evaluations of this process since its last flush, per environment, flag and answer (safe to lose).

    Each snapshot's environments hold their `Tally`, so evaluation adds to it without a lookup.
    Increments are plain dict updates without a lock (the GIL makes each one atomic enough); an
    increment racing a flush may be lost, which a counter shown to people can afford."""

    def __init__(self) -> None:
        self.environments: dict[str, Tally] = {}
        self.tokens: dict[int, int] = {}
        self._lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._pause_until = 0.0

    def tally(self, environment: str) -> Tally:
        found = self.environments.get(environment)
        if found is None:
            with self._lock:
                found = self.environments.setdefault(environment, Tally())
        return found

    def token_used(self, token_id: int) -> None:
        self.tokens[token_id] = int(time.time())

    def due(self) -> bool:
        now = time.monotonic()
        return now - self._last_flush >= FLUSH_EVERY and now >= self._pause_until

    def reset(self) -> None:
        """Forget the counts, and any pause after a failed flush (tests start afresh)."""
        with self._lock:
            for tally in self.environments.values():
                tally.take()
            self.tokens = {}
            self._pause_until = 0.0

    def taken(self) -> tuple[dict[str, tuple[dict[str, int], dict[str, int]]], dict[int, int]]:
        """The counts so far, {environment: (yes, no)}, and the tokens used; this process starts again from 0."""
        with self._lock:
            counts = {}
            for name, tally in self.environments.items():
                if tally.yes or tally.no or tally.sets:
                    counts[name] = tally.take()
            tokens, self.tokens = self.tokens, {}
            self._last_flush = time.monotonic()
        return counts, tokens

    def flush(self, conn: redis.Redis) -> None:
        counts, tokens = self.taken()
        if not (counts or tokens):
            return
        hour = int(time.time()) // 3600
        try:
            pipe = conn.pipeline(transaction=False)
            for environment, answers in counts.items():
                for answer, found in zip(("yes", "no"), answers, strict=True):
                    if not found:
                        continue
                    total, this_hour = total_key(environment, answer), hour_key(environment, hour, answer)
                    # a copy made in one step: a thread that read the dict before the swap may still add to it
                    for key, n in list(found.items()):
                        pipe.hincrby(total, key, n)
                        pipe.hincrby(this_hour, key, n)
                    pipe.expire(this_hour, HOURS_KEPT * 3600)
            if tokens:
                pipe.hset(TOKEN_SEEN_KEY, mapping={str(k): v for k, v in tokens.items()})
            pipe.execute()
        except (redis.RedisError, OSError):
            self._pause_until = time.monotonic() + 10  # Redis is down: drop these, try again later


EVALS = EvalCounts()


def read_counts(conn: redis.Redis, hours: int = 24, environment: str = PRODUCTION,
                key: str | None = None) -> dict[str, dict[str, int]]:
    """{flag key: {yes, no, total, recent_yes, recent_no, recent}} of `environment` — all time and the last
    `hours` hours; only flag `key`'s when given (read alone, not with every flag's)."""
    now_hour = int(time.time()) // 3600
    names = [total_key(environment, "yes"), total_key(environment, "no")]
    for h in range(hours):
        names += [hour_key(environment, now_hour - h, "yes"), hour_key(environment, now_hour - h, "no")]
    pipe = conn.pipeline(transaction=False)
    for name in names:
        if key is None:
            pipe.hgetall(name)
        else:
            pipe.hget(name, key)
    results = pipe.execute()
    if key is not None:
        results = [{} if n is None else {key.encode(): n} for n in results]
    out: dict[str, dict[str, int]] = {}

    def add(data: dict[bytes, bytes], field: str) -> None:
        for raw_key, raw_n in data.items():
            row = out.setdefault(raw_key.decode(), {"yes": 0, "no": 0, "recent_yes": 0, "recent_no": 0})
            row[field] += int(raw_n)

    add(results[0], "yes")
    add(results[1], "no")
    for i, data in enumerate(results[2:]):
        add(data, "recent_yes" if i % 2 == 0 else "recent_no")
    for row in out.values():
        row["total"] = row["yes"] + row["no"]
        row["recent"] = row["recent_yes"] + row["recent_no"]
    return out


# --------------------------------------------------------------------------- evaluation (the public API)


def _count(tally: Tally, key: Any, on: bool) -> None:
    if key.__class__ is str:
        counts = tally.yes if on else tally.no
        counts[key] = counts.get(key, 0) + 1


def is_enabled(key: str, context: Mapping[str, Any] | None = None, environment: str | None = None) -> bool:
    """Whether flag `key` is on for `context` (a plain dict: userId, sessionId, remoteAddress,
    currentTime, environment, appName, properties) in the flag environment `environment` (by default
    the setting `flags.environment`). Unknown flags and environments are off; never raises, no I/O
    besides the half-second version check."""
    # get_cache() and Followed.get() inlined: this is the hot path (benchmarks/flags.py)
    app_ctx = _cv_app.get(None) if _cv_app is not None else None
    cache = app_ctx.app.extensions["nous.flags"] if app_ctx is not None else get_cache()
    snap = cache.value if _monotonic() - cache.checked_at < CHECK_EVERY else cache.refresh()
    here = snap.default if environment is None else snap.env(environment)
    engine = here.engine
    if snap.overrides or context.__class__ is not dict or key.__class__ is not str:
        on = engine.is_enabled(key, context, snap.overrides_for(context) if snap.overrides else None)
        if key.__class__ is str:
            (here.tally.yes if on else here.tally.no)[key] += 1
        return on
    check = engine.direct.get(key)  # Engine.is_enabled's own short cut, without its call
    if check is None:
        on = engine.is_enabled(key, context)
    else:
        try:
            on = check(context)
        except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
            on = False
    (here.tally.yes if on else here.tally.no)[key] += 1
    return on


def get_variant(key: str, context: Mapping[str, Any] | None = None, environment: str | None = None) -> dict[str, Any]:
    """{"name", "enabled", "payload", "feature_enabled"}; the variant is "disabled" when the flag is
    off or has no variants, and "payload" is None when the variant has none. `environment` as for
    is_enabled."""
    snap = get_cache().get()
    here = snap.env(environment)
    variant = here.engine.get_variant(key, context, snap.overrides_for(context))
    variant.setdefault("payload", None)
    _count(here.tally, key, variant["feature_enabled"])
    return variant


def evaluate_all(context: Mapping[str, Any] | None = None, environment: str | None = None,
                 counted: bool = True) -> dict[str, dict[str, Any]]:
    """{flag key: {"enabled": bool, "variant": {...}}} for every flag that is not archived, in
    `environment` (as for is_enabled). `counted=False`: the answers are only recorded (feedback keeps the
    flags its tester had), not asked for, and are not added to the evaluation counts."""
    snap = get_cache().get()
    here = snap.env(environment)
    out = here.engine.evaluate_all(context, snap.overrides_for(context))
    yes, no = here.tally.yes, here.tally.no
    for key, result in out.items():
        result["variant"].setdefault("payload", None)
        if counted:
            counts = yes if result["enabled"] else no
            counts[key] = counts.get(key, 0) + 1
    return out


def evaluate_all_json(context: Mapping[str, Any] | None = None, environment: str | None = None,
                      app: Flask | None = None) -> str:
    """evaluate_all() as compact JSON text, the same answers (and counts) without building dicts (`app`: as
    get_cache's)."""
    snap = get_cache(app).get()
    here = snap.env(environment)
    text, keys, answers = here.engine.evaluate_all_json(context, snap.overrides_for(context))
    here.tally.count_all(keys, answers)
    return text


def snapshot(app: Flask | None = None) -> Snapshot:
    """The current snapshot (checked against the version like an evaluation; `app`: as get_cache's)."""
    return get_cache(app).get()
