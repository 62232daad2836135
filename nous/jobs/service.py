"""The job layer: enqueue named tasks, act on jobs, read the history, keep recurring schedules.

No `request` or `g` in here: routes, the CLI and other tasks all call these functions. Actions
that change something take the actor (and IP) and write the audit log themselves.
"""

from __future__ import annotations

import logging
import math
import re
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from rq import Queue, Worker
from rq.command import send_stop_job_command
from rq.cron import CronJob
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import CanceledJobRegistry, FailedJobRegistry, ScheduledJobRegistry, StartedJobRegistry
from sqlalchemy import Integer, Select, and_, cast, delete, exists, func, or_, select, text, update
from sqlalchemy.orm import defer

from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.extensions import db, get_redis
from nous.jobs import announce, history
from nous.jobs import registry as tasks
from nous.jobs.models import (
    ACTIVE_STATES,
    CANCELED,
    ENDED_STATES,
    FAILED,
    FINISHED,
    QUEUED,
    RETRYING,
    SCHEDULED,
    STARTED,
    STATES,
    STOPPED,
    JobAttempt,
    JobRun,
    JobSchedule,
)

log = logging.getLogger("nous.jobs")

JOB_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MAX_ARGS_JSON = 10_000
PAGE_SIZE = 50


class JobError(Exception):
    """Something the caller asked cannot be done; the message says why."""


class JobNotFound(JobError):
    pass


class UnknownTask(JobError):
    pass


# --- enqueueing --------------------------------------------------------------------------------

def _check_arg(value: Any, where: str) -> None:
    if value is None or isinstance(value, bool | int | float | str):
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_arg(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, item in value.items():
            if not isinstance(k, str):
                raise TypeError(f"{where}: dictionary keys must be text")
            _check_arg(item, f"{where}[{k!r}]")
        return
    raise TypeError(f"{where}: tasks take ids and plain values (text, numbers, lists, dicts), "
                    f"not {type(value).__name__}; pass the object's id")


def _utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def submit(task_name: str, args: tuple[Any, ...] | list[Any] = (), kwargs: dict[str, Any] | None = None, *,
           at: datetime | None = None, priority: int | None = None, actor: str = "system",
           schedule: str | None = None, job_id: str | None = None) -> str:
    """Enqueue `task_name` now (or at `at`); returns the job id. The history row is written first and
    the session committed, so the worker sees the job and every row it refers to."""
    try:
        task = tasks.get(task_name)
    except KeyError as exc:
        raise UnknownTask(str(exc.args[0])) from None
    kwargs = dict(kwargs or {})
    args = list(args)
    _check_arg(args, "args")
    _check_arg(kwargs, "kwargs")
    if len(history.summarize({"a": args, "k": kwargs}, MAX_ARGS_JSON + 1)) > MAX_ARGS_JSON:
        raise ValueError(f"{task_name}: arguments are larger than {MAX_ARGS_JSON} characters; pass ids instead")
    queue_name = tasks.queue_for(priority) if priority is not None else task.queue
    job_id = job_id or uuid.uuid4().hex
    when = _utc(at) if at is not None else None
    history.record_enqueued(
        job_id=job_id, task=task.name, queue=queue_name, priority=priority or task.priority, args=args,
        kwargs=kwargs, status=SCHEDULED if when else QUEUED, scheduled_for=when, actor=actor,
        schedule=schedule, max_attempts=task.max_attempts,
    )
    try:
        _put(task, queue_name, job_id, args, kwargs, when)
    except (redis.RedisError, OSError):
        db.session.execute(delete(JobRun).where(JobRun.job_id == job_id))
        db.session.commit()
        raise
    announce.job_event(job_id, task.name, SCHEDULED if when else QUEUED, queue=queue_name, attempt=0)
    return job_id


def _put(task: tasks.Task, queue_name: str, job_id: str, args: list[Any], kwargs: dict[str, Any],
         when: datetime | None) -> Job:
    queue = Queue(queue_name, connection=get_redis())
    job = queue.create_job(
        task.path, args=args, kwargs=kwargs, timeout=task.timeout, result_ttl=tasks.RESULT_TTL,
        failure_ttl=tasks.FAILURE_TTL, description=task.name, job_id=job_id, meta={"task": task.name},
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


# --- reading -----------------------------------------------------------------------------------

def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_ID_RE.match(job_id):
        raise JobNotFound(f"{str(job_id)[:80]!r} is not a job id")
    return job_id


def get_run(job_id: str) -> JobRun:
    run = db.session.scalar(select(JobRun).where(JobRun.job_id == check_job_id(job_id)))
    if run is None:
        raise JobNotFound(f"no job {job_id}")
    return run


def _fetch(job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=get_redis())
    except NoSuchJobError:
        return None


@dataclass
class RunFilter:
    status: str = ""
    task: str = ""
    q: str = ""

    def validate(self) -> RunFilter:
        self.status = (self.status or "").strip().lower()
        self.task = (self.task or "").strip()[:100]
        self.q = (self.q or "").strip()[:200]
        if self.status and self.status not in STATES:
            raise ValueError(f"status must be one of {', '.join(STATES)}")
        return self

    def where(self, stmt: Select[Any]) -> Select[Any]:
        if self.status:
            stmt = stmt.where(JobRun.status == self.status)
        if self.task:
            stmt = stmt.where(JobRun.task == self.task)
        if self.q:
            q = self.q
            # SQLite's LIKE already ignores ASCII case; lower() on both sides would only slow it down.
            sqlite = db.engine.dialect.name == "sqlite"

            def like(col: Any) -> Any:
                return col.contains(q, autoescape=True) if sqlite else col.icontains(q, autoescape=True)

            stmt = stmt.where(or_(JobRun.job_id == q, like(JobRun.task), like(JobRun.args_summary),
                                  like(JobRun.error)))
        return stmt


@dataclass
class RunPage:
    rows: list[JobRun]
    has_older: bool
    has_newer: bool
    filters: RunFilter = field(default_factory=RunFilter)

    @property
    def older_cursor(self) -> int | None:
        return self.rows[-1].seq if self.rows and self.has_older else None

    @property
    def newer_cursor(self) -> int | None:
        return self.rows[0].seq if self.rows and self.has_newer else None


def list_runs(filters: RunFilter | None = None, *, before: int | None = None, after: int | None = None,
              oldest: bool = False, limit: int = PAGE_SIZE) -> RunPage:
    """Newest first, keyset-paginated on `seq` (each page costs the same, however deep)."""
    f = (filters or RunFilter()).validate()
    base = f.where(select(JobRun).options(defer(JobRun.traceback), defer(JobRun.args)))
    if before is not None:
        rows = list(db.session.scalars(base.where(JobRun.seq < before).order_by(JobRun.seq.desc()).limit(limit + 1)))
        has_older, rows = len(rows) > limit, rows[:limit]
        has_newer = True
    elif after is not None or oldest:
        stmt = base.where(JobRun.seq > after) if after is not None else base
        rows = list(db.session.scalars(stmt.order_by(JobRun.seq.asc()).limit(limit + 1)))
        has_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_older = after is not None
    else:
        rows = list(db.session.scalars(base.order_by(JobRun.seq.desc()).limit(limit + 1)))
        has_older, rows = len(rows) > limit, rows[:limit]
        has_newer = False
    if rows and (before is not None or after is not None):
        # exact answers at the edges (rows may have been deleted since the cursor was made)
        has_newer = _any(f, JobRun.seq > rows[0].seq)
        has_older = _any(f, JobRun.seq < rows[-1].seq)
    return RunPage(rows=rows, has_older=has_older, has_newer=has_newer, filters=f)


def _any(f: RunFilter, cond: Any) -> bool:
    return bool(db.session.scalar(f.where(select(JobRun.seq)).where(cond).limit(1)))


def counts_by_status() -> dict[str, int]:
    out = dict.fromkeys(STATES, 0)
    for status, n in db.session.execute(select(JobRun.status, func.count()).group_by(JobRun.status)):
        out[status] = n
    return out


COUNTS_KEY = "nous:jobs:counts"
COUNTS_MAX_AGE = 5  # seconds


def recent_counts() -> dict[str, int]:
    """`counts_by_status()` as of at most COUNTS_MAX_AGE seconds ago (kept in Redis for every web
    process), for the console's tiles: the count reads the whole history, which every page view
    need not do. The admin's actions drop it; without Redis it is counted each time."""
    import json

    conn = get_redis()
    try:
        raw = conn.get(COUNTS_KEY)
        if raw:
            counts = json.loads(raw)
            if isinstance(counts, dict):
                return {s: int(counts.get(s, 0)) for s in STATES}
    except (redis.RedisError, OSError, ValueError, TypeError):
        pass
    counts = counts_by_status()
    try:
        conn.set(COUNTS_KEY, json.dumps(counts), ex=COUNTS_MAX_AGE)
    except (redis.RedisError, OSError):
        pass
    return counts


def _counts_changed() -> None:
    try:
        get_redis().delete(COUNTS_KEY)
    except (redis.RedisError, OSError):  # the key expires by itself
        pass


def task_names() -> list[str]:
    """Declared tasks and those in the history (cached a minute: a DISTINCT over the whole history)."""
    from nous.extensions import cache

    names = cache.get("nous:jobs:task-names")
    if names is None:
        tasks.discover()
        known = set(tasks.tasks_registry)
        known.update(db.session.scalars(select(JobRun.task).distinct()))
        names = sorted(known)
        cache.set("nous:jobs:task-names", names, timeout=60)
    return names


def detail(job_id: str) -> dict[str, Any]:
    run = get_run(job_id)
    attempts = list(db.session.scalars(select(JobAttempt).where(JobAttempt.job_id == run.job_id)
                                       .order_by(JobAttempt.attempt.desc(), JobAttempt.id.desc())))
    live: dict[str, Any] = {}
    try:
        job = _fetch(run.job_id)
        if job is not None:
            live = {"status": job.get_status(refresh=False).value, "retries_left": job.retries_left,
                    "position": job.get_position() if job.get_status(refresh=False) == JobStatus.QUEUED else None,
                    "progress": job.meta.get("progress"), "worker": job.worker_name}
            if job.get_status(refresh=False) == JobStatus.SCHEDULED:
                registry = ScheduledJobRegistry(job.origin, connection=job.connection)
                live["scheduled_for"] = registry.get_scheduled_time(job)
    except (redis.RedisError, OSError) as exc:
        live = {"error": f"Redis is not reachable: {exc}"}
    actions = audit.query(target=run.job_id, limit=20)
    return {"run": run, "attempts": attempts, "live": live, "actions": actions}


def progress(job_id: str) -> dict[str, Any]:
    """Status and progress; for a running job straight from the job's meta in Redis."""
    run = get_run(job_id)
    out = {"job_id": run.job_id, "status": run.status, "percent": run.progress,
           "message": run.progress_message, "ended": run.ended}
    if run.status == STARTED:
        try:
            job = _fetch(run.job_id)
        except (redis.RedisError, OSError):
            job = None
        if job is not None:
            p = job.meta.get("progress") or {}
            out.update(percent=p.get("percent"), message=p.get("message", ""))
    return out


def latest_failures(limit: int = 8) -> list[JobRun]:
    stmt = (select(JobRun).options(defer(JobRun.traceback), defer(JobRun.args)).where(JobRun.status == FAILED)
            .order_by(JobRun.seq.desc()).limit(limit))
    return list(db.session.scalars(stmt))


def queues() -> list[dict[str, Any]]:
    conn = get_redis()
    out = []
    for name in tasks.QUEUES:
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


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * pct
    lo, hi = math.floor(k), math.ceil(k)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def stats(hours: int = 24) -> list[dict[str, Any]]:
    """Per task over the last `hours`: counts by status, throughput per hour, failure rate, mean/p95 ms."""
    since = utcnow() - timedelta(hours=hours)
    rows: dict[str, dict[str, Any]] = {}

    def row(task: str) -> dict[str, Any]:
        return rows.setdefault(task, {"task": task, "counts": dict.fromkeys(STATES, 0)})

    ended = (select(JobRun.task, JobRun.status, func.count()).where(JobRun.ended_at >= since)
             .where(JobRun.status.in_(ENDED_STATES)).group_by(JobRun.task, JobRun.status))
    active = (select(JobRun.task, JobRun.status, func.count()).where(JobRun.status.in_(ACTIVE_STATES))
              .group_by(JobRun.task, JobRun.status))
    for stmt in (ended, active):
        for task, status, n in db.session.execute(stmt):
            row(task)["counts"][status] = n
    durations: dict[str, list[float]] = defaultdict(list)
    timing: dict[str, tuple[float | None, float | None]] = {}
    done = and_(JobRun.ended_at >= since, JobRun.status == FINISHED, JobRun.duration_ms.is_not(None))
    if db.engine.dialect.name == "postgresql":
        stmt = (select(JobRun.task, func.avg(JobRun.duration_ms),
                       func.percentile_cont(0.95).within_group(JobRun.duration_ms.asc()))
                .where(done).group_by(JobRun.task))
        for task, mean, p95 in db.session.execute(stmt):
            timing[task] = (float(mean) if mean is not None else None, float(p95) if p95 is not None else None)
    else:
        for task, ms in db.session.execute(select(JobRun.task, JobRun.duration_ms).where(done)):
            durations[task].append(ms)
        for task, values in durations.items():
            timing[task] = (sum(values) / len(values), _percentile(values, 0.95))
    out = []
    for task, r in sorted(rows.items()):
        c = r["counts"]
        finished, failed = c[FINISHED], c[FAILED]
        mean, p95 = timing.get(task, (None, None))
        out.append({
            "task": task, "counts": c, "total": sum(c.values()),
            "per_hour": round((finished + failed) / hours, 2),
            "failure_rate": round(failed / (finished + failed), 4) if finished + failed else None,
            "mean_ms": round(mean, 2) if mean is not None else None,
            "p95_ms": round(p95, 2) if p95 is not None else None,
        })
    return out


RANGES = {"48h": (48, 3600), "14d": (14 * 24, 86400), "30d": (30 * 24, 86400)}


def series(range_: str = "48h") -> dict[str, Any]:
    """Jobs processed (ended) and failed per hour or per day, for the charts."""
    if range_ not in RANGES:
        raise ValueError(f"range must be one of {', '.join(RANGES)}")
    hours, size = RANGES[range_]
    now = utcnow()
    start = int((now - timedelta(hours=hours)).timestamp()) // size * size
    if db.engine.dialect.name == "postgresql":
        bucket = func.floor(func.extract("epoch", JobRun.ended_at) / size)
    else:
        bucket = cast(func.strftime("%s", JobRun.ended_at), Integer) // size
    stmt = (select(bucket.label("b"), JobRun.status, func.count())
            .where(JobRun.ended_at >= datetime.fromtimestamp(start, UTC))
            .where(JobRun.status.in_((FINISHED, FAILED))).group_by(text("b"), JobRun.status))
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {FINISHED: 0, FAILED: 0})
    for b, status, n in db.session.execute(stmt):
        counts[int(b)][status] += n
    ts, processed, failed = [], [], []
    for t in range(start, int(now.timestamp()) + 1, size):
        c = counts.get(t // size, {FINISHED: 0, FAILED: 0})
        ts.append(t)
        processed.append(c[FINISHED] + c[FAILED])
        failed.append(c[FAILED])
    return {"range": range_, "bucket_seconds": size, "t": ts, "processed": processed, "failed": failed}


# --- actions -----------------------------------------------------------------------------------

def _task_for(run: JobRun) -> tasks.Task:
    try:
        return tasks.get(run.task)
    except KeyError:
        raise JobError(f"task {run.task!r} no longer exists in this version; the job cannot run again") from None


def _recreate(run: JobRun) -> None:
    """Put a job Redis no longer has back on its queue from the stored arguments."""
    task = _task_for(run)
    stored = run.args or {}
    _put(task, run.queue, run.job_id, list(stored.get("args", [])), dict(stored.get("kwargs", {})), None)


def cancel(job_id: str, actor: str, ip: str = "") -> str:
    """Cancel a waiting job (it will never run) or stop a running one. Returns the new status."""
    run = get_run(job_id)
    before = run.status
    if run.ended:
        raise JobError(f"job {run.job_id} has already ended ({run.status}); nothing to cancel")
    conn = get_redis()
    job = _fetch(run.job_id)
    new = CANCELED
    if job is not None:
        status = job.get_status(refresh=False)
        if status == JobStatus.STARTED:
            try:
                send_stop_job_command(conn, run.job_id)
                new = STOPPED
            except InvalidJobOperation:
                job.cancel()
        elif status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED):
            raise JobError(f"job {run.job_id} has just ended ({status.value}); nothing to cancel")
        else:
            job.cancel()
    history.record_status(run.job_id, new, scheduled_for=None, error=f"{new} by {actor}"[:500])
    _counts_changed()
    announce.job_event(run.job_id, run.task, new, queue=run.queue, attempt=run.attempts, error=f"{new} by {actor}")
    audit.record(actor, "jobs.cancel", run.job_id, before={"status": before}, after={"status": new}, ip=ip)
    return new


def _requeue(run: JobRun) -> None:
    job = _fetch(run.job_id)
    if job is None:
        _recreate(run)
        return
    status = job.get_status(refresh=False)
    queue = Queue(job.origin, connection=job.connection)
    if status in (JobStatus.FAILED, JobStatus.STOPPED):
        try:
            FailedJobRegistry(queue=queue).requeue(job)
            return
        except InvalidJobOperation:
            pass
    elif status == JobStatus.CANCELED:
        try:
            CanceledJobRegistry(queue=queue).requeue(job)
            return
        except InvalidJobOperation:
            pass
    elif status == JobStatus.SCHEDULED:
        ScheduledJobRegistry(queue=queue).remove(job)
    elif status == JobStatus.QUEUED:
        return
    elif status == JobStatus.STARTED:
        raise JobError(f"job {run.job_id} is running right now")
    queue.enqueue_job(job)


def retry(job_id: str, actor: str, ip: str = "") -> str:
    """Run a failed, stopped or canceled job again, or a job waiting for its next retry right now."""
    run = get_run(job_id)
    if run.status not in (FAILED, STOPPED, CANCELED, RETRYING, SCHEDULED):
        raise JobError(f"job {run.job_id} is {run.status}; "
                       "only failed, stopped, canceled or waiting jobs can be retried")
    before = run.status
    _requeue(run)
    history.record_status(run.job_id, QUEUED, scheduled_for=None, ended_at=None)
    _counts_changed()
    announce.job_event(run.job_id, run.task, QUEUED, queue=run.queue, attempt=run.attempts)
    audit.record(actor, "jobs.retry", run.job_id, before={"status": before}, after={"status": QUEUED}, ip=ip)
    return QUEUED


def retry_all_failed(actor: str, ip: str = "", task: str = "") -> dict[str, int]:
    """Retry every failed job (of one task, if given). Returns {"retried": n, "skipped": m}."""
    retried = skipped = 0
    last = None
    while True:
        stmt = select(JobRun).where(JobRun.status == FAILED).order_by(JobRun.seq.asc()).limit(500)
        if task:
            stmt = stmt.where(JobRun.task == task)
        if last is not None:
            stmt = stmt.where(JobRun.seq > last)
        batch = list(db.session.scalars(stmt))
        if not batch:
            break
        last = batch[-1].seq
        done = []
        for run in batch:
            try:
                _requeue(run)
                done.append(run.job_id)
            except JobError as exc:
                skipped += 1
                log.info("not retried", extra={"job_id": run.job_id, "reason": str(exc)})
        if done:
            db.session.execute(update(JobRun).where(JobRun.job_id.in_(done))
                               .values(status=QUEUED, scheduled_for=None, ended_at=None, updated_at=utcnow()))
            db.session.commit()
        retried += len(done)
    _counts_changed()
    audit.record(actor, "jobs.retry_all_failed", task or "*", after={"retried": retried, "skipped": skipped}, ip=ip)
    return {"retried": retried, "skipped": skipped}


def delete_job(job_id: str, actor: str, ip: str = "") -> None:
    """Remove a job from Redis and from the history. A running job must be cancelled first."""
    run = get_run(job_id)
    if run.status == STARTED:
        raise JobError(f"job {run.job_id} is running; cancel it first")
    job = _fetch(run.job_id)
    if job is not None:
        job.delete()
    before = {"task": run.task, "status": run.status, "args": run.args_summary}
    db.session.execute(delete(JobAttempt).where(JobAttempt.job_id == run.job_id))
    db.session.execute(delete(JobRun).where(JobRun.job_id == run.job_id))
    db.session.commit()
    _counts_changed()
    audit.record(actor, "jobs.delete", run.job_id, before=before, ip=ip)


# --- housekeeping ------------------------------------------------------------------------------

RECONCILE_GRACE = timedelta(seconds=5)  # a younger row may be between its commit and its Redis write
LOST_CONFIRM = 10.0  # seconds a running job must stay missing from Redis, its worker silent, before it is put back
RECONCILE_BATCH = 500
_missing_since: dict[str, float] = {}  # running job id -> when a pass first found it missing (this process)


def reconcile(grace: timedelta = RECONCILE_GRACE, confirm: float = LOST_CONFIRM) -> dict[str, int]:
    """Make the history and Redis agree again, for every job the history says is waiting or running
    (rows younger than `grace` excepted). Run every few seconds by the scheduler; one round trip to
    Redis per RECONCILE_BATCH rows.
    - Redis no longer has the job (a restart, a flushed database): it is put back from its stored
      arguments (at its time, if scheduled), so nothing on record is lost. A job the history says
      runs is put back only once it has been missing for `confirm` seconds while its worker gave
      no sign of still running it (a flushed Redis loses RQ's own record of running jobs);
    - Redis says it has ended but the history missed it (its worker died at that moment, or could
      not read the outcome during an outage): the history takes RQ's outcome."""
    cutoff = utcnow() - grace
    conn = get_redis()
    out = {"restored": 0, "synced": 0}
    ended = {s.value for s in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)}
    still_missing: set[str] = set()
    last = 0
    while True:
        batch = list(db.session.scalars(
            select(JobRun).options(defer(JobRun.traceback), defer(JobRun.error), defer(JobRun.result_summary))
            .where(JobRun.status.in_(ACTIVE_STATES))
            .where(JobRun.updated_at < cutoff, JobRun.seq > last).order_by(JobRun.seq.asc()).limit(RECONCILE_BATCH)))
        if not batch:
            break
        last = batch[-1].seq
        with conn.pipeline(transaction=False) as pipe:
            for run in batch:
                pipe.hget(Job.key_for(run.job_id), "status")
                pipe.hexists(Job.key_for(run.job_id), "data")
                pipe.exists(history.RUNNING_KEY.format(run.job_id))
            answers = pipe.execute()
        lost = []
        for run, status, kept, running in zip(batch, answers[0::3], answers[1::3], answers[2::3], strict=True):
            if kept:  # RQ has the job (RQ cannot read one without its "data")
                if status is not None and status.decode() in ended:
                    out["synced"] += _sync(run)
                continue
            if run.status == STARTED:
                first = _missing_since.setdefault(run.job_id, time.monotonic())
                still_missing.add(run.job_id)
                if running or time.monotonic() - first < confirm:
                    continue
            lost.append(run)
        out["restored"] += _restore(lost)
    for job_id in set(_missing_since) - still_missing:
        del _missing_since[job_id]
    return out


def _sync(run: JobRun) -> int:
    job = _fetch(run.job_id)
    if job is None:
        return 0
    outcome = history.record_ended(job, aware(run.started_at) or utcnow(), utcnow())
    if not outcome:
        return 0
    announce.job_event(run.job_id, run.task, outcome["status"], queue=run.queue, attempt=run.attempts,
                       progress=outcome.get("progress"), error=outcome.get("error"))
    return 1


def _restore(runs: list[JobRun]) -> int:
    """Put jobs Redis lost back from their stored arguments (at their time, if they wait for one): the
    history first (one commit for all), then Redis (one round trip each), so a worker that takes a
    job at once finds its row ready. Returns how many."""
    now = utcnow()
    back: list[tuple[JobRun, tasks.Task, datetime | None]] = []
    for run in runs:
        _missing_since.pop(run.job_id, None)
        try:
            task = _task_for(run)
        except JobError:
            db.session.execute(update(JobRun).where(JobRun.job_id == run.job_id).values(
                status=FAILED, error="task no longer exists", ended_at=now, updated_at=now))
            continue
        when = aware(run.scheduled_for) if run.status in (SCHEDULED, RETRYING) else None
        back.append((run, task, when if when and when > now else None))
    running = [run.job_id for run, _, _ in back if run.status == STARTED]
    if running:
        history.record_lost(running)
    for status in (QUEUED, SCHEDULED):
        ids = [run.job_id for run, _, when in back if (SCHEDULED if when else QUEUED) == status]
        if ids:
            db.session.execute(update(JobRun).where(JobRun.job_id.in_(ids)).values(status=status, updated_at=now))
    db.session.commit()
    if not back:
        return 0
    conn = get_redis()
    for run, task, when in back:
        stored = run.args or {}
        conn.delete(Job.key_for(run.job_id))  # what a running work-horse may have written since the flush
        _put(task, run.queue, run.job_id, list(stored.get("args", [])), dict(stored.get("kwargs", {})), when)
        announce.job_event(run.job_id, run.task, SCHEDULED if when else QUEUED, queue=run.queue, attempt=run.attempts)
    log.warning("jobs restored from the history",
                extra={"count": len(back), "job_ids": [run.job_id for run, _, _ in back][:20]})
    return len(back)


def prune_history(days: int) -> int:
    """Delete ended jobs older than `days`. Returns how many."""
    cutoff = utcnow() - timedelta(days=days)
    old = (JobRun.status.in_(ENDED_STATES), JobRun.ended_at < cutoff)
    db.session.execute(delete(JobAttempt).where(JobAttempt.job_id.in_(select(JobRun.job_id).where(*old))))
    n = db.session.execute(delete(JobRun).where(*old)).rowcount
    db.session.commit()
    return n or 0


# --- recurring schedules -----------------------------------------------------------------------

def next_run(cron: str | None, interval: int | None, after: datetime) -> datetime:
    """The next time a schedule is due after `after` (cron fields in the server's local time, as RQ)."""
    if interval:
        return after + timedelta(seconds=interval)
    cj = CronJob(queue_name="default", func_name="nous.jobs.builtin.noop", cron=cron)
    cj.latest_enqueue_time = after
    return cj.get_next_enqueue_time()


def _schedule(name: str, task_name: str, cron: str | None, interval: int | None, args: tuple[Any, ...],
              kwargs: dict[str, Any], source: str) -> dict[str, Any]:
    from croniter import croniter

    if not re.match(r"^[A-Za-z0-9_.:-]{1,100}$", name or ""):
        raise ValueError("schedule name: 1–100 letters, digits, . _ : -")
    if cron is not None and not croniter.is_valid(cron):
        raise ValueError(f"{cron!r} is not a cron expression (minute hour day month weekday)")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        raise ValueError("interval must be a whole number of seconds")
    try:
        tasks.get(task_name)
    except KeyError as exc:
        raise UnknownTask(str(exc.args[0])) from None
    _check_arg(list(args), "args")
    _check_arg(kwargs, "kwargs")
    now = utcnow()
    row = db.session.get(JobSchedule, name)
    stored = {"args": list(args), "kwargs": kwargs}
    if row is None:
        row = JobSchedule(name=name, task=task_name, cron=cron, interval_seconds=interval, args=stored,
                          enabled=True, source=source, next_run_at=next_run(cron, interval, now), created_at=now,
                          updated_at=now)
        db.session.add(row)
    elif (row.cron, row.interval_seconds, row.task, row.args) != (cron, interval, task_name, stored):
        row.task, row.cron, row.interval_seconds, row.args = task_name, cron, interval, stored
        row.next_run_at = next_run(cron, interval, now)
        row.updated_at = now
    db.session.commit()
    return row.as_dict()


def schedule_cron(name: str, cron: str, task_name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Keep `task_name(*args, **kwargs)` running on a cron schedule ("*/5 * * * *"); idempotent."""
    return _schedule(name, task_name, cron, None, args, kwargs, "api")


def schedule_interval(name: str, seconds: int, task_name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Keep `task_name(*args, **kwargs)` running every `seconds`; idempotent."""
    return _schedule(name, task_name, None, seconds, args, kwargs, "api")


def unschedule(name: str) -> bool:
    n = db.session.execute(delete(JobSchedule).where(JobSchedule.name == name)).rowcount
    db.session.commit()
    return bool(n)


def list_schedules() -> list[JobSchedule]:
    return list(db.session.scalars(select(JobSchedule).order_by(JobSchedule.name)))


def sync_declared_schedules() -> None:
    """Tasks declared with `cron=` or `interval=` get (or update) their schedule, named after the task."""
    tasks.discover()
    for t in tasks.tasks_registry.values():
        if t.cron or t.interval:
            _schedule(t.name, t.name, t.cron, t.interval, (), {}, "code")


def run_due_schedules(now: datetime | None = None) -> list[str]:
    """Enqueue every schedule that is due (call from one process at a time: the scheduler's lock)."""
    now = now or utcnow()
    started = []
    due = list(db.session.scalars(select(JobSchedule).where(JobSchedule.enabled.is_(True))
                                  .where(JobSchedule.next_run_at <= now)))
    for s in due:
        previous = s.next_run_at
        nxt = next_run(s.cron, s.interval_seconds, now)
        # compare-and-set: a slot fires once even if two schedulers ever overlap
        claimed = db.session.execute(
            update(JobSchedule).where(JobSchedule.name == s.name, JobSchedule.next_run_at == previous)
            .values(next_run_at=nxt, last_run_at=now, updated_at=now)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        stored = s.args or {}
        try:
            job_id = submit(s.task, stored.get("args", []), stored.get("kwargs", {}), actor=f"schedule:{s.name}",
                            schedule=s.name)
        except (JobError, TypeError, ValueError) as exc:
            log.error("schedule could not enqueue", extra={"schedule": s.name, "error": str(exc)})
            continue
        db.session.execute(update(JobSchedule).where(JobSchedule.name == s.name).values(last_job_id=job_id))
        db.session.commit()
        started.append(job_id)
    return started


def has_active(task_name: str) -> bool:
    return bool(db.session.scalar(select(exists().where(JobRun.task == task_name,
                                                        JobRun.status.in_(ACTIVE_STATES)))))


__all__ = ["CANCELED", "FAILED", "FINISHED", "QUEUED", "RETRYING", "SCHEDULED", "STARTED", "STATES", "STOPPED",
           "JobError", "JobNotFound", "RunFilter", "RunPage", "UnknownTask", "cancel", "delete_job", "detail",
           "enqueue", "enqueue_at", "enqueue_in", "list_runs", "progress", "queues", "retry", "retry_all_failed",
           "schedule_cron", "schedule_interval", "series", "stats", "submit", "unschedule", "workers"]
