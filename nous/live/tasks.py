"""RQ entry points of live operations: the collector, the hourly roll-up and the daily prune."""

from __future__ import annotations

import logging
from typing import Any

from nous.jobs import service as jobs
from nous.jobs.registry import task
from nous.live import collector, service
from nous.settings import service as settings

log = logging.getLogger("nous.live")

COLLECT = "live.collect"


@task(COLLECT, retry=None, priority=2, timeout=60, interval=30)
def collect() -> dict[str, Any]:
    """Samples CPU, memory, disk, load, requests, errors, latency, queue depth and DB p95; checks alerts."""
    row = collector.collect()
    _follow_interval_setting()
    return {"sample_id": row.id, "cpu_percent": row.cpu_percent, "failing_checks": len(row.failing_checks or {})}


def _follow_interval_setting() -> None:
    """Keep the collector's schedule at `metrics.collector_interval_seconds` (the declared 30 s is the default)."""
    try:
        jobs.schedule_interval(COLLECT, settings.get("metrics.collector_interval_seconds"), COLLECT)
    except Exception:  # the sample is stored; the schedule is fixed on the next run
        log.exception("could not align the collector's schedule with its setting")


@task("live.rollup", retry=(2, [60, 300]), priority=8, timeout=600, cron="5 * * * *")
def rollup() -> dict[str, int]:
    """Rolls the complete hours of raw metric samples up into hourly averages and maxima."""
    return {"hours": service.rollup()}


@task("live.prune", retry=(2, [60, 600]), priority=9, timeout=1800, cron="23 3 * * *")
def prune() -> dict[str, int]:
    """Deletes raw samples, roll-ups and cleared alerts past their retention settings (after rolling up)."""
    return service.prune()
