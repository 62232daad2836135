"""Putting jobs on the queues (now, at a time, after a delay) and reading the queues and workers.

The history row is written before the job reaches Redis, so a worker always finds it.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue, Worker
from rq.job import Job, JobStatus
from rq.registry import FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import delete, exists, select

from nous.clock import aware, utcnow
from nous.extensions import db, get_redis
from nous.jobs import announce, history, registry
from nous.jobs.models import ACTIVE_STATES, QUEUED, SCHEDULED, JobRun
from nous.jobs.service.errors import BadArguments, UnknownTask

JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ARGS_JSON = 10_000


def check_arg(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_arg(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise BadArguments(f"{where}: dictionary keys must be text", where.split("[", 1)[0])
            check_arg(item, f"{where}[{k!r}]")
        return
    raise BadArguments(f"{where}: tasks take ids and plain values (text, numbers, lists, dicts), "
                       f"not {type(value).__name__}; pass the object's id", where.split("[", 1)[0])


def check_args(task_name: str, args: list[Any], kwargs: dict[str, Any]) -> None:
    """Refuse what a task cannot be given: anything but plain values, or more than MAX_ARGS_JSON
    characters of them (a job carries ids, not documents). Raises BadArguments naming the field."""
    check_arg(args, "args")
    check_arg(kwargs, "kwargs")
    if len(history.summarize({"a": args, "k": kwargs}, MAX_ARGS_JSON + 1)) > MAX_ARGS_JSON:
        raise BadArguments(f"{task_name}: arguments are larger than {MAX_ARGS_JSON} characters; pass ids instead")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def submit(task_name: str, args: tuple[Any, ...] | list[Any] = (), kwargs: dict[str, Any] | None = None, *,
           at: datetime | None = None, priority: int | None = None, actor: str = "system",
           schedule: str | None = None, job_id: str | None = None) -> str:
    """Enqueue `task_name` now (or at `at`); returns the job id. The history row is written first and
    the session committed, so the worker sees the job and every row it refers to."""
    try:
        task = registry.get(task_name)
    except KeyError as exc:
        raise UnknownTask(str(exc.args[0])) from None
    kwargs = dict(kwargs or {})
    args = list(args)
    check_args(task.name, args, kwargs)
    try:
        queue_name = registry.queue_for(priority) if priority is not None else task.queue
    except ValueError as exc:
        raise BadArguments(str(exc), "priority") from None
    job_id = job_id or uuid.uuid4().hex
    when = _utc(at) if at is not None else None
    history.record_enqueued(
        job_id=job_id, task=task.name, queue=queue_name, priority=priority or task.priority, args=args,
        kwargs=kwargs, status=SCHEDULED if when else QUEUED, scheduled_for=when, actor=actor,
        schedule=schedule, max_attempts=task.max_attempts,
    )
    try:
        put(task, queue_name, job_id, args, kwargs, when)
    except (redis.RedisError, OSError):
        db.session.execute(delete(JobRun).where(JobRun.job_id == job_id))
        db.session.commit()
        raise
    announce.job_event(job_id, task.name, SCHEDULED if when else QUEUED, queue=queue_name, attempt=0)
    return job_id


def put(task: registry.Task, queue_name: str, job_id: str, args: list[Any], kwargs: dict[str, Any],
         when: datetime | None) -> Job:
    queue = Queue(queue_name, connection=get_redis())
    job = queue.create_job(
        task.path, args=args, kwargs=kwargs, timeout=task.timeout, result_ttl=registry.RESULT_TTL,
        failure_ttl=registry.FAILURE_TTL, description=task.name, job_id=job_id, meta={"task": task.name},
        retry=task.rq_retry(), status=JobStatus.SCHEDULED if when else JobStatus.QUEUED,
    )
    with queue.connection.pipeline() as pipe:  # one round trip to Redis
        if when is not None:
            # RQ's schedule has whole seconds: round up so a job never starts before its time.
            if when.microsecond:
                when = when.replace(microsecond=0) + timedelta(seconds=1)
            queue.schedule_job(job, when, pipeline=pipe)
        else:
            queue.enqueue_job(job, pipeline=pipe)
        pipe.execute()
    return job


def enqueue(task_name: str, *args: Any, **kwargs: Any) -> str:
    """Run the task as soon as a worker is free. Returns the job id."""
    return submit(task_name, args, kwargs)


def enqueue_at(when: datetime, task_name: str, *args: Any, **kwargs: Any) -> str:
    """Run the task at `when` (naive datetimes are UTC). Returns the job id."""
    return submit(task_name, args, kwargs, at=when)


def enqueue_in(delay: timedelta, task_name: str, *args: Any, **kwargs: Any) -> str:
    """Run the task after `delay`. Returns the job id."""
    return submit(task_name, args, kwargs, at=utcnow() + delay)


def has_active(task_name: str) -> bool:
    return bool(db.session.scalar(select(exists().where(JobRun.task == task_name,
                                                        JobRun.status.in_(ACTIVE_STATES)))))


def queues() -> list[dict[str, Any]]:
    conn = get_redis()
    out = []
    for name in registry.QUEUES:
        q = Queue(name, connection=conn)
        out.append({
            "name": name, "queued": q.count,
            "scheduled": ScheduledJobRegistry(queue=q).count,
            "started": StartedJobRegistry(queue=q).count,
            "failed": FailedJobRegistry(queue=q).count,
        })
    return out


def workers() -> list[dict[str, Any]]:
    out = []
    for w in Worker.all(connection=get_redis()):
        state = w.get_state()
        out.append({
            "name": w.name, "hostname": w.hostname, "pid": w.pid, "state": getattr(state, "value", state),
            "queues": w.queue_names(), "job_id": w.get_current_job_id(),
            "birth": aware(w.birth_date), "last_heartbeat": aware(w.last_heartbeat),
            "ok": w.successful_job_count, "failed": w.failed_job_count,
        })
    return sorted(out, key=lambda w: w["name"])
