"""Keeping the history and Redis in agreement (the reconciler) and pruning old history."""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from rq.job import Job, JobStatus
from sqlalchemy import delete, select, update
from sqlalchemy.orm import defer

from nous.clock import aware, utcnow
from nous.extensions import db, get_redis
from nous.jobs import announce, history, registry
from nous.jobs.models import (
    ACTIVE_STATES,
    ENDED_STATES,
    FAILED,
    QUEUED,
    RETRYING,
    SCHEDULED,
    STARTED,
    JobAttempt,
    JobRun,
)
from nous.jobs.service.actions import task_for
from nous.jobs.service.errors import JobError
from nous.jobs.service.queue import put
from nous.jobs.service.runs import fetch_job

log = logging.getLogger("nous.jobs")

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
    job = fetch_job(run.job_id)
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
    back: list[tuple[JobRun, registry.Task, datetime | None]] = []
    for run in runs:
        _missing_since.pop(run.job_id, None)
        try:
            task = task_for(run)
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
        put(task, run.queue, run.job_id, list(stored.get("args", [])), dict(stored.get("kwargs", {})), when)
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
