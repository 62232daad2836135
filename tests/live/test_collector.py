"""The collector samples real figures: host, request telemetry, queues, the DB monitor, health checks."""

from __future__ import annotations

import json

import psutil
import pytest

from nous.live import collector, events
from nous.live.models import MetricSample


def test_cpu_is_the_average_since_the_previous_sample_of_this_host(ctx, redis_conn) -> None:
    first = collector.cpu_percent(redis_conn, "web-1", 30)  # nothing before: a short measurement
    stored = redis_conn.get(collector.CPU_KEY.format("web-1")).split()
    busy, total = (float(x) for x in stored)
    redis_conn.set(collector.CPU_KEY.format("web-1"), f"{busy - 50} {total - 100}")  # as if half busy since
    second = collector.cpu_percent(redis_conn, "web-1", 30)
    assert 0 <= first <= 100
    assert 45 <= second <= 55
    assert 80 <= redis_conn.ttl(collector.CPU_KEY.format("web-1")) <= 90


def test_a_sample_has_every_figure_from_its_real_source(app, ctx, redis_conn, admin_client) -> None:
    from nous.dbmonitor.monitor import STATS as query_stats
    from nous.jobs import service as jobs
    from nous.settings import service as settings
    from nous.telemetry.requests import STATS as request_stats

    settings.set_value("health.probes", [{"name": "model-api", "url": "http://127.0.0.1:1/", "timeout": 0.5}],
                       actor="test")
    for _ in range(5):
        admin_client.get("/admin/live/metrics.json")
    request_stats.record("feedback.submit", 500, 40.0)  # as a failing request in another process would
    request_stats.flush(redis_conn)
    query_stats.flush(redis_conn)
    jobs.enqueue("jobs.noop")

    figures, failing = collector.sample()

    assert 0 <= figures["cpu_percent"] <= 100
    assert 0 < figures["memory_percent"] <= 100 and 0 < figures["disk_percent"] <= 100
    assert figures["load_1m"] >= 0
    assert figures["requests_per_second"] == pytest.approx(6 / collector.REQUEST_WINDOW, rel=0.01)
    assert figures["error_rate"] == pytest.approx(1 / 6, abs=0.001)
    assert figures["latency_p95_ms"] is not None and figures["latency_p95_ms"] > 0
    assert figures["queue_depth"] == 1
    assert figures["db_p95_ms"] is not None and figures["db_p95_ms"] > 0
    assert list(failing) == ["probe:model-api:responseTime"]


def test_a_figure_that_cannot_be_read_is_missing_not_fatal(ctx, monkeypatch, live_log) -> None:
    def broken() -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr(psutil, "virtual_memory", broken)
    figures, _ = collector.sample()
    assert figures["memory_percent"] is None and figures["cpu_percent"] is not None
    assert "metric not sampled" in live_log.text


def test_collect_stores_the_sample_and_tells_live_viewers(ctx, redis_conn) -> None:
    row = collector.collect()
    assert MetricSample.query.one().id == row.id
    [(_, frame)] = events.replay(redis_conn, ("metrics",))
    data = json.loads(frame)["data"]
    assert data["at"] == row.as_event()["at"] and data["cpu_percent"] == row.cpu_percent
    assert data["host"] == collector.host_name()


def test_record_refuses_figures_it_does_not_know(ctx) -> None:
    with pytest.raises(ValueError, match="temperature"):
        collector.record({"temperature": 40.0})


def test_only_failing_checks_and_down_dependencies_count(ctx) -> None:
    doc = {"checks": {
        "database:responseTime": [{"status": "fail", "output": "OperationalError: gone"}],
        "cpu:utilization": [{"status": "warn", "output": "CPU at 97 %"}],  # has its own rule
        "smtp:responseTime": [{"status": "warn", "output": "smtp.example:587: refused"}],
        "workers:count": [{"status": "warn", "output": "no worker"}],
        "shutdown:draining": [{"status": "fail", "output": "draining"}],
        "redis:responseTime": [{"status": "pass"}],
    }}
    assert collector.failing_checks(doc) == {"database:responseTime": "OperationalError: gone",
                                             "smtp:responseTime": "smtp.example:587: refused"}
