"""RQ entry points of the workflows area (RQ imports them by these dotted paths).

`workflows.step` keeps the job layer's retries for what a step cannot handle itself — a worker
killed mid-step (the abandoned-job sweep retries the job; the engine's checks make sure a finished
step is not run again) or an unreachable database. A handler's own failure is caught by the engine
and retried by the step's `retry` policy instead.
"""

from __future__ import annotations

from typing import Any

from flask import current_app

from nous.jobs import task
from nous.settings import service as settings
from nous.workflows import engine, service


@task("workflows.step", retry=(5, [0, 5, 15, 60, 300]), priority=4, timeout=3700)
def step(run_id: int, position: int) -> dict[str, Any]:
    """Runs one step of a workflow run, then queues the next one."""
    return engine.run_step(run_id, position)


@task("workflows.cron", retry=(2, [30, 120]), priority=5, timeout=120)
def cron(workflow_id: int) -> dict[str, Any]:
    """Starts a run of a workflow with a cron trigger."""
    return {"run_id": service.fire_cron(workflow_id)}


@task("workflows.reconcile", retry=None, priority=8, timeout=300, interval=60)
def reconcile() -> dict[str, int]:
    """Puts back steps whose jobs were lost and ends steps whose jobs ended without them."""
    return service.reconcile()


@task("workflows.prune", retry=(2, [60, 600]), priority=9, timeout=600, cron="37 3 * * *")
def prune() -> dict[str, int]:
    """Deletes ended workflow runs older than the job-history retention (jobs.history_retention_days)."""
    days = settings.get("jobs.history_retention_days")
    return {"deleted": service.prune_runs(days, current_app.instance_path), "days": days}
