"""The job service's actions: cancel, retry (one or every failed job), delete; each audited."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.job import Job
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db, get_redis
from nous.jobs import service
from nous.jobs.models import JobAttempt, JobRun
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_jobs_here, run_row


def test_cancel_a_waiting_job_and_it_never_runs(ctx):
    job_id = service.enqueue("tests.mark", "never")
    assert service.cancel(job_id, "admin@nous.test", "10.0.0.1") == "canceled"
    run_jobs_here()
    assert get_redis().llen(f"test:ran:{job_id}") == 0
    run = run_row(job_id)
    assert run.status == "canceled" and run.ended_at is not None
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "jobs.cancel"))
    assert (event.actor, event.target, event.ip, event.after) == ("admin@nous.test", job_id, "10.0.0.1",
                                                                   {"status": "canceled"})
    with pytest.raises(service.JobError, match="already ended"):
        service.cancel(job_id, "admin@nous.test")


def test_retry_a_failed_job_runs_it_again(ctx):
    job_id = service.enqueue("jobs.fail", "again")
    run_jobs_here()
    assert run_row(job_id).status == "failed"
    assert service.retry(job_id, "admin@nous.test") == "queued"
    assert run_row(job_id).status == "queued" and run_row(job_id).ended_at is None
    run_jobs_here()
    run = run_row(job_id)
    assert run.status == "failed" and run.attempts == 2
    with pytest.raises(service.JobError, match="only failed"):
        service.retry(service.enqueue("tests.echo"), "admin@nous.test")


def test_retry_works_even_after_redis_lost_the_job(ctx):
    job_id = service.enqueue("tests.echo", "from the history")
    service.cancel(job_id, "admin")
    get_redis().flushdb()
    service.retry(job_id, "admin")
    run_jobs_here()
    run = run_row(job_id)
    assert run.status == "finished" and '"from the history"' in run.result_summary


def test_retry_all_failed(ctx):
    ids = [service.enqueue("jobs.fail", f"n{i}") for i in range(3)]
    keep = service.enqueue("tests.echo")
    run_jobs_here()
    assert service.retry_all_failed("admin@nous.test", "10.0.0.2") == {"retried": 3, "skipped": 0}
    assert {run_row(i).status for i in ids} == {"queued"}
    assert run_row(keep).status == "finished"
    assert {j for j in Queue("default", connection=get_redis()).job_ids} == set(ids)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "jobs.retry_all_failed"))
    assert event.after == {"retried": 3, "skipped": 0}


def test_delete_removes_the_job_everywhere(ctx):
    job_id = service.enqueue("jobs.fail")
    run_jobs_here()
    service.delete_job(job_id, "admin@nous.test")
    with pytest.raises(service.JobNotFound):
        service.get_run(job_id)
    assert not get_redis().exists(Job.key_for(job_id))
    assert db.session.scalar(select(JobAttempt.id).where(JobAttempt.job_id == job_id)) is None


def test_a_running_job_cannot_be_deleted(ctx):
    job_id = service.enqueue("tests.echo")
    db.session.execute(JobRun.__table__.update().where(JobRun.job_id == job_id).values(status="started"))
    db.session.commit()
    with pytest.raises(service.JobError, match="cancel it first"):
        service.delete_job(job_id, "admin")
