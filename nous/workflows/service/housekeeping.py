"""Repairing runs whose jobs were lost, and pruning ended runs (with the files their steps wrote)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update

from nous.clock import aware, utcnow
from nous.extensions import db
from nous.jobs.models import ENDED_STATES, JobRun
from nous.workflows import engine
from nous.workflows.handlers.csv_export import export_dir
from nous.workflows.models import QUEUED, RETRYING, RUN_ACTIVE, RUNNING, STEP_DONE, WorkflowRun, WorkflowStepRun

LOST_AFTER = timedelta(minutes=2)


def reconcile(lost_after: timedelta = LOST_AFTER) -> dict[str, int]:
    """Repair runs whose jobs were lost (Redis flushed, a crash between two commits, a step job that
    ended without the step): nothing stays queued or running forever. Safe to run at any time."""
    cutoff = utcnow() - lost_after
    out = {"requeued": 0, "failed": 0, "handed_over": 0}
    waiting = list(db.session.scalars(select(WorkflowStepRun).where(
        WorkflowStepRun.status.in_((QUEUED, RETRYING)), WorkflowStepRun.updated_at < cutoff).limit(500)))
    for step in waiting:
        not_before = aware(step.not_before)
        if not_before and not_before > cutoff:
            continue
        job = db.session.scalar(select(JobRun).where(JobRun.job_id == step.job_id)) if step.job_id else None
        if job is None or job.status in ENDED_STATES:
            run = db.session.get(WorkflowRun, step.run_id)
            if run is not None and run.active and engine.requeue(step):
                out["requeued"] += 1
    running = list(db.session.scalars(select(WorkflowStepRun).where(
        WorkflowStepRun.status == RUNNING, WorkflowStepRun.updated_at < cutoff).limit(500)))
    for step in running:
        job = db.session.scalar(select(JobRun).where(JobRun.job_id == step.job_id)) if step.job_id else None
        if job is not None and job.status in ENDED_STATES:
            engine.fail_lost_step(step, f"the job running this step ended without finishing it ({job.status}"
                                        f"{': ' + job.error if job.error else ''})")
            out["failed"] += 1
    stalled = list(db.session.scalars(select(WorkflowRun).where(WorkflowRun.status.in_(RUN_ACTIVE),
                                                                WorkflowRun.updated_at < cutoff).limit(200)))
    for run in stalled:
        steps = engine.steps_of(run.id)
        if any(s.status in (QUEUED, RETRYING, RUNNING) for s in steps):
            continue
        done = [s for s in steps if s.status in STEP_DONE]
        if done:
            moved = engine.hand_over(run.id, done[-1].position)
        else:
            moved = engine.queue_step(run.id, 0, actor="system:reconcile") is not None
        db.session.execute(update(WorkflowRun).where(WorkflowRun.id == run.id).values(updated_at=utcnow()))
        db.session.commit()
        out["handed_over"] += int(moved)
    return out


def prune_runs(days: int, instance_path: str | None = None) -> int:
    """Delete ended runs older than `days` with their steps (and the files their steps wrote)."""
    cutoff = utcnow() - timedelta(days=days)
    deleted = 0
    while True:
        ids = list(db.session.scalars(select(WorkflowRun.id).where(WorkflowRun.status.not_in(RUN_ACTIVE),
                                                                    WorkflowRun.ended_at < cutoff).limit(500)))
        if not ids:
            return deleted
        db.session.execute(delete(WorkflowStepRun).where(WorkflowStepRun.run_id.in_(ids)))
        db.session.execute(delete(WorkflowRun).where(WorkflowRun.id.in_(ids)))
        db.session.commit()
        deleted += len(ids)
        if instance_path:
            folder = export_dir(Path(instance_path))
            for run_id in ids:
                for path in folder.glob(f"run{run_id}-*.csv"):
                    path.unlink(missing_ok=True)
