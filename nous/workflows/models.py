"""Workflows, their runs and one row per step of each run.

A run keeps a copy of the definition it started with, so editing a workflow never changes a run in
flight. Each step row records its own status, attempts, input (the `with` values after templating),
output, error, timings and the id of the one job allowed to execute it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import aware, utcnow
from nous.extensions import db

BigId = BigInteger().with_variant(Integer, "sqlite")

# run states
QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED = "queued", "running", "succeeded", "failed", "canceled"
RUN_ACTIVE = (QUEUED, RUNNING)
RUN_ENDED = (SUCCEEDED, FAILED, CANCELED)
RUN_STATES = RUN_ACTIVE + RUN_ENDED
# step states (plus QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELED)
PENDING, RETRYING, SKIPPED = "pending", "retrying", "skipped"
STEP_WAITING = (QUEUED, RETRYING)  # a job is (or should be) on its way
STEP_DONE = (SUCCEEDED, SKIPPED, FAILED)  # the step's outcome is final
STEP_STATES = (PENDING, QUEUED, RUNNING, RETRYING, SUCCEEDED, SKIPPED, FAILED, CANCELED)


class Workflow(db.Model):
    __tablename__ = "workflows"
    __table_args__ = (Index("ix_workflows_trigger_event_enabled", "trigger_event", "enabled"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(Text)  # the document as written (comments kept)
    source_format: Mapped[str] = mapped_column(String(4), default="yaml")  # yaml | json
    definition: Mapped[Any] = mapped_column(JSON)  # the validated, normalized document
    trigger_type: Mapped[str] = mapped_column(String(10), default="manual")  # manual | event | cron
    trigger_event: Mapped[str | None] = mapped_column(String(100), nullable=True)
    trigger_cron: Mapped[str | None] = mapped_column(String(100), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")

    @property
    def steps(self) -> list[dict[str, Any]]:
        return list((self.definition or {}).get("steps", []))

    @property
    def trigger_label(self) -> str:
        if self.trigger_type == "event":
            return f"on {self.trigger_event}"
        if self.trigger_type == "cron":
            return f"cron {self.trigger_cron}"
        return "manual"


class WorkflowRun(db.Model):
    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_workflow_id_id", "workflow_id", "id"),
        Index("ix_workflow_runs_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    workflow_id: Mapped[int | None] = mapped_column(Integer, ForeignKey("workflows.id", ondelete="SET NULL"),
                                                    nullable=True)
    workflow_name: Mapped[str] = mapped_column(String(100))
    workflow_version: Mapped[int] = mapped_column(Integer, default=1)
    definition: Mapped[Any] = mapped_column(JSON)  # the definition this run follows
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    trigger: Mapped[str] = mapped_column(String(10), default="manual")  # manual | event | cron
    event: Mapped[str | None] = mapped_column(String(100), nullable=True)
    input: Mapped[Any] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(320), default="system")
    error: Mapped[str] = mapped_column(Text, default="")
    step_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def active(self) -> bool:
        return self.status in RUN_ACTIVE

    @property
    def duration_ms(self) -> float | None:
        start, end = aware(self.started_at or self.created_at), aware(self.ended_at)
        return (end - start).total_seconds() * 1000 if start and end else None


class WorkflowStepRun(db.Model):
    __tablename__ = "workflow_step_runs"
    __table_args__ = (
        UniqueConstraint("run_id", "position", name="uq_workflow_step_runs_run_id_position"),
        Index("ix_workflow_step_runs_status_updated_at", "status", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(BigId, ForeignKey("workflow_runs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    step_id: Mapped[str] = mapped_column(String(64))
    uses: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(10), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=1)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the job allowed to run it now
    input: Mapped[Any] = mapped_column(JSON, nullable=True)
    output: Mapped[Any] = mapped_column(JSON, nullable=True)
    error: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")  # why it was skipped, what it waited for
    attempt_log: Mapped[Any] = mapped_column(JSON, nullable=True)  # [{attempt, started_at, ended_at, outcome, error}]
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    not_before: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    duration_ms: Mapped[float | None] = mapped_column(db.Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def done(self) -> bool:
        return self.status in STEP_DONE
