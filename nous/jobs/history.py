"""Write the durable job history. Called by the enqueuer, by the worker process around each job and
by the abandoned-job sweep; never from inside the forked work-horse (which would need its own
database connection for every job).

Every writer here commits its own transaction and logs instead of raising when the database is
unreachable: the live state stays in Redis and the history catches up on the next event.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import SQLAlchemyError

from nous.extensions import db
from nous.jobs.models import (
    CANCELED,
    FAILED,
    FINISHED,
    QUEUED,
    RETRYING,
    SCHEDULED,
    STARTED,
    STOPPED,
    JobAttempt,
    JobRun,
    aware,
    utcnow,
)

log = logging.getLogger("nous.jobs")

# Core tables, not ORM entities: these writes happen for every job, and an ORM bulk UPDATE
# evaluates its criteria against the session in Python first.
RUNS = JobRun.__table__
ATTEMPTS = JobAttempt.__table__
# Built once, run with parameters: the hot path skips building and coercing a statement per job.
INSERT_RUN = insert(RUNS)
START_RUN = (update(RUNS).where(RUNS.c.job_id == bindparam("jid"))
             .values(status=STARTED, started_at=bindparam("now"), ended_at=None, attempts=RUNS.c.attempts + 1,
                     worker=bindparam("worker"), progress=None, progress_message="", updated_at=bindparam("now"))
             .returning(RUNS.c.attempts))
INSERT_ATTEMPT = insert(ATTEMPTS)


def summarize(value: Any, limit: int) -> str:
    try:
        text = json.dumps(value, default=str, ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def args_summary(args: list[Any], kwargs: dict[str, Any]) -> str:
    parts = [summarize(a, 80) for a in args] + [f"{k}={summarize(v, 80)}" for k, v in kwargs.items()]
    return summarize_text(", ".join(parts), 300)


def summarize_text(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _safely(what: str, job_id: str, fn: Any) -> Any:
    try:
        result = fn()
        db.session.commit()
        return result
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("job history not written", extra={"job_id": job_id, "step": what, "error": str(exc)[:200]})
        return None


def record_enqueued(*, job_id: str, task: str, queue: str, priority: int, args: list[Any], kwargs: dict[str, Any],
                    status: str, scheduled_for: datetime | None, actor: str, schedule: str | None,
                    max_attempts: int) -> None:
    """The row a new job starts with (raises: the caller must know the job is on record)."""
    now = utcnow()
    db.session.execute(INSERT_RUN, {
        "job_id": job_id, "task": task, "queue": queue, "priority": priority, "args": {"args": args, "kwargs": kwargs},
        "args_summary": args_summary(args, kwargs), "status": status, "attempts": 0, "max_attempts": max_attempts,
        "actor": actor[:320], "schedule": schedule, "enqueued_at": now, "scheduled_for": scheduled_for,
        "updated_at": now, "worker": "", "error": "", "traceback": "", "result_summary": "", "progress_message": "",
    })
    db.session.commit()


def record_started(job_id: str, worker: str) -> None:
    def write() -> None:
        now = utcnow()
        attempt = db.session.execute(START_RUN, {"jid": job_id, "now": now, "worker": worker[:200]}).scalar()
        if attempt is not None:
            db.session.execute(INSERT_ATTEMPT, {"job_id": job_id, "attempt": attempt, "worker": worker[:200],
                                                "started_at": now, "outcome": STARTED, "error": "", "traceback": ""})

    _safely("started", job_id, write)


def _progress(meta: dict[str, Any]) -> tuple[int | None, str]:
    p = meta.get("progress")
    if isinstance(p, dict):
        return p.get("percent"), str(p.get("message", ""))[:200]
    return None, ""


def outcome_of(job: Job) -> dict[str, Any]:
    """What the history should say about a job RQ has just finished with (one or two Redis reads)."""
    status = job.get_status(refresh=False)
    note = job.meta.get("error") if isinstance(job.meta.get("error"), dict) else None
    out: dict[str, Any] = {"error": "", "traceback": "", "result_summary": "", "scheduled_for": None}
    if status == JobStatus.FINISHED:
        out["status"] = FINISHED
        result = job.latest_result()
        out["result_summary"] = summarize(result.return_value, 500) if result is not None else ""
    elif status in (JobStatus.FAILED, JobStatus.STOPPED):
        out["status"] = FAILED if status == JobStatus.FAILED else STOPPED
        result = job.latest_result()
        exc_string = (result.exc_string if result is not None else "") or ""
        out["traceback"] = (note or {}).get("traceback") or exc_string
        out["error"] = (note or {}).get("message") or (exc_string.strip().splitlines() or [""])[-1][:500]
        if status == JobStatus.STOPPED:
            out["error"] = out["error"] or "stopped by the admin"
    elif status in (JobStatus.SCHEDULED, JobStatus.QUEUED):
        out["status"] = RETRYING
        out["error"] = (note or {}).get("message", "")
        out["traceback"] = (note or {}).get("traceback", "")
        if status == JobStatus.SCHEDULED:
            try:
                registry = ScheduledJobRegistry(job.origin, connection=job.connection)
                out["scheduled_for"] = registry.get_scheduled_time(job)
            except Exception:  # not in the registry any more  # noqa: BLE001
                out["scheduled_for"] = None
    elif status == JobStatus.CANCELED:
        out["status"] = CANCELED
    else:
        out["status"] = QUEUED if status == JobStatus.DEFERRED else STARTED
    return out


def record_ended(job: Job, fallback_started: datetime, fallback_ended: datetime) -> dict[str, Any] | None:
    """Fetch the job's fate from Redis and write it down. Returns the outcome."""
    try:
        job.refresh()
        outcome = outcome_of(job)
    except Exception as exc:  # the job hash is gone (result_ttl=0, deleted): it ran and is over  # noqa: BLE001
        log.info("job ended without a record in Redis", extra={"job_id": job.id, "error": str(exc)[:200]})
        outcome = {"status": FINISHED, "error": "", "traceback": "", "result_summary": "", "scheduled_for": None}
    started = aware(job.started_at) or fallback_started
    ended = aware(job.ended_at) or fallback_ended
    duration = max(0.0, (ended - started).total_seconds() * 1000)
    percent, message = _progress(job.meta if isinstance(job.meta, dict) else {})
    if outcome["status"] == FINISHED and percent is not None:
        percent = 100

    def write() -> None:
        now = utcnow()
        values: dict[str, Any] = {
            "status": outcome["status"], "updated_at": now, "error": outcome["error"][:500],
            "traceback": outcome["traceback"], "progress": percent, "progress_message": message,
            "duration_ms": round(duration, 3),
        }
        if outcome["status"] == RETRYING:
            values["scheduled_for"] = outcome["scheduled_for"]
        else:
            values["ended_at"] = ended
            values["result_summary"] = outcome["result_summary"]
        db.session.execute(update(RUNS).where(RUNS.c.job_id == job.id).values(**values))
        attempt_outcome = FAILED if outcome["status"] == RETRYING else outcome["status"]
        _close_attempt(job.id, attempt_outcome, ended, outcome["error"], outcome["traceback"])

    _safely("ended", job.id, write)
    return outcome


def _close_attempt(job_id: str, outcome: str, ended: datetime, error: str, tb: str) -> None:
    """The attempt still open (one per job at a time: a job runs on one worker at once)."""
    db.session.execute(update(ATTEMPTS).where(ATTEMPTS.c.job_id == job_id, ATTEMPTS.c.outcome == STARTED)
                       .values(outcome=outcome, ended_at=ended, error=error[:500], traceback=tb))


def record_abandoned(job: Job, will_retry: bool) -> None:
    """A worker died while running the job (found by the started-registry sweep)."""
    message = "AbandonedJobError: the worker running this job died (killed or lost)"

    def write() -> None:
        now = utcnow()
        values: dict[str, Any] = {"status": RETRYING if will_retry else FAILED, "error": message, "updated_at": now}
        if not will_retry:
            values["ended_at"] = now
        db.session.execute(update(RUNS).where(RUNS.c.job_id == job.id).values(**values))
        _close_attempt(job.id, "abandoned", now, message, "")

    log.warning("abandoned job found", extra={"job_id": job.id, "retry": will_retry})
    _safely("abandoned", job.id, write)


def record_status(job_id: str, status: str, **values: Any) -> None:
    """An admin action changed the job (cancel, retry, …)."""
    now = utcnow()
    values = {"status": status, "updated_at": now, **values}
    if status in (CANCELED, STOPPED) and "ended_at" not in values:
        values["ended_at"] = now
    db.session.execute(update(RUNS).where(RUNS.c.job_id == job_id).values(**values))
    db.session.commit()


__all__ = ["CANCELED", "FAILED", "FINISHED", "QUEUED", "RETRYING", "SCHEDULED", "STARTED", "STOPPED",
           "record_abandoned", "record_ended", "record_enqueued", "record_started", "record_status"]
