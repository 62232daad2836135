"""Figures: the public statistics (cached, refreshed in the background), the console's charts and the
rows per status. Spam never counts."""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import redis
from flask import current_app
from sqlalchemy import Date, cast, func, select
from sqlalchemy.exc import SQLAlchemyError

from nous.clock import utcnow
from nous.extensions import cache, db, get_redis
from nous.feedback.models import STATUSES, Feedback
from nous.feedback.service.common import (
    BY_STATUS_KEY,
    CHARTS_CACHE_SECONDS,
    CHARTS_KEY,
    STATS_CACHE_SECONDS,
    STATS_KEY,
    STATS_STALE_SECONDS,
    day_start,
)

log = logging.getLogger("nous.feedback")

_VISIBLE = Feedback.status != "spam"


def _day_expr() -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Feedback.created_at), Date)
    return func.date(Feedback.created_at)


def _day_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _avg(total: int, n: int) -> float | None:
    return round(total / n, 2) if n else None


def _per_day(start: date) -> dict[str, tuple[int, int]]:
    """{"YYYY-MM-DD": (rows, sum of their ratings)} from `start` on (UTC days), over the created_at index."""
    day = _day_expr()
    return {_day_key(d): (n, int(s)) for d, n, s in db.session.execute(
        select(day, func.count(), func.sum(Feedback.rating)).where(_VISIBLE, Feedback.created_at >= day_start(start))
        .group_by(day))}


def compute_stats(top_features: int = 20) -> dict[str, Any]:
    """Public figures over everything but spam: total, average, distribution, per feature, last 30 days.

    Two statements: one grouped pass over the table (feature x rating) and one range over the last
    30 days on the created_at index.
    """
    distribution = {str(i): 0 for i in range(1, 6)}
    features: dict[str | None, list[int]] = {}
    for feature, rating, n in db.session.execute(
            select(Feedback.feature, Feedback.rating, func.count()).where(_VISIBLE)
            .group_by(Feedback.feature, Feedback.rating)):
        distribution[str(rating)] += n
        acc = features.setdefault(feature, [0, 0])
        acc[0] += n
        acc[1] += n * rating
    total = sum(distribution.values())
    rating_sum = sum(int(k) * v for k, v in distribution.items())
    ranked = sorted(features.items(), key=lambda kv: (-kv[1][0], kv[0] is None, kv[0] or ""))[:top_features]
    per_feature = [{"feature": f, "count": n, "average_rating": round(s / n, 2)} for f, (n, s) in ranked]
    start = utcnow().date() - timedelta(days=29)
    by_day = _per_day(start)
    daily = []
    for i in range(30):
        d = (start + timedelta(days=i)).isoformat()
        n, s = by_day.get(d, (0, 0))
        daily.append({"date": d, "count": n, "average_rating": _avg(s, n)})
    n30 = sum(x["count"] for x in daily)
    s30 = sum(v[1] for k, v in by_day.items() if k >= start.isoformat())
    return {
        "total": total,
        "average_rating": _avg(rating_sum, total),
        "distribution": distribution,
        "per_feature": per_feature,
        "last_30_days": {"total": n30, "average_rating": _avg(s30, n30), "daily": daily},
        "generated_at": utcnow().replace(microsecond=0).isoformat(),
    }


_computing = threading.Lock()  # one computation per process at a time


def stats() -> dict[str, Any]:
    """`compute_stats()`, cached in this process: fresh for STATS_CACHE_SECONDS; after that the old
    figures are still served (up to STATS_STALE_SECONDS) while a background thread computes new
    ones, so no request waits for the computation but the very first."""
    entry = cache.get(STATS_KEY)
    if entry is not None and time.monotonic() - entry[0] < STATS_CACHE_SECONDS:
        return entry[1]
    if entry is not None:
        if _computing.acquire(blocking=False):  # released by the thread when it is done
            _in_background("stats", current_app._get_current_object(),  # type: ignore[attr-defined]
                           _store_stats, _computing.release)
        return entry[1]  # seconds old: the new figures follow in a moment
    with _computing:
        latest = cache.get(STATS_KEY)  # another request may have computed them while this one waited
        if latest is not None:
            return latest[1]
        return _store_stats()


def _store_stats() -> dict[str, Any]:
    figures = compute_stats()
    cache.set(STATS_KEY, (time.monotonic(), figures), timeout=STATS_STALE_SECONDS)
    return figures


def _in_background(name: str, app: Any, compute: Callable[[], Any], finished: Callable[[], None]) -> None:
    """Start a thread that runs `compute` in `app` (its failure is logged: the old figures stay, and the next
    request after them tries again), then `finished` (at once when no thread can be started)."""

    def run() -> None:
        try:
            with app.app_context():
                try:
                    compute()
                except Exception:
                    log.exception("feedback figures not refreshed", extra={"figures": name})
                finally:
                    db.session.remove()
        finally:
            finished()

    try:
        threading.Thread(target=run, name=f"feedback-{name}", daemon=True).start()
    except RuntimeError:  # no thread to be had: the old figures stay, and the next request tries again
        log.exception("feedback figures not refreshed", extra={"figures": name})
        finished()


def invalidate() -> None:
    """Status changes move rows in or out of the statistics (spam) and the status counts."""
    cache.delete_many(STATS_KEY, BY_STATUS_KEY)
    header_changed()


def header_changed() -> None:
    """Feedback came or changed: the header's figures (of a large table, kept for every process) are old."""
    try:
        get_redis().incr(HEADER_GENERATION_KEY)
    except (redis.RedisError, OSError):
        pass  # they are counted again within HEADER_REUSE_SECONDS or so anyway


def charts(days: int = 90) -> dict[str, Any]:
    """Series for the console charts: per day volume and average rating, per feature, per rating."""
    days = max(7, min(days, 365))
    key = CHARTS_KEY.format(days)
    cached = cache.get(key)
    if cached is not None:
        return cached
    start = utcnow().date() - timedelta(days=days - 1)
    rows = _per_day(start)
    xs, counts, avgs = [], [], []
    for i in range(days):
        d = start + timedelta(days=i)
        n, s = rows.get(d.isoformat(), (0, 0))
        xs.append(int(day_start(d).timestamp()))
        counts.append(n)
        avgs.append(_avg(s, n))
    base = stats()
    result = {
        "days": xs, "count": counts, "average": avgs,
        "features": [{"feature": f["feature"] or "(none)", "count": f["count"], "average": f["average_rating"]}
                     for f in base["per_feature"][:12]],
        "ratings": [base["distribution"][str(i)] for i in range(1, 6)],
    }

    cache.set(key, result, timeout=CHARTS_CACHE_SECONDS)
    return result


HEADER_INLINE_SECONDS = 0.05  # figures that took less to count are counted for every page that asks
HEADER_REUSE_SECONDS = 1.0  # larger tables: figures this fresh are answered as they are (or ten times as long as
HEADER_REUSE_FACTOR = 10  # their counting took: it takes at most a tenth of one process's time)
HEADER_KEY = "nous:feedback:header"  # JSON {"value", "at" (epoch s), "took" (s), "generation"}, for every process
HEADER_GENERATION_KEY = "nous:feedback:header:generation"  # invalidate() adds one: older figures are not fresh
HEADER_COUNTING_KEY = "nous:feedback:header:counting"  # one process counts a large table at a time
HEADER_KEEP_SECONDS = 3600
HEADER_RECOUNT_LOOK_SECONDS = 0.5  # a page whose figures are being counted again looks again after this


def _compute_header() -> dict[str, Any]:
    """Three aggregates: everything but spam, the last 30 days of it (on the created_at index), and what
    waits for triage."""
    total, rating_sum = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Feedback.rating), 0)).where(_VISIBLE)).one()
    start = utcnow().date() - timedelta(days=29)
    recent, recent_sum = db.session.execute(
        select(func.count(), func.coalesce(func.sum(Feedback.rating), 0))
        .where(_VISIBLE, Feedback.created_at >= day_start(start))).one()
    waiting = db.session.scalar(select(func.count()).select_from(Feedback).where(Feedback.status == "new"))
    return {"total": total, "average_rating": _avg(int(rating_sum), total), "waiting": waiting or 0,
            "last_30_days": {"total": recent, "average_rating": _avg(int(recent_sum), recent)}}


def _count_header(generation: int, last: dict[str, Any] | None) -> dict[str, Any]:
    """Count, and keep the figures for every process (as of `generation`, read before counting). What the
    counting takes is kept as an average with the last ones (one slow count, on a cold start, does not make
    a small table count in the background)."""
    started = time.time()
    value = _compute_header()
    took = time.time() - started
    if last is not None:
        took = (took + last["took"]) / 2
    entry = {"value": value, "at": started, "took": took, "generation": generation}
    try:
        get_redis().set(HEADER_KEY, json.dumps(entry), ex=HEADER_KEEP_SECONDS)
    except (redis.RedisError, OSError):
        pass  # the next page counts again
    return value


def header_figures() -> tuple[dict[str, Any], float | None]:
    """The console header's figures (everything but spam: how many, their average, the last 30 days; what
    waits for triage), and after how many seconds the page should ask again (None: when feedback changes).

    They are counted for every page that asks (the page asks whenever feedback changes), unless that took
    HEADER_INLINE_SECONDS or more last time (a million rows). Then a page gets the latest figures any
    process counted (kept in Redis: every process answers the same) at once, and asks again every
    HEADER_REUSE_SECONDS, or ten times what the counting took; when they are older than that, or than a
    new feedback or a status change (header_changed), one process counts again in a thread and the page
    looks again in half a second. So the header follows within a second or two, and no page waits for the
    counting but the first one after a start (or while Redis is away)."""
    try:
        conn = get_redis()
        raw, generation_text = conn.mget(HEADER_KEY, HEADER_GENERATION_KEY)
    except (redis.RedisError, OSError):
        return _compute_header(), None
    generation = _generation(conn, generation_text)
    entry = _kept_entry(raw)
    if entry is None or entry["took"] < HEADER_INLINE_SECONDS:
        return _count_header(generation, entry), None
    reuse = max(HEADER_REUSE_SECONDS, HEADER_REUSE_FACTOR * entry["took"])
    if time.time() - entry["at"] < reuse and entry["generation"] == generation:
        return entry["value"], reuse
    try:  # held while counting; it expires on its own if the process ends or the counting fails
        counting = conn.set(HEADER_COUNTING_KEY, "1", nx=True, ex=max(5, math.ceil(reuse)))
    except (redis.RedisError, OSError):
        counting = False
    if counting:
        _in_background("header", current_app._get_current_object(),  # type: ignore[attr-defined]
                       lambda: _recount(conn, generation, entry), lambda: None)
    return entry["value"], max(HEADER_RECOUNT_LOOK_SECONDS, entry["took"])


def _kept_entry(raw: bytes | None) -> dict[str, Any] | None:
    """The figures kept in Redis, or None when there are none or they are not in the shape _count_header
    writes (damaged, or written by another version): then they are counted again and written over."""
    try:
        entry = json.loads(raw) if raw else None
    except ValueError:
        return None
    if not isinstance(entry, dict) or not all(_number(entry.get(k)) for k in ("at", "took", "generation")):
        return None
    value = entry.get("value")
    if not isinstance(value, dict) or not all(_number(value.get(k)) for k in ("total", "waiting")) \
            or not isinstance(value.get("last_30_days"), dict) or not _number(value["last_30_days"].get("total")):
        return None
    return entry


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _generation(conn: redis.Redis, text: bytes | None) -> int:
    """The generation header_changed counts up; one that is not a number (damaged) is removed, since INCR
    would fail on it for good and the figures would no longer follow new feedback."""
    try:
        return int(text or 0)
    except ValueError:
        try:
            conn.delete(HEADER_GENERATION_KEY)
        except (redis.RedisError, OSError):
            pass
        return 0


def _recount(conn: redis.Redis, generation: int, last: dict[str, Any]) -> None:
    """Count in the background, then let the next count start. A count that fails (the database is away)
    keeps the others waiting until the lock expires, so it is not tried again at every page's look."""
    _count_header(generation, last)
    try:
        conn.delete(HEADER_COUNTING_KEY)
    except (redis.RedisError, OSError):
        pass  # it expires on its own


def counts_by_status() -> dict[str, int]:
    """Rows per status (the admin API's statistics), cached like the statistics."""
    key = BY_STATUS_KEY
    cached = cache.get(key)
    if cached is not None:
        return cached
    out = dict.fromkeys(STATUSES, 0)
    try:
        for status, n in db.session.execute(select(Feedback.status, func.count()).group_by(Feedback.status)):
            out[status] = n
    except SQLAlchemyError:
        db.session.rollback()
        return out
    cache.set(key, out, timeout=STATS_CACHE_SECONDS)
    return out
