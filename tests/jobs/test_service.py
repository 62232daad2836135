"""The job layer in-process: enqueueing, history, pagination, statistics, actions, schedules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import insert, select

from nous.audit.models import AuditEvent
from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.jobs import report_progress, service
from nous.jobs.models import JobAttempt, JobRun, JobSchedule
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_jobs_here


def run_row(job_id: str) -> JobRun:
    db.session.remove()
    return service.get_run(job_id)


# --- enqueue -------------------------------------------------------------------------------------

def test_enqueue_records_the_job_then_queues_it_with_its_policy(ctx):
    job_id = service.enqueue("tests.flaky", "no", extra={"id": 7})
    run = run_row(job_id)
    assert (run.task, run.status, run.queue, run.priority, run.max_attempts) == ("tests.flaky", "queued", "high", 2, 3)
    assert run.args == {"args": ["no"], "kwargs": {"extra": {"id": 7}}}
    assert run.args_summary == '"no", extra={"id": 7}'
    job = Job.fetch(job_id, connection=get_redis())
    assert job.origin == "high" and job.timeout == 30 and job.retries_left == 2 and job.retry_intervals == [1, 2]
    assert job.func_name == "tests.jobs.tasks.flaky"
    assert job_id in Queue("high", connection=get_redis()).job_ids


def test_priority_can_be_raised_for_one_job(ctx):
    job_id = service.submit("tests.echo", [1], priority=1)
    assert run_row(job_id).queue == "high"
    assert job_id in Queue("high", connection=get_redis()).job_ids


@pytest.mark.parametrize("bad", [object(), {1: "int key"}, [datetime.now()], {"nested": {"set": {1, 2}}}])
def test_tasks_take_ids_and_plain_values_only(ctx, bad):
    with pytest.raises(TypeError, match=r"ids and plain values|keys must be text"):
        service.enqueue("tests.echo", bad)
    assert db.session.scalar(select(JobRun.seq)) is None
    assert Queue("low", connection=get_redis()).count == 0


def test_an_orm_object_is_refused_with_a_hint_to_pass_its_id(ctx):
    event = AuditEvent(actor="a", action="b")
    with pytest.raises(TypeError, match="pass the object's id"):
        service.enqueue("tests.echo", event)


def test_unknown_task_and_oversized_arguments_are_refused(ctx):
    with pytest.raises(service.UnknownTask, match=r"no task named 'nope\.nothing'"):
        service.enqueue("nope.nothing")
    with pytest.raises(ValueError, match="larger than"):
        service.enqueue("tests.echo", "x" * 20_000)


def test_when_redis_is_down_enqueue_fails_loudly_and_leaves_no_history(ctx, monkeypatch):
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(service, "get_redis", lambda: dead)
    with pytest.raises(redis_lib.ConnectionError):
        service.enqueue("tests.echo", 1)
    assert db.session.scalar(select(JobRun.seq)) is None


def test_enqueue_at_and_in_schedule_the_job(ctx):
    when = datetime.now(UTC) + timedelta(minutes=5)
    a = service.enqueue_at(when, "tests.echo", "a")
    b = service.enqueue_in(timedelta(hours=1), "tests.echo", "b")
    naive = service.enqueue_at(datetime(2099, 1, 1, 12, 0, 0), "tests.echo", "c")
    for job_id in (a, b, naive):
        assert run_row(job_id).status == "scheduled"
        assert Job.fetch(job_id, connection=get_redis()).get_status() == JobStatus.SCHEDULED
    assert abs(run_row(a).scheduled_for.replace(tzinfo=UTC) - when) < timedelta(seconds=1)
    assert run_row(naive).scheduled_for.replace(tzinfo=None) == datetime(2099, 1, 1, 12, 0, 0)  # naive = UTC


# --- running in-process --------------------------------------------------------------------------

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


# --- history pages -------------------------------------------------------------------------------

def _bulk(n: int, status: str = "failed", task: str = "tests.echo", start: datetime | None = None) -> None:
    start = start or utcnow() - timedelta(days=1)
    rows = []
    for i in range(n):
        at = start + timedelta(seconds=i)
        rows.append({
            "job_id": f"{status[:4]}{task[-4:]}{i:06d}", "task": task, "queue": "default", "priority": 5,
            "args": {"args": [i], "kwargs": {}}, "args_summary": str(i), "status": status, "attempts": 1,
            "max_attempts": 1, "actor": "system", "enqueued_at": at, "started_at": at, "ended_at": at,
            "duration_ms": float(i % 10), "worker": "w", "error": f"Boom {i}" if status == "failed" else "",
            "traceback": "", "result_summary": "", "progress_message": "", "updated_at": at,
        })
    db.session.execute(insert(JobRun), rows)
    db.session.commit()


def test_keyset_pages_walk_every_row_once_in_order_both_ways(ctx):
    _bulk(125)
    seen, before = [], None
    pages = 0
    while True:
        page = service.list_runs(service.RunFilter(status="failed"), before=before, limit=50)
        seen += [r.seq for r in page.rows]
        pages += 1
        if not page.has_older:
            break
        before = page.older_cursor
    assert pages == 3 and len(seen) == 125 and seen == sorted(seen, reverse=True) and len(set(seen)) == 125
    last = service.list_runs(service.RunFilter(status="failed"), oldest=True, limit=50)
    assert [r.seq for r in last.rows] == seen[-50:] and last.has_newer and not last.has_older
    newer = service.list_runs(service.RunFilter(status="failed"), after=last.newer_cursor, limit=50)
    assert [r.seq for r in newer.rows] == seen[-100:-50] and newer.has_newer and newer.has_older
    first = service.list_runs(service.RunFilter(status="failed"), limit=50)
    assert not first.has_newer and first.has_older and first.newer_cursor is None


def test_filters_by_status_task_and_text(ctx):
    _bulk(5, status="failed", task="tests.echo")
    _bulk(3, status="finished", task="tests.mark")
    _bulk(2, status="failed", task="tests.mark")
    assert len(service.list_runs(service.RunFilter(status="failed")).rows) == 7
    assert len(service.list_runs(service.RunFilter(task="tests.mark")).rows) == 5
    assert len(service.list_runs(service.RunFilter(status="failed", task="tests.mark")).rows) == 2
    assert [r.error for r in service.list_runs(service.RunFilter(q="boom 4")).rows] == ["Boom 4"]
    assert service.list_runs(service.RunFilter(q="100%_")).rows == []  # LIKE wildcards are plain text
    with pytest.raises(ValueError, match="status must be one of"):
        service.list_runs(service.RunFilter(status="exploded"))
    assert service.counts_by_status()["failed"] == 7


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


# --- actions -------------------------------------------------------------------------------------

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


@pytest.mark.parametrize("bad", ["", "../etc", "x" * 65, "a b", "nope"])
def test_unknown_or_malformed_job_ids(ctx, bad):
    with pytest.raises(service.JobNotFound):
        service.get_run(bad)


# --- housekeeping --------------------------------------------------------------------------------

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
    from nous.jobs import history

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


# --- schedules -----------------------------------------------------------------------------------

def test_cron_schedule_enqueues_once_per_slot(ctx):
    s = service.schedule_cron("nightly-echo", "*/5 * * * *", "tests.echo", "tick", n=1)
    nxt = datetime.fromisoformat(s["next_run_at"])
    assert nxt > utcnow() and nxt.minute % 5 == 0 and nxt.second == 0
    assert service.run_due_schedules() == []  # not due yet
    started = service.run_due_schedules(now=nxt + timedelta(seconds=1))
    assert len(started) == 1
    run = run_row(started[0])
    assert run.schedule == "nightly-echo" and run.actor == "schedule:nightly-echo"
    assert run.args == {"args": ["tick"], "kwargs": {"n": 1}}
    assert service.run_due_schedules(now=nxt + timedelta(seconds=2)) == []  # that slot has fired
    row = db.session.get(JobSchedule, "nightly-echo")
    db.session.refresh(row)
    assert row.last_job_id == started[0]
    assert row.next_run_at.replace(tzinfo=UTC) > nxt


def test_interval_schedule_and_unschedule(ctx):
    service.schedule_interval("every-10s", 10, "tests.echo")
    assert len(service.run_due_schedules(now=utcnow() + timedelta(seconds=11))) == 1
    assert service.unschedule("every-10s") is True
    assert service.unschedule("every-10s") is False


@pytest.mark.parametrize(("args", "error"), [
    (("bad name!", "* * * * *", "tests.echo"), "schedule name"),
    (("x", "61 * * * *", "tests.echo"), "not a cron expression"),
    (("x", "* * * * *", "no.such"), "no task named"),
])
def test_bad_schedules_are_refused(ctx, args, error):
    with pytest.raises((ValueError, service.UnknownTask), match=error):
        service.schedule_cron(*args)


def test_declared_schedules_are_kept_in_sync(ctx):
    service.sync_declared_schedules()
    row = db.session.get(JobSchedule, "jobs.prune_history")
    assert row.cron == "17 3 * * *" and row.source == "code" and row.enabled
    first_next = row.next_run_at
    service.sync_declared_schedules()  # idempotent
    db.session.refresh(row)
    assert row.next_run_at == first_next


def test_a_task_that_asks_for_it_emails_the_admin_when_it_fails_for_good(ctx):
    from nous.email.models import OutboxMessage

    job_id = service.enqueue("tests.alerting")
    service.enqueue("jobs.fail")  # does not ask: no email
    run_jobs_here()
    (msg,) = db.session.scalars(select(OutboxMessage)).all()
    assert msg.template == "job_failed" and msg.to_addr == "admin@nous.test"
    assert msg.subject == "Job failed: tests.alerting"
    assert "ValueError: the nightly report could not be built" in msg.text_body and job_id in msg.text_body


def test_a_stopped_worker_gives_its_database_connection_back(ctx):
    import gc

    before = db.engine.pool.checkedout()
    gc.disable()  # no help from the garbage collector: the worker must close it itself
    try:
        for _ in range(3):
            service.enqueue("jobs.noop")
            run_jobs_here()
        assert db.engine.pool.checkedout() == before
    finally:
        gc.enable()


def test_the_console_counts_are_reused_for_a_few_seconds_and_dropped_by_an_admin_action(ctx):
    first = service.enqueue("tests.echo")
    assert service.recent_counts()["queued"] == 1
    service.enqueue("tests.echo")
    assert service.recent_counts()["queued"] == 1  # counted less than COUNTS_MAX_AGE seconds ago
    assert get_redis().ttl(service.COUNTS_KEY) <= service.COUNTS_MAX_AGE
    service.cancel(first, "tester")
    counts = service.recent_counts()
    assert (counts["queued"], counts["canceled"]) == (1, 1)
    assert counts == service.counts_by_status()
