"""Write the durable job history. Called by the enqueuer, by the worker process around each job and
by the abandoned-job sweep; never from inside the forked work-horse (which would need its own
database connection for every job).

Every writer here commits its own transaction and logs instead of raising when the database is
unreachable: the live state stays in Redis and the history catches up on the next event.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any

from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from rq.results import Result
from sqlalchemy import Connection, DateTime, String, bindparam, insert, literal, select, update
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from nous.clock import aware, utcnow
from nous.extensions import db
from nous.jobs import announce
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
)

log = logging.getLogger("nous.jobs")

LOST = "lost"  # an attempt whose end nobody saw: Redis lost the job while it ran, and it was put back
# Set by a running job's worker at each heartbeat (kept apart from RQ's keys, which a flushed Redis loses
# and RQ's heartbeats do not write back): the reconciler does not put back a job someone still runs.
RUNNING_KEY = "nous:jobs:running:{}"
REACHABLE_FOR = 1.0  # seconds a successful write vouches for the database before it is asked again

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
_OUTCOME = {"status": bindparam("status"), "updated_at": bindparam("now"), "error": bindparam("error"),
            "traceback": bindparam("tb"), "progress": bindparam("progress"),
            "progress_message": bindparam("message"), "duration_ms": bindparam("duration")}
END_RUN = (update(RUNS).where(RUNS.c.job_id == bindparam("jid"))
           .values(**_OUTCOME, ended_at=bindparam("ended"), result_summary=bindparam("result")))
RETRY_RUN = (update(RUNS).where(RUNS.c.job_id == bindparam("jid"))
             .values(**_OUTCOME, scheduled_for=bindparam("next_at")))
CLOSE_ATTEMPT = (update(ATTEMPTS).where(ATTEMPTS.c.job_id == bindparam("jid"), ATTEMPTS.c.outcome == STARTED)
                 .values(outcome=bindparam("outcome"), ended_at=bindparam("ended"), error=bindparam("error"),
                         traceback=bindparam("tb")))
# PostgreSQL: the run and its attempt in one statement each (a data-modifying CTE), run in autocommit
# on the worker's connection: one round trip for the start and one for the end of every job,
# instead of BEGIN, two statements and COMMIT.
_STARTED_RUN = START_RUN.cte("started_run")
START_PG = (insert(ATTEMPTS).from_select(
    ["job_id", "attempt", "worker", "started_at", "outcome", "error", "traceback"],
    select(bindparam("jid", type_=String), _STARTED_RUN.c.attempts, bindparam("worker", type_=String),
           bindparam("now", type_=DateTime(timezone=True)), literal(STARTED), literal(""), literal("")),
).returning(ATTEMPTS.c.attempt))
END_PG = CLOSE_ATTEMPT.add_cte(END_RUN.cte("ended_run"))
RETRY_PG = CLOSE_ATTEMPT.add_cte(RETRY_RUN.cte("retry_run"))


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


class Writer:
    """Where the worker process writes the history: one connection kept for the worker's life (no pool
    checkout, pre-ping and reset for every job), replaced after an error. Without one, the session.

    On PostgreSQL each write is one statement in autocommit, and the connection commits
    asynchronously (`synchronous_commit = off`, PostgreSQL's own knob): a database crash may lose
    the last fraction of a second of start/end records, never the job itself (its row is written
    synchronously when it is enqueued, and `service.reconcile` takes the outcome from RQ for any job
    the history still shows as running)."""

    def __init__(self) -> None:
        self._conn: Connection | None = None
        self.single_statements = False  # one CTE statement per write, in autocommit (PostgreSQL)
        self.answered_at = -1e9  # monotonic time of the database's last answer

    def reachable(self, fresh: bool = False) -> bool:
        """Whether the database answers (asked with a round trip if `fresh` or if it has not answered
        for REACHABLE_FOR seconds). A dead connection is replaced."""
        if not fresh and time.monotonic() - self.answered_at < REACHABLE_FOR:
            return True
        return _safely("ping", "-", lambda ex: ex.exec_driver_sql("SELECT 1").scalar(), self, quiet=True) == 1

    def connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.invalidated:
            conn = db.engine.connect()
            self.single_statements = conn.dialect.name == "postgresql"
            if self.single_statements:
                conn.exec_driver_sql("SET synchronous_commit TO off")
                conn.commit()
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            self._conn = conn
        return self._conn

    def discard(self) -> None:
        self.answered_at = -1e9  # a failed write vouches for nothing: the next check asks the database
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except SQLAlchemyError:
                pass
        self._conn = None

    def close(self) -> None:
        """Give the connection back (the worker stops)."""
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
        self._conn = None


def _safely(what: str, job_id: str, fn: Any, writer: Writer | None = None, quiet: bool = False) -> Any:
    """Run `fn(executor)` in a transaction; log (never raise) when the database is unreachable.
    The writer's connection found dead (the database restarted since its last use) is replaced and
    the write tried once more on a new one."""
    for first_try in (True, False):
        try:
            if writer is None:
                result = fn(db.session)
                db.session.commit()
                return result
            conn = writer.connection()
            with conn.begin():
                result = fn(conn)
            writer.answered_at = time.monotonic()
            return result
        except SQLAlchemyError as exc:
            if writer is None:
                db.session.rollback()
            else:
                writer.discard()
                if first_try and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    continue
            if not quiet:
                log.warning("job history not written",
                            extra={"job_id": job_id, "step": what, "error": str(exc)[:200]})
            return None
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


def record_started(job_id: str, worker: str, writer: Writer | None = None) -> int | None:
    """Returns the attempt that starts (None when the history could not be written)."""
    def write(ex: Any) -> int | None:
        now = utcnow()
        if writer is not None and writer.single_statements:
            return ex.execute(START_PG, {"jid": job_id, "now": now, "worker": worker[:200]}).scalar()
        attempt = ex.execute(START_RUN, {"jid": job_id, "now": now, "worker": worker[:200]}).scalar()
        if attempt is not None:
            ex.execute(INSERT_ATTEMPT, {"job_id": job_id, "attempt": attempt, "worker": worker[:200],
                                        "started_at": now, "outcome": STARTED, "error": "", "traceback": ""})
        return attempt

    return _safely("started", job_id, write, writer)


def _progress(meta: dict[str, Any]) -> tuple[int | None, str]:
    p = meta.get("progress")
    if isinstance(p, dict):
        return p.get("percent"), str(p.get("message", ""))[:200]
    return None, ""


def load(job: Job) -> Result | None:
    """Refresh `job` from Redis and fetch its latest result, in one round trip."""
    with job.connection.pipeline(transaction=False) as pipe:
        pipe.hgetall(job.key)
        pipe.xrevrange(Result.get_key(job.id), "+", "-", count=1)
        data, latest = pipe.execute()
    if not data:
        raise NoSuchJobError(f"no job {job.id} in Redis")
    job.restore(data)
    if not latest:
        return None
    result_id, payload = latest[0]
    return Result.restore(job.id, result_id.decode(), payload, connection=job.connection, serializer=job.serializer)


def outcome_of(job: Job, result: Result | None) -> dict[str, Any]:
    """What the history should say about a job RQ has just finished with."""
    status = job.get_status(refresh=False)
    note = job.meta.get("error") if isinstance(job.meta.get("error"), dict) else None
    out: dict[str, Any] = {"error": "", "traceback": "", "result_summary": "", "scheduled_for": None}
    if status == JobStatus.FINISHED:
        out["status"] = FINISHED
        ok = result is not None and result.type == Result.Type.SUCCESSFUL
        out["result_summary"] = summarize(result.return_value, 500) if ok else ""  # type: ignore[union-attr]
    elif status in (JobStatus.FAILED, JobStatus.STOPPED):
        out["status"] = FAILED if status == JobStatus.FAILED else STOPPED
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


def record_ended(job: Job, fallback_started: datetime, fallback_ended: datetime,
                 writer: Writer | None = None) -> dict[str, Any] | None:
    """Fetch the job's fate from Redis and write it down. Returns the outcome, or None when Redis
    cannot tell it (unreachable, or it lost the job): then nothing is written, the history keeps
    saying the job runs, and `service.reconcile` learns the truth from RQ later or puts the job
    back (every job keeps its record in Redis for RESULT_TTL after it ends)."""
    try:
        outcome = outcome_of(job, load(job))
    except Exception as exc:  # noqa: BLE001  # whatever went wrong, the outcome is unknown
        log.warning("job outcome unknown: Redis cannot tell it; left to the reconciler",
                    extra={"job_id": job.id, "error": str(exc)[:200]})
        return None
    started = aware(job.started_at) or fallback_started
    ended = aware(job.ended_at) or fallback_ended
    duration = max(0.0, (ended - started).total_seconds() * 1000)
    percent, message = _progress(job.meta if isinstance(job.meta, dict) else {})
    if outcome["status"] == FINISHED and percent is not None:
        percent = 100
    outcome["progress"] = percent

    def write(ex: Any) -> None:
        params = {"jid": job.id, "status": outcome["status"], "now": utcnow(), "error": outcome["error"][:500],
                  "tb": outcome["traceback"], "progress": percent, "message": message,
                  "duration": round(duration, 3)}
        attempt = {"outcome": FAILED if outcome["status"] == RETRYING else outcome["status"], "ended": ended}
        if writer is not None and writer.single_statements:
            if outcome["status"] == RETRYING:
                ex.execute(RETRY_PG, {**params, **attempt, "next_at": outcome["scheduled_for"]})
            else:
                ex.execute(END_PG, {**params, **attempt, "result": outcome["result_summary"]})
            return
        if outcome["status"] == RETRYING:
            ex.execute(RETRY_RUN, {**params, "next_at": outcome["scheduled_for"]})
        else:
            ex.execute(END_RUN, {**params, "ended": ended, "result": outcome["result_summary"]})
        _close_attempt(ex, job.id, attempt["outcome"], ended, outcome["error"], outcome["traceback"])

    _safely("ended", job.id, write, writer)
    return outcome


def _close_attempt(ex: Any, job_id: str, outcome: str, ended: datetime, error: str, tb: str) -> None:
    """The attempt still open (one per job at a time: a job runs on one worker at once)."""
    ex.execute(CLOSE_ATTEMPT, {"jid": job_id, "outcome": outcome, "ended": ended, "error": error[:500], "tb": tb})


def record_lost(job_ids: list[str]) -> None:
    """Jobs Redis lost while they ran are being put back: their open attempts end as lost (in the
    caller's transaction)."""
    db.session.execute(update(ATTEMPTS).where(ATTEMPTS.c.job_id.in_(job_ids), ATTEMPTS.c.outcome == STARTED).values(
        outcome=LOST, ended_at=utcnow(), error="Redis lost the job while it ran; it was put back on its queue"))


def record_abandoned(job: Job, will_retry: bool) -> None:
    """A worker died while running the job (found by the started-registry sweep)."""
    message = "AbandonedJobError: the worker running this job died (killed or lost)"

    status = RETRYING if will_retry else FAILED

    def write(ex: Any) -> int | None:
        now = utcnow()
        values: dict[str, Any] = {"status": status, "error": message, "updated_at": now}
        if not will_retry:
            values["ended_at"] = now
        attempt = ex.execute(update(RUNS).where(RUNS.c.job_id == job.id).values(**values)
                             .returning(RUNS.c.attempts)).scalar()
        _close_attempt(ex, job.id, "abandoned", now, message, "")
        return attempt

    log.warning("abandoned job found", extra={"job_id": job.id, "retry": will_retry})
    attempt = _safely("abandoned", job.id, write)
    task, queue = announce.meta_of(job)
    announce.job_event(job.id, task, status, queue=queue, attempt=attempt, error=message)


def record_status(job_id: str, status: str, **values: Any) -> None:
    """An admin action changed the job (cancel, retry, …)."""
    now = utcnow()
    values = {"status": status, "updated_at": now, **values}
    if status in (CANCELED, STOPPED) and "ended_at" not in values:
        values["ended_at"] = now
    db.session.execute(update(RUNS).where(RUNS.c.job_id == job_id).values(**values))
    db.session.commit()


__all__ = [
    "CANCELED",
    "FAILED",
    "FINISHED",
    "QUEUED",
    "RETRYING",
    "SCHEDULED",
    "STARTED",
    "STOPPED",
    "record_abandoned",
    "record_ended",
    "record_enqueued",
    "record_lost",
    "record_started",
    "record_status",
]
