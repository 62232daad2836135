"""The collector, roll-up and prune as jobs of the job layer."""

from __future__ import annotations

from nous.jobs import registry
from nous.live.models import MetricSample


def run_queued_jobs() -> None:
    from nous.jobs.worker import make_worker

    make_worker(["high", "default", "low"], simple=True).work(burst=True, with_scheduler=False,
                                                               logging_level="ERROR")


def test_the_collector_is_a_recurring_high_priority_job_and_housekeeping_is_scheduled() -> None:
    registry.discover()
    collect = registry.tasks_registry["live.collect"]
    assert (collect.interval, collect.queue, collect.retry_max) == (30, "high", 0)
    assert registry.tasks_registry["live.rollup"].cron == "5 * * * *"
    assert registry.tasks_registry["live.prune"].cron == "23 3 * * *"


def test_the_collector_job_samples_and_follows_its_interval_setting(ctx) -> None:
    from nous.extensions import db
    from nous.jobs import service as jobs
    from nous.jobs.models import JobSchedule
    from nous.settings import service as settings

    jobs.sync_declared_schedules()
    assert db.session.get(JobSchedule, "live.collect").interval_seconds == 30
    settings.set_value("metrics.collector_interval_seconds", 60, actor="test")
    jobs.enqueue("live.collect")
    run_queued_jobs()
    assert MetricSample.query.count() == 1
    assert db.session.get(JobSchedule, "live.collect").interval_seconds == 60


def test_rollup_and_prune_jobs_run(ctx) -> None:
    from nous.jobs import service as jobs
    from nous.jobs.models import JobRun

    jobs.enqueue("live.rollup")
    jobs.enqueue("live.prune")
    run_queued_jobs()
    assert sorted((r.task, r.status) for r in JobRun.query.all()) == [("live.prune", "finished"),
                                                                      ("live.rollup", "finished")]
