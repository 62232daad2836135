"""Reading the history: one job (detail, progress), pages of runs with filters, counts by status."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import defer

from nous.audit import service as audit
from nous.extensions import cache, db, get_redis
from nous.jobs import registry
from nous.jobs.models import FAILED, STARTED, STATES, JobAttempt, JobRun
from nous.jobs.service.errors import JobNotFound
from nous.jobs.service.queue import JOB_ID_RE

log = logging.getLogger("nous.jobs")

PAGE_SIZE = 50


def check_job_id(job_id: str) -> str:
    if not isinstance(job_id, str) or not JOB_ID_RE.match(job_id):
        raise JobNotFound(f"{str(job_id)[:80]!r} is not a job id")
    return job_id


def get_run(job_id: str) -> JobRun:
    run = db.session.scalar(select(JobRun).where(JobRun.job_id == check_job_id(job_id)))
    if run is None:
        raise JobNotFound(f"no job {job_id}")
    return run


def fetch_job(job_id: str) -> Job | None:
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


def counts_changed() -> None:
    try:
        get_redis().delete(COUNTS_KEY)
    except (redis.RedisError, OSError):  # the key expires by itself
        pass


def task_names() -> list[str]:
    """Declared tasks and those in the history (cached a minute: a DISTINCT over the whole history)."""
    names = cache.get("nous:jobs:task-names")
    if names is None:
        registry.discover()
        known = set(registry.tasks_registry)
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
        job = fetch_job(run.job_id)
        if job is not None:
            live = {"status": job.get_status(refresh=False).value, "retries_left": job.retries_left,
                    "position": job.get_position() if job.get_status(refresh=False) == JobStatus.QUEUED else None,
                    "progress": job.meta.get("progress"), "worker": job.worker_name}
            if job.get_status(refresh=False) == JobStatus.SCHEDULED:
                scheduled = ScheduledJobRegistry(job.origin, connection=job.connection)
                live["scheduled_for"] = scheduled.get_scheduled_time(job)
    except (redis.RedisError, OSError) as exc:
        # The page and the admin API say only that; where Redis is (its host and port) goes to the log.
        log.warning("job detail without its live state", extra={"job_id": run.job_id, "error": str(exc)[:200]})
        live = {"error": "Redis is unreachable"}
    actions = audit.query(target=run.job_id, limit=20)
    return {"run": run, "attempts": attempts, "live": live, "actions": actions}


def progress(job_id: str) -> dict[str, Any]:
    """Status and progress; for a running job straight from the job's meta in Redis."""
    run = get_run(job_id)
    out = {"job_id": run.job_id, "status": run.status, "percent": run.progress,
           "message": run.progress_message, "ended": run.ended}
    if run.status == STARTED:
        try:
            job = fetch_job(run.job_id)
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
