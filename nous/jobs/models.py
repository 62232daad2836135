"""Durable job history (one row per job, one per attempt) and recurring schedules.

RQ keeps the live state in Redis; these tables keep what happened after Redis forgets it (result
TTLs, restarts). `JobRun.seq` is the keyset cursor of the console's lists.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import isoformat, utcnow
from nous.extensions import db

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
SeqType = BigInteger().with_variant(Integer(), "sqlite")

# Job states as this console shows them. RQ's own states map onto these in `history`.
QUEUED, SCHEDULED, STARTED, RETRYING = "queued", "scheduled", "started", "retrying"
FINISHED, FAILED, CANCELED, STOPPED = "finished", "failed", "canceled", "stopped"
ACTIVE_STATES = (QUEUED, SCHEDULED, STARTED, RETRYING)
ENDED_STATES = (FINISHED, FAILED, CANCELED, STOPPED)
STATES = ACTIVE_STATES + ENDED_STATES


class JobRun(db.Model):
    __tablename__ = "job_runs"
    __table_args__ = (
        Index("ix_job_runs_status_seq", "status", "seq"),
        Index("ix_job_runs_task_status_seq", "task", "status", "seq"),
        Index("ix_job_runs_ended_at", "ended_at"),
    )

    seq: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64), unique=True)
    task: Mapped[str] = mapped_column(String(100))
    queue: Mapped[str] = mapped_column(String(20))
    priority: Mapped[int] = mapped_column(Integer, default=5)
    args: Mapped[Any] = mapped_column(JSON)  # {"args": [...], "kwargs": {...}}: enough to run it again
    args_summary: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(12))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    actor: Mapped[str] = mapped_column(String(320), default="system")
    schedule: Mapped[str | None] = mapped_column(String(100), nullable=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    scheduled_for: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(String(500), default="")
    traceback: Mapped[str] = mapped_column(Text, default="")
    result_summary: Mapped[str] = mapped_column(String(500), default="")
    progress: Mapped[int | None] = mapped_column(Integer, nullable=True)
    progress_message: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def ended(self) -> bool:
        return self.status in ENDED_STATES

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.job_id, "task": self.task, "queue": self.queue, "priority": self.priority,
            "status": self.status, "attempts": self.attempts, "max_attempts": self.max_attempts,
            "args": self.args, "args_summary": self.args_summary, "actor": self.actor, "schedule": self.schedule,
            "enqueued_at": isoformat(self.enqueued_at), "scheduled_for": isoformat(self.scheduled_for),
            "started_at": isoformat(self.started_at), "ended_at": isoformat(self.ended_at),
            "duration_ms": self.duration_ms,
            "worker": self.worker, "error": self.error, "traceback": self.traceback,
            "result": self.result_summary, "progress": self.progress, "progress_message": self.progress_message,
        }


class JobAttempt(db.Model):
    __tablename__ = "job_attempts"
    __table_args__ = (Index("ix_job_attempts_job_id_attempt", "job_id", "attempt"),)

    id: Mapped[int] = mapped_column(SeqType, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(64))
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    outcome: Mapped[str] = mapped_column(String(12), default=STARTED)
    error: Mapped[str] = mapped_column(String(500), default="")
    traceback: Mapped[str] = mapped_column(Text, default="")


class JobSchedule(db.Model):
    """A recurring job: a cron expression (or a fixed interval) and the task it enqueues."""

    __tablename__ = "job_schedules"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    task: Mapped[str] = mapped_column(String(100))
    cron: Mapped[str | None] = mapped_column(String(100), nullable=True)
    interval_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    args: Mapped[Any] = mapped_column(JSON)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(10), default="api")  # "code" (declared on a task) or "api"
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "task": self.task, "cron": self.cron, "interval_seconds": self.interval_seconds,
            "args": self.args, "enabled": self.enabled, "source": self.source,
            "next_run_at": isoformat(self.next_run_at), "last_run_at": isoformat(self.last_run_at),
            "last_job_id": self.last_job_id,
        }
