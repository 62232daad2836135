"""Jobs run by an in-process worker: the history written, progress reports, failure emails, connections given back."""

from __future__ import annotations

import gc

import pytest
from rq.job import Job
from sqlalchemy import select

from nous.email.models import OutboxMessage
from nous.extensions import db, get_redis
from nous.jobs import report_progress, service
from nous.jobs.models import JobAttempt
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_jobs_here, run_row


def test_finished_and_failed_jobs_are_written_down(ctx):
    ok = service.enqueue("tests.echo", 1, 2, name="x")
    bad = service.enqueue("jobs.fail", "nope")
    run_jobs_here()
    done = run_row(ok)
    assert done.status == "finished" and done.attempts == 1 and done.duration_ms is not None
    assert done.result_summary == '{"args": [1, 2], "kwargs": {"name": "x"}}'
    failed = run_row(bad)
    assert failed.status == "failed" and failed.error == "RuntimeError: nope"
    assert "raise RuntimeError(message)" in failed.traceback
    attempts = db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == bad)).all()
    assert [(a.attempt, a.outcome) for a in attempts] == [(1, "failed")]


def test_report_progress_outside_a_job_is_a_no_op_and_checks_its_input(ctx):
    report_progress(50, "nothing happens")
    with pytest.raises(ValueError, match="percent"):
        from rq.job import _current_job  # the job the worker would be running

        token = _current_job.set(Job.create(func="tests.jobs.tasks.echo", connection=get_redis()))
        try:
            report_progress("half")
        finally:
            _current_job.reset(token)


def test_a_task_that_asks_for_it_emails_the_admin_when_it_fails_for_good(ctx):
    job_id = service.enqueue("tests.alerting")
    service.enqueue("jobs.fail")  # does not ask: no email
    run_jobs_here()
    (msg,) = db.session.scalars(select(OutboxMessage)).all()
    assert msg.template == "job_failed" and msg.to_addr == "admin@nous.test"
    assert msg.subject == "Job failed: tests.alerting"
    assert "ValueError: the nightly report could not be built" in msg.text_body and job_id in msg.text_body


def test_a_stopped_worker_gives_its_database_connection_back(ctx):
    before = db.engine.pool.checkedout()
    gc.disable()  # no help from the garbage collector: the worker must close it itself
    try:
        for _ in range(3):
            service.enqueue("jobs.noop")
            run_jobs_here()
        assert db.engine.pool.checkedout() == before
    finally:
        gc.enable()
