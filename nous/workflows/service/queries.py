"""Reading workflows and their runs: lookups, run pages (keyset on id), details, the handler catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from nous.extensions import db
from nous.workflows import engine, handlers
from nous.workflows.models import (
    FAILED,
    RUN_STATES,
    Workflow,
    WorkflowRun,
    WorkflowStepRun,
)
from nous.workflows.service.errors import NotFound, WorkflowError

PAGE_SIZE = 25
MAX_PAGE_SIZE = 100  # of a run list in the console
# Runs and steps change in the workers' processes. A session that lives across requests (a test
# client inside one app context, a shell, a long CLI command) would otherwise hand back the rows it
# loaded before, with their old status, and the run history would keep polling a finished run.
FRESH = {"populate_existing": True}


def get(workflow_id: int) -> Workflow:
    ok = isinstance(workflow_id, int) and 0 < workflow_id < 2**31
    wf = db.session.get(Workflow, workflow_id) if ok else None
    if wf is None:
        raise NotFound(f"no workflow {workflow_id}")
    return wf


def by_name(name: str) -> Workflow | None:
    return db.session.scalar(select(Workflow).where(Workflow.name == name.strip()))


def find(ref: str) -> Workflow:
    """A workflow by id or by name (CLI)."""
    ref = (ref or "").strip()
    wf = by_name(ref)
    if wf is None and ref.isdigit() and len(ref) < 10:
        wf = db.session.get(Workflow, int(ref)) if 0 < int(ref) < 2**31 else None
    if wf is None:
        raise NotFound(f"no workflow named {ref!r}")
    return wf


def list_workflows() -> list[Workflow]:
    return list(db.session.scalars(select(Workflow).order_by(Workflow.name)))


def last_runs(workflow_ids: list[int]) -> dict[int, WorkflowRun]:
    """The newest run of each workflow (one query)."""
    if not workflow_ids:
        return {}
    newest = (select(func.max(WorkflowRun.id)).where(WorkflowRun.workflow_id.in_(workflow_ids))
              .group_by(WorkflowRun.workflow_id))
    rows = db.session.scalars(select(WorkflowRun).where(WorkflowRun.id.in_(newest)).execution_options(**FRESH))
    return {r.workflow_id: r for r in rows if r.workflow_id is not None}


def run_counts(workflow_ids: list[int]) -> dict[int, int]:
    if not workflow_ids:
        return {}
    rows = db.session.execute(select(WorkflowRun.workflow_id, func.count()).where(
        WorkflowRun.workflow_id.in_(workflow_ids)).group_by(WorkflowRun.workflow_id))
    return {wid: n for wid, n in rows}


@dataclass
class RunPage:
    rows: list[WorkflowRun]
    older: int | None  # cursor for the next page (run id), None at the end
    query: dict[str, Any] | None = None  # the arguments that give this page again (for its polling)

    @property
    def any_active(self) -> bool:
        return any(r.active for r in self.rows)


def list_runs(workflow_id: int | None = None, status: str = "", before: int | None = None,
              limit: int = PAGE_SIZE) -> RunPage:
    """Runs newest first (keyset on id), of one workflow or all."""
    if status and status not in RUN_STATES:
        raise WorkflowError(f"status must be one of {', '.join(RUN_STATES)}")
    stmt = select(WorkflowRun).order_by(WorkflowRun.id.desc()).limit(limit + 1)
    if workflow_id is not None:
        stmt = stmt.where(WorkflowRun.workflow_id == workflow_id)
    if status:
        stmt = stmt.where(WorkflowRun.status == status)
    if before:
        stmt = stmt.where(WorkflowRun.id < before)
    rows = list(db.session.scalars(stmt.execution_options(**FRESH)))
    older = rows[limit - 1].id if len(rows) > limit else None
    query = {k: v for k, v in (("status", status), ("before", before), ("limit", limit)) if v and v != PAGE_SIZE}
    return RunPage(rows[:limit], older, query)


def failed_step_counts(run_ids: list[int]) -> dict[int, int]:
    """Failed steps per run, for runs that went on past them (`continue_on_error`): one query."""
    if not run_ids:
        return {}
    rows = db.session.execute(select(WorkflowStepRun.run_id, func.count()).where(
        WorkflowStepRun.run_id.in_(run_ids), WorkflowStepRun.status == FAILED).group_by(WorkflowStepRun.run_id))
    return {run_id: n for run_id, n in rows}


def get_run(run_id: int) -> WorkflowRun:
    ok = isinstance(run_id, int) and 0 < run_id < 2**63
    run = db.session.get(WorkflowRun, run_id, populate_existing=True) if ok else None
    if run is None:
        raise NotFound(f"no workflow run {run_id}")
    return run


def run_detail(run_id: int) -> dict[str, Any]:
    run = get_run(run_id)
    steps = engine.steps_of(run.id)
    specs = (run.definition or {}).get("steps", [])
    return {"run": run, "steps": steps, "specs": {s["id"]: s for s in specs}}


def run_as_dict(run: WorkflowRun, steps: list[WorkflowStepRun] | None = None) -> dict[str, Any]:
    out = {
        "id": run.id, "workflow": run.workflow_name, "workflow_id": run.workflow_id, "version": run.workflow_version,
        "status": run.status, "trigger": run.trigger, "event": run.event, "actor": run.actor, "error": run.error,
        "input": run.input, "created_at": engine.iso(run.created_at), "started_at": engine.iso(run.started_at),
        "ended_at": engine.iso(run.ended_at), "duration_ms": run.duration_ms,
    }
    if steps is not None:
        out["steps"] = [{
            "id": s.step_id, "uses": s.uses, "status": s.status, "attempts": s.attempts,
            "max_attempts": s.max_attempts, "input": s.input, "output": s.output, "error": s.error, "note": s.note,
            "started_at": engine.iso(s.started_at), "ended_at": engine.iso(s.ended_at), "duration_ms": s.duration_ms,
            "attempt_log": s.attempt_log or [],
        } for s in steps]
    return out


def workflow_as_dict(wf: Workflow) -> dict[str, Any]:
    return {"id": wf.id, "name": wf.name, "description": wf.description, "enabled": wf.enabled,
            "trigger": wf.definition.get("trigger"), "steps": len(wf.steps), "version": wf.version,
            "updated_at": engine.iso(wf.updated_at), "updated_by": wf.updated_by}


def handler_catalog() -> list[dict[str, Any]]:
    """Every handler with its parameters, for the editor's reference panel."""
    out = []
    for name in handlers.names():
        h = handlers.get(name)
        assert h is not None
        out.append({"name": h.name, "description": h.description, "required": h.required,
                    "params": {k: v.get("description") or _type_hint(v) for k, v in h.params.items()},
                    "example": h.example})
    return out


def _type_hint(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return " | ".join(map(str, prop["enum"]))
    t = prop.get("type")
    if isinstance(t, list):
        return " or ".join(t)
    return t or "any value"
