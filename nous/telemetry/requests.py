"""Request instrumentation: request ids, one JSON log line per request, latency histograms.

Each process counts requests in memory and adds its counts to Redis about once a second, in
ten-second windows, so `/health/metrics` shows every web process and instance together. Prometheus
histograms (`/metrics`) are kept alongside by `prometheus_client`, in multiprocess mode under gunicorn.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from bisect import bisect_left
from collections import Counter
from functools import lru_cache
from typing import Any

import redis
from flask import Flask, Response, g, request
from prometheus_client import Counter as PromCounter
from prometheus_client import Histogram

log = logging.getLogger("nous.request")

# Upper bounds in milliseconds; the last bucket is open.
BUCKETS_MS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, float("inf"))
WINDOW = 10  # seconds per Redis window
KEEP = 3600  # seconds a window lives in Redis
KEY = "nous:reqm:{}"
FLUSH_EVERY = 1.0
# Methods named in the metrics; any other token a client sends counts as OTHER (a bounded set of series).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")

PROM_REQUESTS = PromCounter("nous_http_requests", "HTTP requests", ["method", "endpoint", "status"])
PROM_LATENCY = Histogram(
    "nous_http_request_duration_seconds",
    "HTTP request latency",
    ["endpoint"],
    buckets=(*tuple(b / 1000 for b in BUCKETS_MS[:-1]), float("inf")),
)


class RequestStats:
    """Counts of one process since its last flush (safe to lose)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, int, int], int] = {}  # (endpoint, status class, latency bucket): requests
        self._us: dict[str, int] = {}  # endpoint: microseconds spent
        self._last_flush = time.monotonic()
        self._pause_until = 0.0

    def record(self, endpoint: str, status: int, ms: float) -> None:
        key = (endpoint, status // 100, bisect_left(BUCKETS_MS, ms))
        us = int(ms * 1000)  # microseconds, to stay an integer
        with self._lock:
            seen, spent = self._seen, self._us
            seen[key] = seen.get(key, 0) + 1
            spent[endpoint] = spent.get(endpoint, 0) + us

    def due(self) -> bool:
        now = time.monotonic()
        return now - self._last_flush >= FLUSH_EVERY and now >= self._pause_until

    def reset(self) -> None:
        with self._lock:
            self._seen, self._us = {}, {}

    def _take(self) -> Counter[str]:
        """The counts since the last flush as the Redis hash's fields (n|endpoint|2xx, h|endpoint|bucket,
        s|endpoint|), and a fresh start."""
        with self._lock:
            seen, spent = self._seen, self._us
            self._seen, self._us = {}, {}
            self._last_flush = time.monotonic()
        fields: Counter[str] = Counter()
        for (endpoint, klass, bucket), n in seen.items():
            fields[f"n|{endpoint}|{klass}xx"] += n
            fields[f"h|{endpoint}|{bucket}"] += n
        for endpoint, us in spent.items():
            fields[f"s|{endpoint}|"] += us
        return fields

    def flush(self, conn: redis.Redis) -> None:
        fields = self._take()
        if not fields:
            return
        key = KEY.format(int(time.time()) // WINDOW * WINDOW)
        try:
            pipe = conn.pipeline(transaction=False)
            for field, n in fields.items():
                pipe.hincrby(key, field, n)
            pipe.expire(key, KEEP)
            pipe.execute()
        except (redis.RedisError, OSError):
            self._pause_until = time.monotonic() + 10  # Redis is down: drop these, try again later


STATS = RequestStats()


def percentile(histogram: list[int], q: float) -> float | None:
    """The q-quantile (0..1) in ms from bucket counts, interpolated inside the bucket."""
    total = sum(histogram)
    if not total:
        return None
    rank = q * total
    seen = 0
    for i, n in enumerate(histogram):
        if n and seen + n >= rank:
            lo = 0.0 if i == 0 else BUCKETS_MS[i - 1]
            hi = BUCKETS_MS[i] if BUCKETS_MS[i] != float("inf") else lo * 2
            return round(lo + (hi - lo) * ((rank - seen) / n), 2)
        seen += n
    return BUCKETS_MS[-2]


def summary(conn: redis.Redis, window: int = 300) -> dict[str, Any]:
    """Requests per endpoint and status class, latency percentiles and error rate over `window` s."""
    now = int(time.time()) // WINDOW * WINDOW
    keys = [KEY.format(now - i * WINDOW) for i in range(max(1, window // WINDOW))]
    pipe = conn.pipeline(transaction=False)
    for key in keys:
        pipe.hgetall(key)
    endpoints: dict[str, dict[str, Any]] = {}
    overall = [0] * len(BUCKETS_MS)
    for data in pipe.execute():
        for raw_field, raw_n in data.items():
            kind, endpoint, rest = raw_field.decode().split("|", 2)
            e = endpoints.setdefault(endpoint, {"requests": {}, "hist": [0] * len(BUCKETS_MS), "sum_us": 0})
            n = int(raw_n)
            if kind == "n":
                e["requests"][rest] = e["requests"].get(rest, 0) + n
            elif kind == "h":
                e["hist"][int(rest)] += n
                overall[int(rest)] += n
            elif kind == "s":
                e["sum_us"] += n
    total = errors = 0
    out_endpoints = {}
    for name, e in sorted(endpoints.items()):
        count = sum(e["requests"].values())
        total += count
        errors += e["requests"].get("5xx", 0)
        out_endpoints[name] = {
            "requests": count,
            "by_status": e["requests"],
            "mean_ms": round(e["sum_us"] / 1000 / count, 2) if count else None,
            "p50_ms": percentile(e["hist"], 0.50),
            "p95_ms": percentile(e["hist"], 0.95),
            "p99_ms": percentile(e["hist"], 0.99),
        }
    return {
        "window_seconds": len(keys) * WINDOW,
        "requests": total,
        "requests_per_second": round(total / (len(keys) * WINDOW), 3),
        "error_rate": round(errors / total, 4) if total else 0.0,
        "latency_ms": {
            "p50": percentile(overall, 0.50),
            "p95": percentile(overall, 0.95),
            "p99": percentile(overall, 0.99),
        },
        "endpoints": out_endpoints,
    }


def request_id(sent: str) -> str:
    """The caller's X-Request-ID when it is a plain token, else a new one (an id to correlate log
    lines, not a secret: no system call for randomness on every request)."""
    return sent if sent and _REQUEST_ID.match(sent) else f"{random.getrandbits(64):016x}"


def _before() -> None:
    g.started = time.perf_counter()
    g.request_id = request_id(request.headers.get("X-Request-ID", ""))


@lru_cache(maxsize=2048)
def _prometheus(method: str, endpoint: str, status: int) -> tuple[Any, Any]:
    """The Prometheus series of one (method, endpoint, status), looked up once per process."""
    return PROM_REQUESTS.labels(method, endpoint, str(status)), PROM_LATENCY.labels(endpoint)


def observe(method: str, path: str, endpoint: str, status: int, ms: float, rid: str) -> None:
    """Count, time and log one answered request (Flask's, or one answered in front of it: nous.front)."""
    STATS.record(endpoint, status, ms)
    count, latency = _prometheus(method if method in METHODS else "OTHER", endpoint, status)
    count.inc()
    latency.observe(ms / 1000)
    if log.isEnabledFor(logging.INFO):
        log.info("request", extra={"fields": {
            "request_id": rid, "method": method, "path": path, "status": status, "duration_ms": round(ms, 2),
            "endpoint": endpoint}})


def _after(response: Response) -> Response:
    rid = response.headers["X-Request-ID"] = g.get("request_id", "")
    if request.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
        return response  # a socket's lifetime is not a request latency
    ms = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    observe(request.method, request.path, request.endpoint or "unmatched", response.status_code, ms, rid)
    return response


def init_app(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(_after)
