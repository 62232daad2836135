"""Times every SQL statement through SQLAlchemy's cursor events.

Per process: counts, total and max time, and recent samples per normalized statement, added to Redis
about every two seconds (`STATS.flush`) so the report covers every process. Statements slower than
the threshold are queued in Redis with their parameters; their plans are taken later, off the
request path, by `service.capture_plans()`.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import re
import threading
import time
from collections import defaultdict
from functools import lru_cache
from typing import Any

import redis
from flask import has_app_context
from sqlalchemy import event
from sqlalchemy.engine import Engine

from nous.settings import service as settings

STATS_KEY = "nous:dbq:stats"
TEXT_KEY = "nous:dbq:text"
SAMPLES_KEY = "nous:dbq:samples:{}"
SLOW_KEY = "nous:dbq:slow"
SAMPLES_KEPT = 500
SLOW_KEPT = 1000

# Set while the monitor runs its own statements (EXPLAIN), so they are not measured.
_quiet: contextvars.ContextVar[bool] = contextvars.ContextVar("nous_dbmonitor_quiet", default=False)

_LITERALS = [
    (re.compile(r"'(?:[^']|'')*'"), "?"),                     # string literals
    (re.compile(r"%\(\w+\)s|:\w+\b|\$\d+|%s"), "?"),          # bound parameters of every paramstyle
    (re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w.])"), "?"), # numbers not inside names
    (re.compile(r"\(\s*\?(?:\s*,\s*\?)+\s*\)"), "(?, …)"),    # IN lists of any length
    (re.compile(r"\s+"), " "),
]

_MAX_SCRIPT = """
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
"""


@lru_cache(maxsize=4096)
def normalize(statement: str) -> tuple[str, str]:
    """The statement with literals and parameters replaced by `?`, and a short digest of it."""
    text = statement.strip()
    for pattern, repl in _LITERALS:
        text = pattern.sub(repl, text)
    return text, hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def statement_type(text: str) -> str:
    word = text.lstrip("( ").split(" ", 1)[0].upper()
    return word if word in {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"} else "OTHER"


class QueryStats:
    """This process's measurements since the last flush (safe to lose)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()
        self._last_flush = time.monotonic()
        self._pause_until = 0.0
        self.slow_ms = 100.0
        self.total = 0  # statements seen by this process since start (used by tests and benchmarks)

    def _reset(self) -> None:
        self._count: dict[str, int] = defaultdict(int)
        self._sum_us: dict[str, int] = defaultdict(int)
        self._max_us: dict[str, int] = defaultdict(int)
        self._samples: dict[str, list[int]] = defaultdict(list)
        self._text: dict[str, str] = {}
        self._slow: list[str] = []

    def record(self, statement: str, params: Any, seconds: float) -> None:
        text, digest = normalize(statement)
        us = int(seconds * 1_000_000)
        with self._lock:
            self.total += 1
            self._count[digest] += 1
            self._sum_us[digest] += us
            if us > self._max_us[digest]:
                self._max_us[digest] = us
            samples = self._samples[digest]
            if len(samples) < SAMPLES_KEPT:
                samples.append(us)
            self._text[digest] = text
            if us >= self.slow_ms * 1000 and len(self._slow) < 100:
                self._slow.append(json.dumps({
                    "digest": digest, "text": text, "statement": statement,
                    "params": _jsonable(params), "ms": round(us / 1000, 2), "at": time.time(),
                }, default=str))

    def due(self) -> bool:
        now = time.monotonic()
        return now - self._last_flush >= 2.0 and now >= self._pause_until

    def flush(self, conn: redis.Redis) -> None:
        with self._lock:
            count, sum_us, max_us, samples, text, slow = (
                self._count, self._sum_us, self._max_us, self._samples, self._text, self._slow)
            self._reset()
            self._last_flush = time.monotonic()
        try:
            if count:
                bump_max = conn.register_script(_MAX_SCRIPT)
                pipe = conn.pipeline(transaction=False)
                for digest, n in count.items():
                    pipe.hincrby(STATS_KEY, f"{digest}|count", n)
                    pipe.hincrby(STATS_KEY, f"{digest}|sum_us", sum_us[digest])
                    bump_max(keys=[STATS_KEY], args=[f"{digest}|max_us", max_us[digest]], client=pipe)
                    pipe.hsetnx(TEXT_KEY, digest, text[digest])
                    pipe.lpush(SAMPLES_KEY.format(digest), *samples[digest])
                    pipe.ltrim(SAMPLES_KEY.format(digest), 0, SAMPLES_KEPT - 1)
                if slow:
                    pipe.lpush(SLOW_KEY, *slow)
                    pipe.ltrim(SLOW_KEY, 0, SLOW_KEPT - 1)
                pipe.execute()
        except (redis.RedisError, OSError):
            self._pause_until = time.monotonic() + 10
        self.refresh_threshold()

    def refresh_threshold(self) -> None:
        """Take the threshold from this process's settings cache (no I/O; it refreshes elsewhere)."""
        if has_app_context():
            self.slow_ms = float(settings.peek("db.slow_query_ms"))

    def reset(self) -> None:
        with self._lock:
            self._reset()


STATS = QueryStats()


def _jsonable(params: Any) -> Any:
    if isinstance(params, dict):
        return {k: _jsonable(v) for k, v in params.items()}
    if isinstance(params, (list, tuple)):
        return [_jsonable(v) for v in params]
    if params is None or isinstance(params, (str, int, float, bool)):
        return params
    data = getattr(params, "obj", params)  # (psycopg's Binary wraps the bytes in .obj)
    if isinstance(data, (bytes, bytearray, memoryview)):
        return f"<{len(data):,} bytes>"  # not its repr: a 2 MB file would be an 8 MB string, with the GIL held
    return str(params)


def _before(conn, cursor, statement, parameters, context, executemany) -> None:
    conn.info.setdefault("nous_started", []).append(time.perf_counter())


def _after(conn, cursor, statement, parameters, context, executemany) -> None:
    started = conn.info["nous_started"].pop()
    if not _quiet.get():
        STATS.record(statement, None if executemany else parameters, time.perf_counter() - started)


def _error(exception_context) -> None:
    conn = exception_context.connection
    if conn is not None and conn.info.get("nous_started"):
        conn.info["nous_started"].pop()


def instrument(engine: Engine) -> None:
    if not event.contains(engine, "before_cursor_execute", _before):
        event.listen(engine, "before_cursor_execute", _before)
        event.listen(engine, "after_cursor_execute", _after)
        event.listen(engine, "handle_error", _error)


class quiet:
    """Context manager: statements run inside are not measured."""

    def __enter__(self) -> None:
        self._token = _quiet.set(True)

    def __exit__(self, *exc: object) -> None:
        _quiet.reset(self._token)
