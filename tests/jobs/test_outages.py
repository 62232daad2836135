"""Jobs through Redis and PostgreSQL outages, with real worker processes. Each test runs its own
throwaway server (never the shared ones) and takes it down for real while jobs run."""

from __future__ import annotations

import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
import redis
from flask_migrate import upgrade
from rq import Queue
from rq.job import Job, JobStatus

from nous import create_app
from nous.extensions import db, get_redis
from nous.jobs import registry, service
from nous.jobs.models import JobAttempt, JobRun
from nous.jobs.service import queue as job_queue
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks in this process)
from tests.jobs.helpers import wait_for
from tests.support.live import ThrowawayPostgres, ThrowawayRedis

# Heartbeats every second with a 10 s grace: a 3 s outage stays within the grace (a job is abandoned
# only when its worker is silent for longer); the reconciler looks every second.
WORKER = ("--job-monitoring-interval", "1", "--heartbeat-grace", "10", "--reconcile-interval", "1")


def outage(server: ThrowawayRedis, *, keep_data: bool) -> None:
    """Stop the server: with its data saved to disk for the restart, or losing everything."""
    redis.Redis.from_url(server.url).shutdown(save=keep_data, nosave=not keep_data)
    assert server.proc is not None
    server.proc.wait(timeout=10)
    server.proc = None
    if not keep_data:
        (server.dir / "dump.rdb").unlink(missing_ok=True)


def run_of(job_id: str) -> JobRun:
    db.session.remove()
    return service.get_run(job_id)


def attempts_of(job_id: str) -> list[str]:
    db.session.remove()
    return list(db.session.scalars(db.select(JobAttempt.outcome).where(JobAttempt.job_id == job_id)
                                   .order_by(JobAttempt.attempt)))


def completions(job_id: str) -> int:
    return int(get_redis().get(f"test:completed:{job_id}") or 0)


def test_redis_stopped_for_3_s_while_two_jobs_run(app, tmp_path: Path, start_worker) -> None:
    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})
        with own.app_context():
            workers = [start_worker(*WORKER, env={"REDIS_URL": server.url}) for _ in range(2)]
            # one job ends while Redis is down, the other after it is back
            short, long = service.enqueue("tests.slow", 3.0), service.enqueue("tests.slow", 7.0)
            for job_id in (short, long):
                wait_for(lambda j=job_id: get_redis().get(f"test:pid:{j}"), timeout=30, what="both jobs to start")
            wait_for(lambda: (service.progress(long)["percent"] or 0) >= 10, timeout=10, what="progress")
            horses = {int(get_redis().get(f"test:pid:{j}")) for j in (short, long)}
            schedulers = {c.pid for w in workers for c in psutil.Process(w.pid).children() if c.pid not in horses}
            assert schedulers  # (the worker holding the scheduler lock runs it in a child process)

            outage(server, keep_data=True)
            time.sleep(3)  # the outage itself
            server.start()

            for job_id in (short, long):
                run = wait_for(lambda j=job_id: (r := run_of(j)).status == "finished" and r, timeout=60,
                               what=f"job {job_id} to finish")
                outcomes = attempts_of(job_id)
                # every attempt that says it finished did finish, and the job finished once it said so
                assert outcomes.count("finished") == completions(job_id) == 1, (outcomes, workers[0].output())
                assert outcomes[-1] == "finished" and run.attempts == len(outcomes)
                assert run.result_summary == '"done"'
            for w in workers:
                assert w.proc.poll() is None, w.output()
                assert "unhandled exception" not in w.output()
            assert all(psutil.pid_exists(pid) for pid in schedulers), workers[0].output()  # no scheduler crashed
            # both still take work
            after = [service.enqueue("tests.mark", f"after {i}") for i in range(4)]
            wait_for(lambda: all(run_of(j).status == "finished" for j in after), timeout=30, what="jobs after")
    finally:
        server.stop()


def test_an_outage_longer_than_the_heartbeat_grace_does_not_make_running_jobs_look_abandoned(
        app, tmp_path: Path, start_worker) -> None:
    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})
        with own.app_context():
            # a heartbeat every 10 s, abandoned when 1 s late: after the outage the sweeps (every 5 s)
            # come before the jobs' next heartbeat more often than not
            slow = ("--job-monitoring-interval", "10", "--heartbeat-grace", "1", "--reconcile-interval", "1")
            workers = [start_worker(*slow, env={"REDIS_URL": server.url}) for _ in range(2)]
            jobs = [service.enqueue("tests.slow", 16.0) for _ in range(2)]
            wait_for(lambda: all((service.progress(j)["percent"] or 0) >= 5 for j in jobs), timeout=30,
                     what="both jobs to run")
            outage(server, keep_data=True)
            time.sleep(12)  # the outage: longer than the 11 s in which a silent job counts as abandoned
            server.start()
            for job_id in jobs:
                wait_for(lambda j=job_id: run_of(j).status == "finished", timeout=40, what="the jobs to finish")
                assert attempts_of(job_id) == ["finished"], workers[0].output() + workers[1].output()
                assert completions(job_id) == 1
    finally:
        server.stop()


def test_a_job_whose_outcome_redis_cannot_tell_is_not_called_finished(ctx, start_worker) -> None:
    from nous.jobs import history

    job_id = service.enqueue("tests.echo", "gone")
    job = Job.fetch(job_id, connection=get_redis())
    history.record_started(job_id, "w1")
    get_redis().delete(job.key)  # Redis lost it while it ran
    assert history.record_ended(job, run_of(job_id).started_at, run_of(job_id).started_at) is None
    run = run_of(job_id)
    assert run.status == "started" and run.ended_at is None
    assert attempts_of(job_id) == ["started"]


def test_redis_restarted_empty_queued_scheduled_and_running_jobs_come_back(app, tmp_path: Path,
                                                                           start_worker) -> None:
    # Built-in tasks: the reconciler (in the worker's scheduler) puts jobs back only for tasks it knows.
    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})
        with own.app_context():
            worker = start_worker(*WORKER, "--heartbeat-grace", "2", env={"REDIS_URL": server.url})
            running = service.enqueue("jobs.sleep", 4.0, 20)  # keeps the only worker busy
            wait_for(lambda: (service.progress(running)["percent"] or 0) >= 10, timeout=30,
                     what="the long job to run")
            queued = [service.enqueue("jobs.noop") for _ in range(3)]
            later = service.enqueue_in(timedelta(seconds=12), "jobs.noop")
            due = run_of(later).scheduled_for

            outage(server, keep_data=False)
            server.start()
            back_at = time.monotonic()
            assert not get_redis().exists(Job.key_for(queued[0]))

            wait_for(lambda: all(run_of(j).status == "finished" for j in queued), timeout=40,
                     what="the queued jobs to be put back and run")
            restored_in = time.monotonic() - back_at
            assert restored_in < 20, restored_in  # grace 5 s + one pass + the long job ahead of them
            run = wait_for(lambda: (r := run_of(later)).status == "finished" and r, timeout=40,
                           what="the scheduled job")
            late = (run.started_at - due).total_seconds()
            assert -0.05 <= late < 5, late
            # the job that was running when Redis lost everything: its work-horse finished it and wrote
            # the outcome into the new Redis, or (outcome unknown) it was put back and ran again
            run = wait_for(lambda: (r := run_of(running)).status == "finished" and r, timeout=60,
                           what="the running job to end")
            assert attempts_of(running) in (["finished"], ["lost", "finished"]), worker.output()
            assert run.attempts == len(attempts_of(running)) and run.result_summary == '{"slept": 4.0}'
            assert worker.proc.poll() is None, worker.output()
            assert [w["pid"] for w in service.workers()] == [worker.pid]  # registered again
            print(f"queued jobs back and run {restored_in:.1f} s after the empty restart; "
                  f"scheduled job {late:+.2f} s from its time")
    finally:
        server.stop()


def test_postgres_restart_history_complete_and_no_jobs_taken_while_it_is_down(app, start_worker) -> None:
    pg = ThrowawayPostgres()
    own = create_app({"SQLALCHEMY_DATABASE_URI": pg.url, "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True}})
    try:
        with own.app_context():
            upgrade(revision="heads")
            worker = start_worker("--reconcile-interval", "1", env={"DATABASE_URL": pg.url})
            first = service.enqueue("tests.mark", "before")
            wait_for(lambda: run_of(first).status == "finished", timeout=30, what="the first job")

            db.session.remove()  # (this process's own connection; pre-ping replaces it)
            pg.stop()
            pg.start()
            second = service.enqueue("tests.mark", "after the restart")
            run = wait_for(lambda: (r := run_of(second)).status == "finished" and r, timeout=30,
                           what="the job after the restart")
            assert run.attempts == 1 and run.started_at is not None and run.worker
            assert attempts_of(second) == ["finished"], worker.output()

            db.session.remove()
            pg.stop()
            # a job on the shared queue (put there by a process whose database answers)
            task = registry.get("tests.mark")
            job = job_queue.put(task, task.queue, "while-db-down", ["waiting"], {}, None)
            wait_for(lambda: "database is not reachable" in worker.output(), timeout=20,
                     what="the worker to see the database is down")
            queue = Queue(task.queue, connection=get_redis())
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:  # the job stays on its queue for a worker that can run it
                assert job.get_status(refresh=True) == JobStatus.QUEUED
                assert job.id in queue.get_job_ids()
                time.sleep(0.2)
            pg.start()
            wait_for(lambda: job.get_status(refresh=True) == JobStatus.FINISHED, timeout=30,
                     what="the job to run once the database is back")
            assert worker.proc.poll() is None, worker.output()
    finally:
        with own.app_context():
            db.engine.dispose()
        pg.remove()


def test_a_workflow_step_waiting_on_a_job_redis_lost_goes_on_at_its_time(app, tmp_path: Path,
                                                                         start_worker) -> None:
    from nous.workflows import engine
    from nous.workflows import service as workflows

    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})
        with own.app_context():
            wf = workflows.create("name: waits\nsteps:\n  - id: wait\n    uses: delay\n    with: {seconds: 8}\n"
                                  "  - id: next\n    uses: delay\n    with: {seconds: 0}\n",
                                  "admin@nous.test", enabled=True)
            worker = start_worker(*WORKER, env={"REDIS_URL": server.url})
            run_id = workflows.run_now(wf.id, {}, "admin@nous.test")

            def step(name: str):
                db.session.remove()
                return {s.step_id: s for s in engine.steps_of(run_id)}[name]

            waiting = wait_for(lambda: (s := step("next")).not_before and s.job_id and s, timeout=30,
                               what="the delay")
            wait_for(lambda: run_of(waiting.job_id).status == "scheduled", timeout=10, what="its job")
            outage(server, keep_data=False)
            server.start()

            try:
                done = wait_for(lambda: (s := step("next")).status == "succeeded" and s, timeout=40,
                                what="the next step after the flush")
            except pytest.fail.Exception:
                pytest.fail(f"the next step did not run; its job is {run_of(waiting.job_id).status}; "
                            f"the worker said:\n{worker.output()}")
            late = (done.started_at - waiting.not_before).total_seconds()
            assert -0.05 <= late < 5, late
            print(f"workflow step waiting on a lost job ran {late:+.2f} s from its time")
    finally:
        server.stop()


def test_a_scheduler_that_lost_its_lock_tries_again_within_seconds(ctx) -> None:
    from nous.jobs.worker import SCHEDULER_LOCK_TTL, NousScheduler

    def scheduler() -> NousScheduler:
        return NousScheduler([Queue("default", connection=get_redis())], connection=get_redis(), app=ctx)

    holder, waiting = scheduler(), scheduler()
    assert holder.acquire_locks() == {"default"}
    assert waiting.acquire_locks() == set()
    assert not waiting.should_reacquire_locks  # it has just tried
    waiting.lock_acquisition_time -= timedelta(seconds=SCHEDULER_LOCK_TTL + 0.5)
    assert waiting.should_reacquire_locks  # (RQ itself waits two minutes)
    get_redis().delete(holder.get_locking_key("default"))  # the holder died; its lock expired
    assert waiting.acquire_locks() == {"default"}
    assert not waiting.should_reacquire_locks


def test_a_scheduler_step_stopped_by_a_database_outage_is_a_warning_not_an_error(app, caplog, monkeypatch) -> None:
    """Like a Redis outage: the operator reads that the step waits for the database, once a minute, with no
    traceback; a failure of the step itself while the database answers stays an error with its traceback."""
    import logging

    from sqlalchemy import text

    from nous.jobs.worker import NousScheduler

    worker_log = logging.getLogger("nous.worker")  # the nous loggers do not propagate to the root's capture
    monkeypatch.setattr(worker_log, "handlers", [*worker_log.handlers, caplog.handler])
    pg = ThrowawayPostgres()
    own = create_app({"SQLALCHEMY_DATABASE_URI": pg.url, "SQLALCHEMY_ENGINE_OPTIONS": {
        "pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
    try:
        with own.app_context():
            upgrade(revision="heads")
            scheduler = NousScheduler([Queue("default", connection=get_redis())], connection=get_redis(), app=own)
            db.session.remove()
            pg.stop()
            caplog.clear()
            scheduler._guarded("cron", service.run_due_schedules)
            scheduler._guarded("cron", service.run_due_schedules)  # the same failure a second later
            [record] = [r for r in caplog.records if r.name == "nous.worker"]
            assert (record.levelname, record.getMessage()) == ("WARNING", "scheduler step waits for the database")
            assert record.exc_info is None and "connection" in record.error

            pg.start()
            caplog.clear()
            def too_slow() -> None:  # an OperationalError of the step's own (statement timeout)
                db.session.execute(text("SET LOCAL statement_timeout = 1"))
                db.session.execute(text("SELECT pg_sleep(0.5)"))

            scheduler._guarded("reconcile", too_slow)
            [record] = [r for r in caplog.records if r.name == "nous.worker"]
            assert (record.levelname, record.getMessage()) == ("ERROR", "scheduler step failed")
            assert record.exc_info is not None
    finally:
        with own.app_context():
            db.session.remove()
            db.engine.dispose()
        pg.remove()
