"""Recurring schedules: declared by tasks (`cron=`, `interval=`) or through the API, fired when due."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from rq.cron import CronJob
from sqlalchemy import delete, select, update

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.jobs import registry
from nous.jobs.models import JobSchedule
from nous.jobs.service.errors import BadArguments, JobError, JobNotFound, UnknownTask
from nous.jobs.service.queue import check_args, submit

log = logging.getLogger("nous.jobs")


def next_run(cron: str | None, interval: int | None, after: datetime) -> datetime:
    """The next time a schedule is due after `after` (cron fields in the server's local time, as RQ)."""
    if interval:
        return after + timedelta(seconds=interval)
    cj = CronJob(queue_name="default", func_name="nous.jobs.tasks.noop", cron=cron)
    cj.latest_enqueue_time = after
    return cj.get_next_enqueue_time()


def _schedule(name: str, task_name: str, cron: str | None, interval: int | None, args: tuple[Any, ...],
              kwargs: dict[str, Any], source: str) -> dict[str, Any]:
    if not re.match(r"^[A-Za-z0-9_.:-]{1,100}$", name or ""):
        raise BadArguments("schedule name: 1–100 letters, digits, . _ : -", "name")
    if cron is not None and not croniter.is_valid(cron):
        raise BadArguments(f"{cron!r} is not a cron expression (minute hour day month weekday)", "cron")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        raise BadArguments("interval must be a whole number of seconds", "interval_seconds")
    try:
        registry.get(task_name)
    except KeyError as exc:
        raise UnknownTask(str(exc.args[0])) from None
    check_args(task_name, list(args), kwargs)  # what every run will be given: refused now, not at each run
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


def run_schedule_now(name: str, actor: str, ip: str = "") -> str:
    """Start a schedule's task now, outside its timetable (its next run stays as it was); audited.
    Returns the job id; JobNotFound for an unknown schedule, JobError for one whose task or stored
    arguments cannot run (a row stored before they were checked): the schedule's state, not the caller's input."""
    s = db.session.get(JobSchedule, name) if isinstance(name, str) and len(name) <= 100 else None
    if s is None:
        raise JobNotFound(f"no schedule {str(name)[:100]!r}")
    stored = s.args or {}
    try:
        job_id = submit(s.task, stored.get("args", []), stored.get("kwargs", {}), actor=actor, schedule=s.name)
    except (UnknownTask, BadArguments) as exc:
        raise JobError(f"schedule {s.name} cannot run: {exc}") from None
    audit.record(actor, "jobs.run_schedule", s.name, after={"job_id": job_id}, ip=ip)
    return job_id


def sync_declared_schedules() -> None:
    """Tasks declared with `cron=` or `interval=` get (or update) their schedule, named after the task."""
    registry.discover()
    for t in registry.tasks_registry.values():
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
