"""Figures over the history for the console's tiles and charts: per-task stats and time series."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, cast, func, select, text

from nous.clock import utcnow
from nous.extensions import db
from nous.jobs.models import ACTIVE_STATES, ENDED_STATES, FAILED, FINISHED, STATES, JobRun


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * pct
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def stats(hours: int = 24) -> list[dict[str, Any]]:
    """Per task over the last `hours`: counts by status, throughput per hour, failure rate, mean/p95 ms."""
    since = utcnow() - timedelta(hours=hours)
    rows: dict[str, dict[str, Any]] = {}

    def row(task: str) -> dict[str, Any]:
        return rows.setdefault(task, {"task": task, "counts": dict.fromkeys(STATES, 0)})

    ended = (select(JobRun.task, JobRun.status, func.count()).where(JobRun.ended_at >= since)
             .where(JobRun.status.in_(ENDED_STATES)).group_by(JobRun.task, JobRun.status))
    active = (select(JobRun.task, JobRun.status, func.count()).where(JobRun.status.in_(ACTIVE_STATES))
              .group_by(JobRun.task, JobRun.status))
    for stmt in (ended, active):
        for task, status, n in db.session.execute(stmt):
            row(task)["counts"][status] = n
    durations: dict[str, list[float]] = defaultdict(list)
    timing: dict[str, tuple[float | None, float | None]] = {}
    done = and_(JobRun.ended_at >= since, JobRun.status == FINISHED, JobRun.duration_ms.is_not(None))
    if db.engine.dialect.name == "postgresql":
        stmt = (select(JobRun.task, func.avg(JobRun.duration_ms),
                       func.percentile_cont(0.95).within_group(JobRun.duration_ms.asc()))
                .where(done).group_by(JobRun.task))
        for task, mean, p95 in db.session.execute(stmt):
            timing[task] = (float(mean) if mean is not None else None, float(p95) if p95 is not None else None)
    else:
        for task, ms in db.session.execute(select(JobRun.task, JobRun.duration_ms).where(done)):
            durations[task].append(ms)
        for task, values in durations.items():
            timing[task] = (sum(values) / len(values), _percentile(values, 0.95))
    out = []
    for task, r in sorted(rows.items()):
        c = r["counts"]
        finished, failed = c[FINISHED], c[FAILED]
        mean, p95 = timing.get(task, (None, None))
        out.append({
            "task": task, "counts": c, "total": sum(c.values()),
            "per_hour": round((finished + failed) / hours, 2),
            "failure_rate": round(failed / (finished + failed), 4) if finished + failed else None,
            "mean_ms": round(mean, 2) if mean is not None else None,
            "p95_ms": round(p95, 2) if p95 is not None else None,
        })
    return out


RANGES = {"48h": (48, 3600), "14d": (14 * 24, 86400), "30d": (30 * 24, 86400)}


def series(range_: str = "48h") -> dict[str, Any]:
    """Jobs processed (ended) and failed per hour or per day, for the charts."""
    if range_ not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}")
    hours, size = RANGES[range_]
    now = utcnow()
    start = int((now - timedelta(hours=hours)).timestamp()) // size * size
    if db.engine.dialect.name == "postgresql":
        bucket = func.floor(func.extract("epoch", JobRun.ended_at) / size)
    else:
        bucket = cast(func.strftime("%s", JobRun.ended_at), Integer) // size
    stmt = (select(bucket.label("b"), JobRun.status, func.count())
            .where(JobRun.ended_at >= datetime.fromtimestamp(start, UTC))
            .where(JobRun.status.in_((FINISHED, FAILED))).group_by(text("b"), JobRun.status))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {FINISHED: 0, FAILED: 0})
    for b, status, n in db.session.execute(stmt):
        counts[int(b)][status] += n
    ts, processed, failed = [], [], []
    for t in range(start, int(now.timestamp()) + 1, size):
        c = counts.get(t // size, {FINISHED: 0, FAILED: 0})
        ts.append(t)
        processed.append(c[FINISHED] + c[FAILED])
        failed.append(c[FAILED])
    return {"range": range_, "bucket_seconds": size, "t": ts, "processed": processed, "failed": failed}
