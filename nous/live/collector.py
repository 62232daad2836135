"""The collector: one sample of the system's figures into `system_metrics`, then the alert rules.

`collect()` is what the recurring job runs every `metrics.collector_interval_seconds`; `record()`
stores given figures (the collector's, or a test's) and does everything that follows a sample:
the row, the `metrics` live event and the alert evaluation.

Where each figure comes from:
- CPU: busy share of this host's CPU time since the previous sample (kept in Redis per host), so
  the figure is the average over the whole interval rather than a glimpse; psutil for the times.
- memory, disk (the instance folder's file system), load: psutil / os on the collector's host.
- request rate, error rate (5xx share), p95 latency: the last minute of every web process's request
  counts in Redis (nous.telemetry.requests.summary).
- queue depth: jobs waiting in the high, default and low queues.
- DB p95: over the latest timings (up to 100 per normalized statement) the DB monitor keeps in Redis.
- failing checks: the health document's checks that fail, and external ones (SMTP, probes) that warn.
"""

from __future__ import annotations

import logging
import math
import os
import socket
from collections.abc import Callable
from datetime import datetime
from typing import Any

import psutil
import redis
from flask import current_app

from nous.clock import utcnow
from nous.dbmonitor.monitor import SAMPLES_KEY, TEXT_KEY
from nous.extensions import db, get_redis
from nous.health import service as health
from nous.live import alerts
from nous.live.events import publish
from nous.live.models import FIGURE_KEYS, REQUEST_WINDOW, MetricSample
from nous.settings import service as settings
from nous.telemetry.requests import summary

log = logging.getLogger("nous.live")

CPU_KEY = "nous:live:cpu:{}"
EXTERNAL_CHECKS = ("smtp:", "probe:")  # a warning from these means the dependency is down
IGNORED_CHECKS = ("shutdown:",)  # a draining web process is not an incident
DB_SAMPLES_PER_STATEMENT = 100


def host_name() -> str:
    return socket.gethostname()[:255]


def _busy_total(times: Any) -> tuple[float, float]:
    fields = times._asdict()
    # On Linux guest time is already counted in user/nice time.
    total = sum(fields.values()) - fields.get("guest", 0.0) - fields.get("guest_nice", 0.0)
    idle = fields.get("idle", 0.0) + fields.get("iowait", 0.0)
    return total - idle, total


def cpu_percent(conn: redis.Redis, host: str, interval: int) -> float:
    """Average CPU use since this host's previous sample; a half-second measure the first time."""
    busy, total = _busy_total(psutil.cpu_times())
    key = CPU_KEY.format(host)
    try:
        previous = conn.set(key, f"{busy} {total}", ex=max(90, 3 * interval), get=True)
    except (redis.RedisError, OSError):
        previous = None
    if previous:
        prev_busy, prev_total = (float(x) for x in previous.split())
        if total > prev_total:
            return round(max(0.0, min(100.0, 100 * (busy - prev_busy) / (total - prev_total))), 1)
    return round(psutil.cpu_percent(interval=0.5), 1)


def db_p95_ms(conn: redis.Redis) -> float | None:
    digests = conn.hkeys(TEXT_KEY)[:1000]
    if not digests:
        return None
    pipe = conn.pipeline(transaction=False)
    for digest in digests:
        pipe.lrange(SAMPLES_KEY.format(digest.decode()), 0, DB_SAMPLES_PER_STATEMENT - 1)
    samples = sorted(int(x) for batch in pipe.execute() for x in batch)
    if not samples:
        return None
    return round(samples[max(0, math.ceil(0.95 * len(samples)) - 1)] / 1000, 3)


def failing_checks(doc: dict[str, Any]) -> dict[str, str]:
    """{check name: why} for the checks of a health document that count as failing."""
    out = {}
    for name, results in doc.get("checks", {}).items():
        if name.startswith(IGNORED_CHECKS):
            continue
        for r in results:
            if r.get("status") == "fail" or (r.get("status") == "warn" and name.startswith(EXTERNAL_CHECKS)):
                out[name] = str(r.get("output") or r.get("status"))[:300]
    return out


def _guarded(figure: str, fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # one figure missing must not lose the others  # noqa: BLE001
        log.warning("metric not sampled", extra={"figure": figure, "error": str(exc).splitlines()[0][:200]
                                                 if str(exc) else type(exc).__name__})
        db.session.rollback()
        return None


def sample() -> tuple[dict[str, float | None], dict[str, str]]:
    """(figures, failing checks) of this moment. Missing figures are None."""
    conn = get_redis()
    interval = _guarded("interval", lambda: settings.get("metrics.collector_interval_seconds")) or 30
    figures: dict[str, float | None] = dict.fromkeys(FIGURE_KEYS)
    figures["cpu_percent"] = _guarded("cpu_percent", lambda: cpu_percent(conn, host_name(), interval))
    figures["memory_percent"] = _guarded("memory_percent", lambda: round(psutil.virtual_memory().percent, 1))
    figures["disk_percent"] = _guarded(
        "disk_percent", lambda: round(psutil.disk_usage(current_app.config["INSTANCE_PATH"]).percent, 1))
    figures["load_1m"] = _guarded("load_1m", lambda: round(os.getloadavg()[0], 2))
    requests = _guarded("requests", lambda: summary(conn, REQUEST_WINDOW))
    if requests:
        figures["requests_per_second"] = requests["requests_per_second"]
        figures["error_rate"] = requests["error_rate"] if requests["requests"] else None
        figures["latency_p95_ms"] = requests["latency_ms"]["p95"]
    figures["queue_depth"] = _guarded("queue_depth", lambda: float(sum(health.queue_depths().values())))
    figures["db_p95_ms"] = _guarded("db_p95_ms", lambda: db_p95_ms(conn))
    doc = _guarded("checks", health.detailed)
    return figures, failing_checks(doc) if doc else {}


def record(figures: dict[str, float | None], failing: dict[str, str] | None = None, at: datetime | None = None,
           host: str | None = None, evaluate: bool = True) -> MetricSample:
    """Store one sample, publish it to live viewers and (by default) evaluate the alert rules on it."""
    unknown = set(figures) - set(FIGURE_KEYS)
    if unknown:
        raise ValueError(f"unknown figures: {', '.join(sorted(unknown))}")
    row = MetricSample(at=at or utcnow(), host=host if host is not None else host_name(),
                       failing_checks=dict(failing or {}),
                       **{k: (None if figures.get(k) is None else float(figures[k])) for k in FIGURE_KEYS})
    db.session.add(row)
    db.session.commit()
    publish("metrics", row.as_event())
    if evaluate:
        alerts.evaluate()
    return row


def collect() -> MetricSample:
    """Sample now and record it (the collector job's work)."""
    figures, failing = sample()
    return record(figures, failing)
