"""Tasks of the job layer itself: history retention, and small demo tasks (no-op, sleep with
progress, failure) for the console, the benchmark and a maintainer checking a worker."""

from __future__ import annotations

import time

from nous.jobs import service
from nous.jobs.registry import task
from nous.jobs.runtime import report_progress
from nous.settings import service as settings


@task("jobs.noop", retry=None, priority=5, timeout=30)
def noop() -> None:
    """Does nothing (measures the job layer's own cost)."""


@task("jobs.sleep", retry=(1, [5]), priority=5, timeout=3600)
def sleep(seconds: float = 5.0, steps: int = 10) -> dict[str, float]:
    """Sleeps, reporting progress in `steps` steps."""
    seconds = max(0.0, min(float(seconds), 3000.0))
    steps = max(1, min(int(steps), 1000))
    for i in range(steps):
        report_progress(100 * i / steps, f"step {i + 1} of {steps}")
        time.sleep(seconds / steps)
    report_progress(100, "done")
    return {"slept": seconds}


@task("jobs.fail", retry=None, priority=5, timeout=30)
def fail(message: str = "this task always fails") -> None:
    """Raises RuntimeError (to see a failure end to end)."""
    raise RuntimeError(message)


@task("jobs.prune_history", retry=(2, [60, 600]), priority=9, timeout=600, cron="17 3 * * *")
def prune_history() -> dict[str, int]:
    """Deletes ended jobs older than the retention setting (jobs.history_retention_days)."""
    days = settings.get("jobs.history_retention_days")
    return {"deleted": service.prune_history(days), "days": days}
