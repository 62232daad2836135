"""What an admin does to a job: start a task by name, cancel or stop a job, retry it (or every failed one),
delete it.

Each action takes the actor (and IP) and writes the audit log itself.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from rq import Queue
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation
from rq.job import JobStatus
from rq.registry import CanceledJobRegistry, FailedJobRegistry, ScheduledJobRegistry
from sqlalchemy import delete, select, update

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.jobs import announce, history, registry
from nous.jobs.models import CANCELED, FAILED, QUEUED, RETRYING, SCHEDULED, STARTED, STOPPED, JobAttempt, JobRun
from nous.jobs.service.errors import JobError
from nous.jobs.service.queue import put, submit
from nous.jobs.service.runs import counts_changed, fetch_job, get_run

log = logging.getLogger("nous.jobs")


def task_for(run: JobRun) -> registry.Task:
    try:
        return registry.get(run.task)
    except KeyError:
        raise JobError(f"task {run.task!r} no longer exists in this version; the job cannot run again") from None


def _recreate(run: JobRun) -> None:
    """Put a job Redis no longer has back on its queue from the stored arguments."""
    task = task_for(run)
    stored = run.args or {}
    put(task, run.queue, run.job_id, list(stored.get("args", [])), dict(stored.get("kwargs", {})), None)


def cancel(job_id: str, actor: str, ip: str = "") -> str:
    """Cancel a waiting job (it will never run) or stop a running one. Returns the new status."""
    run = get_run(job_id)
    before = run.status
    if run.ended:
        raise JobError(f"job {run.job_id} has already ended ({run.status}); nothing to cancel")
    conn = get_redis()
    job = fetch_job(run.job_id)
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
    counts_changed()
    announce.job_event(run.job_id, run.task, new, queue=run.queue, attempt=run.attempts, error=f"{new} by {actor}")
    audit.record(actor, "jobs.cancel", run.job_id, before={"status": before}, after={"status": new}, ip=ip)
    return new


def _requeue(run: JobRun) -> None:
    job = fetch_job(run.job_id)
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
    counts_changed()
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
    counts_changed()
    audit.record(actor, "jobs.retry_all_failed", task or "*", after={"retried": retried, "skipped": skipped}, ip=ip)
    return {"retried": retried, "skipped": skipped}


def delete_job(job_id: str, actor: str, ip: str = "") -> None:
    """Remove a job from Redis and from the history. A running job must be canceled first."""
    run = get_run(job_id)
    if run.status == STARTED:
        raise JobError(f"job {run.job_id} is running; cancel it first")
    job = fetch_job(run.job_id)
    if job is not None:
        job.delete()
    before = {"task": run.task, "status": run.status, "args": run.args_summary}
    db.session.execute(delete(JobAttempt).where(JobAttempt.job_id == run.job_id))
    db.session.execute(delete(JobRun).where(JobRun.job_id == run.job_id))
    db.session.commit()
    counts_changed()
    audit.record(actor, "jobs.delete", run.job_id, before=before, ip=ip)


def start_task(task_name: str, args: list[Any] | None = None, kwargs: dict[str, Any] | None = None, *,
               at: datetime | None = None, priority: int | None = None, actor: str, ip: str = "") -> str:
    """Enqueue a registered task by name with its arguments (now, or at `at`), audited. Returns the job
    id. Raises UnknownTask, or BadArguments (naming the field) for arguments or a priority that cannot be used."""
    job_id = submit(task_name, args or [], kwargs or {}, at=at, priority=priority, actor=actor)
    audit.record(actor, "jobs.enqueue", job_id, after={"task": task_name, "at": at.isoformat() if at else None,
                                                       "priority": priority}, ip=ip)
    return job_id
