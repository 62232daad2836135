"""The job service's figures: per-task stats and the processed/failed series."""

from __future__ import annotations

from datetime import timedelta

import pytest

from nous.clock import utcnow
from nous.jobs import service
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import bulk_runs as _bulk


def test_stats_per_task(ctx):
    _bulk(20, status="finished", task="tests.echo", start=utcnow() - timedelta(hours=2))
    _bulk(5, status="failed", task="tests.echo", start=utcnow() - timedelta(hours=2))
    _bulk(4, status="finished", task="tests.mark", start=utcnow() - timedelta(days=5))  # outside the window
    service.enqueue("tests.echo", "waiting")
    (row,) = service.stats(hours=24)
    assert row["task"] == "tests.echo"
    assert row["counts"]["finished"] == 20 and row["counts"]["failed"] == 5 and row["counts"]["queued"] == 1
    assert row["failure_rate"] == 0.2
    assert row["per_hour"] == round(25 / 24, 2)
    assert row["mean_ms"] == 4.5  # durations 0..9 twice
    assert row["p95_ms"] == pytest.approx(9.0)


def test_series_counts_processed_and_failed_per_hour(ctx):
    hour = utcnow().replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    _bulk(4, status="finished", start=hour + timedelta(minutes=5))
    _bulk(2, status="failed", start=hour + timedelta(minutes=10))
    s = service.series("48h")
    assert s["bucket_seconds"] == 3600 and len(s["t"]) in (48, 49)
    i = s["t"].index(int(hour.timestamp()))
    assert (s["processed"][i], s["failed"][i]) == (6, 2)
    assert sum(s["processed"]) == 6
    assert len(service.series("30d")["t"]) in (30, 31)
    with pytest.raises(ValueError, match="range"):
        service.series("1y")
