"""The job service's housekeeping: the reconciler puts back what Redis lost, pruning keeps what is recent."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.jobs import history, service
from nous.jobs.models import JobAttempt, JobRun
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import bulk_runs as _bulk
from tests.jobs.helpers import run_jobs_here, run_row


def test_reconcile_restores_jobs_redis_lost(ctx):
    job_id = service.enqueue("tests.echo", "survivor")
    get_redis().flushdb()  # a Redis restart without persistence
    assert service.reconcile() == {"restored": 0, "synced": 0}  # too recent to call lost
    db.session.execute(JobRun.__table__.update().values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert service.reconcile() == {"restored": 1, "synced": 0}
    run_jobs_here()
    assert run_row(job_id).status == "finished"


def test_reconcile_takes_rqs_outcome_when_the_history_missed_it(ctx):
    job_id = service.enqueue("tests.echo", "ran")
    run_jobs_here()
    # as if the worker died right after the job ended, before writing it down
    db.session.execute(JobRun.__table__.update().values(status="started", ended_at=None,
                                                        updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    assert service.reconcile() == {"restored": 0, "synced": 1}
    run = run_row(job_id)
    assert run.status == "finished" and '"ran"' in run.result_summary


def test_reconcile_puts_back_a_running_job_redis_lost_once_nobody_runs_it(ctx):
    job_id = service.enqueue("tests.echo", "was running")
    history.record_started(job_id, "w1")
    db.session.execute(JobRun.__table__.update().values(updated_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    get_redis().flushdb()  # Redis lost everything while the job ran
    get_redis().set(history.RUNNING_KEY.format(job_id), "w1", ex=60)  # its worker says it still runs it
    assert service.reconcile(confirm=0) == {"restored": 0, "synced": 0}
    assert service.reconcile(confirm=60) == {"restored": 0, "synced": 0}
    get_redis().delete(history.RUNNING_KEY.format(job_id))  # the worker went quiet
    assert service.reconcile(confirm=60) == {"restored": 0, "synced": 0}  # missing, but not for long enough
    assert service.reconcile(confirm=0) == {"restored": 1, "synced": 0}
    run_jobs_here()
    run = run_row(job_id)
    assert run.status == "finished" and run.attempts == 2
    outcomes = db.session.scalars(select(JobAttempt.outcome).where(JobAttempt.job_id == job_id)
                                  .order_by(JobAttempt.attempt))
    assert list(outcomes) == ["lost", "finished"]


def test_prune_history_keeps_recent_and_active_jobs(ctx):
    _bulk(3, status="finished", start=utcnow() - timedelta(days=40))
    _bulk(2, status="finished", task="tests.mark", start=utcnow() - timedelta(days=2))
    active = service.enqueue("tests.echo")
    assert service.prune_history(30) == 3
    assert {r.task for r in db.session.scalars(select(JobRun))} == {"tests.mark", "tests.echo"}
    assert service.get_run(active)
