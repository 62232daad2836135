"""Real worker processes (`flask nous worker`) against the real Redis and database of the test run."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from itertools import pairwise

from sqlalchemy import select

from nous.clock import aware
from nous.extensions import db, get_redis
from nous.jobs import service
from nous.jobs.models import JobAttempt, JobRun
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks in this process)
from tests.jobs.helpers import FAST_ABANDON, wait_for


def fresh(job_id: str) -> JobRun:
    db.session.remove()
    return service.get_run(job_id)


def attempts_of(job_id: str) -> list[JobAttempt]:
    db.session.remove()
    return list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == job_id).order_by(JobAttempt.attempt)))


def floats(key: str) -> list[float]:
    return [float(x) for x in get_redis().lrange(key, 0, -1)]


def test_failing_task_is_retried_with_its_delays_then_fails_with_traceback(ctx, start_worker):
    job_id = service.enqueue("tests.flaky", "kaboom")
    worker = start_worker()
    run = wait_for(lambda: (r := fresh(job_id)).status == "failed" and r, timeout=30, what="the job to fail")

    times = floats(f"test:attempts:{job_id}")
    assert len(times) == 3, worker.output()  # the first attempt and two retries, no more
    gaps = [b - a for a, b in pairwise(times)]
    assert 1.0 <= gaps[0] < 3.5, gaps  # retry policy (2, [1, 2]): 1 s, then 2 s
    assert 2.0 <= gaps[1] < 4.5, gaps
    assert run.attempts == 3 and run.max_attempts == 3
    assert run.error == "RuntimeError: kaboom"
    assert "Traceback (most recent call last)" in run.traceback
    assert 'raise RuntimeError(message)' in run.traceback and "tests/jobs/tasks.py" in run.traceback
    assert run.ended_at is not None and run.duration_ms is not None
    history = attempts_of(job_id)
    assert [a.outcome for a in history] == ["failed", "failed", "failed"]
    assert all("RuntimeError: kaboom" in a.traceback for a in history)
    assert "failed" in {r["status"] for r in [service.progress(job_id)]}


def test_scheduled_job_runs_at_its_time(ctx, start_worker):
    start_worker()
    wait_for(lambda: service.workers(), timeout=15, what="the worker to register")
    due = time.time() + 2.5
    job_id = service.enqueue_in(timedelta(seconds=2.5), "tests.mark", "later")
    assert fresh(job_id).status == "scheduled"
    time.sleep(1.5)
    assert floats(f"test:ran:{job_id}") == []  # not before its time
    wait_for(lambda: fresh(job_id).status == "finished", timeout=15, what="the scheduled job")
    ran_at = floats(f"test:ran:{job_id}")
    assert len(ran_at) == 1
    assert due - 0.05 <= ran_at[0] < due + 5  # the scheduler looks every second (slack for a busy machine)
    assert '"label": "later"' in fresh(job_id).result_summary


def test_cancelled_jobs_never_run(ctx, start_worker):
    waiting = service.enqueue("tests.mark", "queued then cancelled")
    later = service.enqueue_in(timedelta(seconds=1.5), "tests.mark", "scheduled then cancelled")
    assert service.cancel(waiting, "tester") == "canceled"
    assert service.cancel(later, "tester") == "canceled"
    control = service.enqueue("tests.mark", "control")
    start_worker()
    wait_for(lambda: fresh(control).status == "finished", timeout=20, what="the control job")
    time.sleep(2.5)  # past the cancelled job's time, with the scheduler running
    assert floats(f"test:ran:{waiting}") == [] and floats(f"test:ran:{later}") == []
    assert fresh(waiting).status == "canceled" and fresh(later).status == "canceled"
    assert fresh(waiting).attempts == 0


def test_killed_worker_loses_nothing_the_job_completes_exactly_once(ctx, start_worker):
    first = start_worker(*FAST_ABANDON)
    job_id = service.enqueue("tests.slow", 3.0)
    wait_for(lambda: get_redis().get(f"test:pid:{job_id}"), timeout=20, what="the job to start")
    time.sleep(0.5)
    horse = int(get_redis().get(f"test:pid:{job_id}"))
    assert fresh(job_id).status == "started"

    first.kill_hard(horse)  # SIGKILL; the work-horse dies with it, so the first attempt cannot finish later

    second = start_worker(*FAST_ABANDON)
    run = wait_for(lambda: (r := fresh(job_id)).status == "finished" and r, timeout=45, what="the retried job")
    assert int(get_redis().get(f"test:completed:{job_id}")) == 1, second.output()
    assert len(floats(f"test:started:{job_id}")) == 2
    assert run.attempts == 2
    outcomes = [a.outcome for a in attempts_of(job_id)]
    assert outcomes == ["abandoned", "finished"]
    assert run.progress == 100


def test_progress_is_visible_while_running_and_stop_cancels_a_running_job(ctx, start_worker):
    start_worker()
    job_id = service.enqueue("tests.slow", 6.0)
    seen = wait_for(lambda: (p := service.progress(job_id))["percent"] and p["percent"] >= 10 and p,
                    timeout=20, what="progress")
    assert seen["status"] == "started" and seen["message"].startswith("step ")
    assert service.cancel(job_id, "tester") == "stopped"
    run = wait_for(lambda: (r := fresh(job_id)).status == "stopped" and r.ended_at and r, timeout=15,
                   what="the job to stop")
    assert get_redis().get(f"test:completed:{job_id}") is None
    assert run.attempts == 1


def _jobs_events(job_id: str) -> list[dict]:
    """The "jobs" events of one job in the live replay buffer, oldest first (as a new socket gets them)."""
    import json

    from nous.live.events import KEEP, replay

    frames = [json.loads(text) for _, text in replay(get_redis(), ("jobs",), count=KEEP)]
    return [f["data"] for f in frames if f["data"]["job_id"] == job_id]


def test_a_job_that_fails_for_good_is_announced_live_at_every_step(ctx, start_worker):
    from nous.live.events import channel

    listener = get_redis().pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel(get_redis(), "jobs"))  # what every web process's hub hears
    try:
        job_id = service.enqueue("tests.flaky", "no luck for the live view")
        worker = start_worker()
        events = wait_for(lambda: (e := _jobs_events(job_id)) and e[-1]["status"] == "failed" and e,
                          timeout=30, what="the failure event")
        heard = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:  # (None also stands for the subscription's own confirmation)
            if (m := listener.get_message(timeout=0.1)) is not None:
                heard.append(m["data"].decode() if isinstance(m["data"], bytes) else m["data"])
    finally:
        listener.close()

    assert [(e["status"], e["attempt"]) for e in events] == [
        ("queued", 0), ("started", 1), ("retrying", 1), ("started", 2), ("retrying", 2), ("started", 3),
        ("failed", 3)], worker.output()
    last = events[-1]
    assert set(last) == {"job_id", "task", "status", "queue", "attempt", "progress", "error", "at"}
    assert (last["task"], last["queue"]) == ("tests.flaky", "high")
    assert last["error"] == "RuntimeError: no luck for the live view"
    assert datetime.fromisoformat(last["at"]) >= aware(fresh(job_id).ended_at) - timedelta(seconds=1)
    # published live too, not only kept for replay
    assert sum(f'"job_id":"{job_id}"' in h and '"status":"failed"' in h for h in heard) == 1


def test_progress_is_announced_live_at_most_once_a_second(ctx, start_worker):
    start_worker()
    job_id = service.enqueue("tests.slow", 3.0)  # reports progress 20 times in 3 s
    events = wait_for(lambda: (e := _jobs_events(job_id)) and e[-1]["status"] == "finished" and e,
                      timeout=30, what="the finish event")
    progress = [e for e in events if e["status"] == "started" and e["progress"] is not None]
    assert 2 <= len(progress) <= 5, events
    assert all(e["attempt"] == 1 for e in progress)
    assert [(e["status"], e["attempt"]) for e in events if e["progress"] is None] == [("queued", 0), ("started", 1)]
    assert [p["progress"] for p in progress] == sorted(p["progress"] for p in progress)
    times = [datetime.fromisoformat(p["at"]) for p in progress]
    assert all((b - a).total_seconds() >= 0.95 for a, b in pairwise(times))
    assert events[-1]["progress"] == 100
