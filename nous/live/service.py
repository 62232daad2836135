"""Metric history: hourly roll-ups, retention, and the series the dashboard charts draw.

Raw samples are kept `metrics.raw_retention_days`, hourly roll-ups (average and maximum of every
figure) `metrics.rollup_retention_days`. Roll-up is idempotent and runs before every prune, so a
raw sample is never deleted before its hour is rolled up. Cleared alerts live as long as roll-ups.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select

from nous.clock import aware, utcnow
from nous.extensions import db
from nous.live.models import CLEARED, FIGURE_KEYS, FIGURES, Alert, MetricRollup, MetricSample
from nous.settings import service as settings

HOUR = timedelta(hours=1)
RANGES: dict[str, int] = {"1h": 3600, "6h": 6 * 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
DEFAULT_RANGE = "1h"
RAW_UP_TO = 86400  # ranges up to a day are drawn from raw samples, longer ones from hourly roll-ups
MAX_POINTS = 720  # points per series a chart gets at most (more are averaged into buckets)


def hour_of(when: datetime) -> datetime:
    when = aware(when)  # type: ignore[assignment]
    return when.replace(minute=0, second=0, microsecond=0)


def _mean(values: Iterable[float | None]) -> tuple[float | None, float | None, int]:
    present = [v for v in values if v is not None]
    if not present:
        return None, None, 0
    return sum(present) / len(present), max(present), len(present)


def _last_rolled_hour() -> datetime | None:
    return aware(db.session.scalar(select(func.max(MetricRollup.hour))))


def rollup(now: datetime | None = None) -> int:
    """Roll every complete hour of raw samples not rolled up yet into `system_metrics_hourly`.
    Returns the number of hours written."""
    current_hour = hour_of(now or utcnow())
    last = _last_rolled_hour()
    if last is not None:
        start = last + HOUR
    else:
        first = aware(db.session.scalar(select(func.min(MetricSample.at))))
        if first is None:
            return 0
        start = hour_of(first)
    if start >= current_hour:
        return 0
    groups: dict[datetime, list[MetricSample]] = defaultdict(list)
    rows = db.session.scalars(select(MetricSample).where(MetricSample.at >= start, MetricSample.at < current_hour)
                              .order_by(MetricSample.at))
    for row in rows:
        groups[hour_of(row.at)].append(row)
    for hour, samples in sorted(groups.items()):
        values: dict[str, Any] = {}
        for key in FIGURE_KEYS:
            avg, peak, _ = _mean(getattr(s, key) for s in samples)
            values[f"{key}_avg"] = None if avg is None else round(avg, 4)
            values[f"{key}_max"] = peak
        db.session.merge(MetricRollup(hour=hour, samples=len(samples), **values))
    db.session.commit()
    return len(groups)


def prune(now: datetime | None = None) -> dict[str, int]:
    """Roll up, then delete raw samples, roll-ups and cleared alerts past their retention."""
    now = now or utcnow()
    rolled = rollup(now)
    raw_cut = now - timedelta(days=settings.get("metrics.raw_retention_days"))
    keep_cut = now - timedelta(days=settings.get("metrics.rollup_retention_days"))
    last = _last_rolled_hour()
    raw_deleted = 0
    if last is not None:  # never a raw sample whose hour has no roll-up yet
        cut = min(raw_cut, last + HOUR)
        raw_deleted = db.session.execute(delete(MetricSample).where(MetricSample.at < cut)).rowcount or 0
    hourly_deleted = db.session.execute(delete(MetricRollup).where(MetricRollup.hour < keep_cut)).rowcount or 0
    alerts_deleted = db.session.execute(
        delete(Alert).where(Alert.status == CLEARED, Alert.cleared_at < keep_cut)).rowcount or 0
    db.session.commit()
    return {"hours_rolled_up": rolled, "raw_deleted": raw_deleted, "hourly_deleted": hourly_deleted,
            "alerts_deleted": alerts_deleted}


# --- chart series ------------------------------------------------------------------------------

def _bucketed(points: list[tuple[float, dict[str, float | None]]], span: float,
              max_points: int) -> list[tuple[float, dict[str, float | None]]]:
    """Average points into at most `max_points` equal time buckets (bucket start times)."""
    if len(points) <= max_points:
        return points
    width = span / max_points
    start = points[0][0]
    buckets: dict[int, list[dict[str, float | None]]] = defaultdict(list)
    for t, values in points:
        buckets[int((t - start) // width)].append(values)
    out = []
    for index in sorted(buckets):
        group = buckets[index]
        out.append((start + index * width, {k: _round(_mean(v[k] for v in group)[0]) for k in FIGURE_KEYS}))
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _with_gaps(points: list[tuple[float, dict[str, float | None]]], step: float) -> list[tuple[float, dict[str, Any]]]:
    """Insert an empty point where samples are missing, so charts show a gap instead of a line across it."""
    out: list[tuple[float, dict[str, Any]]] = []
    for t, values in points:
        if out and t - out[-1][0] > 3 * step:
            out.append((out[-1][0] + step, dict.fromkeys(FIGURE_KEYS)))
        out.append((t, values))
    return out


def history(range_key: str, now: datetime | None = None) -> dict[str, Any]:
    """The series of every figure over `range_key` (1h, 6h, 24h, 7d, 30d) for the charts (uPlot's layout:
    one list of unix times and one list of values per figure, None where unknown)."""
    if range_key not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}")
    now = now or utcnow()
    seconds = RANGES[range_key]
    since = now - timedelta(seconds=seconds)
    points: list[tuple[float, dict[str, float | None]]]
    if seconds <= RAW_UP_TO:
        step = float(settings.get("metrics.collector_interval_seconds"))
        rows = db.session.scalars(select(MetricSample).where(MetricSample.at >= since).order_by(MetricSample.at))
        points = [(aware(r.at).timestamp(), r.figures()) for r in rows]  # type: ignore[union-attr]
        if len(points) > MAX_POINTS:
            points = _bucketed(points, seconds, MAX_POINTS)
            step = max(step, seconds / MAX_POINTS)
        source = "raw"
    else:
        step = 3600.0
        rolled = db.session.scalars(select(MetricRollup).where(MetricRollup.hour >= hour_of(since))
                                    .order_by(MetricRollup.hour))
        points = [(aware(r.hour).timestamp(), {k: getattr(r, f"{k}_avg") for k in FIGURE_KEYS})  # type: ignore[union-attr]
                  for r in rolled]
        # The hours since the last roll-up, from raw samples.
        tail_from = datetime.fromtimestamp(points[-1][0], tz=now.tzinfo) + HOUR if points else hour_of(since)
        tail: dict[datetime, list[MetricSample]] = defaultdict(list)
        for r in db.session.scalars(select(MetricSample).where(MetricSample.at >= tail_from)):
            tail[hour_of(r.at)].append(r)
        for hour in sorted(tail):
            points.append((hour.timestamp(), {k: _round(_mean(getattr(s, k) for s in tail[hour])[0])
                                              for k in FIGURE_KEYS}))
        source = "hourly"
    points = _with_gaps(points, step)
    return {
        "range": range_key,
        "from": since.isoformat(),
        "to": now.isoformat(),
        "source": source,
        "step": step,
        "figures": [{"key": f.key, "label": f.label, "unit": f.unit} for f in FIGURES],
        "t": [round(t, 3) for t, _ in points],
        "series": {k: [v[k] for _, v in points] for k in FIGURE_KEYS},
    }


def latest_sample() -> MetricSample | None:
    return db.session.scalar(select(MetricSample).order_by(MetricSample.at.desc(), MetricSample.id.desc()).limit(1))


# --- who may open the live socket -------------------------------------------------------------

def origin_of(url: str) -> str:
    """scheme://host[:port] of a URL, lower-case."""
    parts = urlsplit(url.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else ""


def origin_allowed(origin: str | None, own_origin: str, base_url: str = "") -> bool:
    """Whether a socket's Origin header is this site (as reached, or as SYSTEM_BASE_URL names it).
    A missing Origin is refused: browsers always send one, and the check is what stops other sites."""
    if not origin:
        return False
    allowed = {own_origin.lower().rstrip("/")}
    if base_url:
        allowed.add(origin_of(base_url))
    return origin.strip().lower().rstrip("/") in allowed


def session_deadline(signed_in_at: float | int | None) -> float | None:
    """Unix time at which the admin session ends for good (`auth.session_absolute_hours` after sign-in)."""
    if not signed_in_at:
        return None
    return float(signed_in_at) + settings.get("auth.session_absolute_hours") * 3600
