"""The job service's queue: enqueueing now, at a time or after a delay, with each task's policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis as redis_lib
from redis.backoff import NoBackoff
from redis.retry import Retry
from rq import Queue
from rq.job import Job, JobStatus
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db, get_redis
from nous.jobs import service
from nous.jobs.models import JobRun
from nous.jobs.service import queue
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import run_row


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
    with pytest.raises(service.BadArguments, match=r"ids and plain values|keys must be text"):
        service.enqueue("tests.echo", bad)
    assert db.session.scalar(select(JobRun.seq)) is None
    assert Queue("low", connection=get_redis()).count == 0


def test_an_orm_object_is_refused_with_a_hint_to_pass_its_id(ctx):
    event = AuditEvent(actor="a", action="b")
    with pytest.raises(service.BadArguments, match="pass the object's id"):
        service.enqueue("tests.echo", event)


def test_unknown_task_and_oversized_arguments_are_refused(ctx):
    with pytest.raises(service.UnknownTask, match=r"no task named 'nope\.nothing'"):
        service.enqueue("nope.nothing")
    with pytest.raises(service.BadArguments, match="larger than"):
        service.enqueue("tests.echo", "x" * 20_000)


def test_when_redis_is_down_enqueue_fails_loudly_and_leaves_no_history(ctx, monkeypatch):
    dead = redis_lib.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
    monkeypatch.setattr(queue, "get_redis", lambda: dead)
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
