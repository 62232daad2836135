"""Workflows: save (validated), import/export, enable/disable, start runs, fire events, read runs.

No `request` or `g` here: the console, the CLI, jobs and other areas call these functions. Changes
by a person take the actor (and IP) and are audited.

Other areas start event workflows with one call, after committing their own work:

    from nous.workflows.service import trigger_event
    trigger_event("tester.joined", {"tester": tester.as_dict()})
    trigger_event("flag.changed", {"flag": flag.as_dict(), "actor": actor})

See `trigger_event` for the contract: it never raises, never runs a step inline, and costs no
database query when no enabled workflow listens to the event (a per-process cache of the events
that have listeners, checked against a Redis version key at most every half second).
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.extensions import db
from nous.jobs import service as jobs
from nous.jobs.models import ENDED_STATES, JobRun
from nous.versioned import Followed
from nous.workflows import engine, handlers, schema
from nous.workflows.handlers.csv_export import export_dir
from nous.workflows.models import (
    FAILED,
    PENDING,
    QUEUED,
    RETRYING,
    RUN_ACTIVE,
    RUN_STATES,
    RUNNING,
    STEP_DONE,
    Workflow,
    WorkflowRun,
    WorkflowStepRun,
)

log = logging.getLogger("nous.workflows")

MAX_INPUT = 64_000  # characters of JSON in a run's input
PAGE_SIZE = 25
MAX_PAGE_SIZE = 100  # of a run list in the console
LOST_AFTER = timedelta(minutes=2)
# Runs and steps change in the workers' processes. A session that lives across requests (a test
# client inside one app context, a shell, a long CLI command) would otherwise hand back the rows it
# loaded before, with their old status, and the run history would keep polling a finished run.
FRESH = {"populate_existing": True}
# Made-up data of each event, for running an event workflow by hand when there is no real record.
EXAMPLE_EVENT_DATA: dict[str, dict[str, Any]] = {
    "feedback.created": {"feedback": {"id": 1, "rating": 1, "message": "The app crashes on start since 2.4.1 (E1234)",
                                      "feature": "calendar", "category": "bug", "status": "new",
                                      "email": "tester@example.com", "tags": []}},
    "tester.joined": {"tester": {"id": "…", "email": "tester@example.com", "role": "TESTER"}},
    "flag.changed": {"flag": {"key": "new-onboarding", "enabled": True}, "actor": "admin@example.com"},
}


class WorkflowError(ValueError):
    """The request cannot be done; the message says why."""


class NotFound(WorkflowError):
    pass


class WorkflowConflict(WorkflowError):
    """A save decided on an older version of the workflow: `current` is the workflow now, `changes` its
    latest audit entries (oldest first)."""

    status = 409

    def __init__(self, current: Workflow, seen: int, changes: list[Any]) -> None:
        who = f" by {changes[-1].actor}" if changes else ""
        super().__init__(f"{current.name} was changed{who} since you opened it (version {seen} → {current.version}); "
                         "nothing was saved. Your text is kept below, next to the stored one.")
        self.message = str(self)
        self.current = current
        self.changes = changes


# --- reading -----------------------------------------------------------------------------------

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


# --- which events have listeners (a per-process cache) -------------------------------------------

LISTENERS_VERSION_KEY = "nous:workflows:listeners:version"
LISTENERS_CHECK_EVERY = 0.5  # seconds between two looks at the version key: changes apply within ~1 s
LISTENERS_OFFLINE_RELOAD = 1.0  # Redis unreachable: reload from the database at most this often


def _load_listeners() -> frozenset[str]:
    rows = db.session.execute(select(Workflow.trigger_event).where(
        Workflow.trigger_event.is_not(None), Workflow.enabled.is_(True)).distinct())
    return frozenset(name for (name,) in rows)


def _listeners() -> Followed[frozenset[str]]:
    """The events that at least one enabled workflow listens to, as this process last loaded them."""
    cache = current_app.extensions.get("nous.workflows.listeners")
    if cache is None:
        cache = current_app.extensions.setdefault("nous.workflows.listeners", Followed(
            LISTENERS_VERSION_KEY, _load_listeners, frozenset(), check_every=LISTENERS_CHECK_EVERY,
            offline_reload=LISTENERS_OFFLINE_RELOAD))
    return cache


def listened_events() -> frozenset[str]:
    """Names of the events some enabled workflow listens to. Costs nothing most of the time, one
    Redis GET every half second, and one database query only after a workflow changed."""
    return _listeners().get()


def _workflows_changed() -> None:
    """After a commit that created, edited, enabled, disabled or deleted a workflow."""
    _listeners().changed()


# --- saving ------------------------------------------------------------------------------------

def validate(text: str, fmt: str | None = None) -> schema.Document:
    """Parse and check a document (raises schema.DocumentInvalid naming line and field)."""
    return schema.parse(text, fmt)


def _apply(wf: Workflow, doc: schema.Document, actor: str) -> None:
    d = doc.definition
    trig = d["trigger"]
    wf.name = d["name"]
    wf.description = d["description"]
    wf.source = doc.source
    wf.source_format = doc.format
    wf.definition = d
    wf.trigger_type = trig["type"]
    wf.trigger_event = trig.get("event")
    wf.trigger_cron = trig.get("cron")
    wf.updated_at = utcnow()
    wf.updated_by = actor[:320]


def _name_taken(doc: schema.Document, except_id: int | None = None) -> None:
    name = doc.definition["name"]
    other = by_name(name)
    if other is not None and other.id != except_id:
        raise schema.DocumentInvalid([schema.Problem(f"a workflow named {name!r} exists already; "
                                                     "choose another name or edit that one", "name", doc.name_line)])


def create(text: str, actor: str, ip: str = "", fmt: str | None = None, enabled: bool = True) -> Workflow:
    doc = validate(text, fmt)
    _name_taken(doc)
    wf = Workflow(enabled=enabled, version=1, created_at=utcnow())
    _apply(wf, doc, actor)
    db.session.add(wf)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise schema.DocumentInvalid([schema.Problem(f"a workflow named {doc.definition['name']!r} exists already",
                                                     "name")]) from None
    audit.record(actor, "workflows.create", f"workflow:{wf.id}", after=workflow_as_dict(wf), ip=ip, commit=False)
    db.session.commit()
    _workflows_changed()
    sync_schedule(wf)
    return wf


def update_workflow(workflow_id: int, text: str, actor: str, ip: str = "", fmt: str | None = None,
                    expected_version: int | None = None) -> Workflow:
    """Replace the document (a new version). Refused (WorkflowConflict, 409) when the workflow changed
    since `expected_version`, the version the editor was opened on, unless the text is the stored one."""
    wf = get(workflow_id)
    doc = validate(text, fmt)
    _name_taken(doc, except_id=wf.id)
    before = workflow_as_dict(wf)
    if doc.source == wf.source:
        return wf
    if expected_version is not None and expected_version != wf.version:
        changes = [e for e in audit.query(target=f"workflow:{wf.id}", limit=3) if e.target == f"workflow:{wf.id}"]
        raise WorkflowConflict(wf, expected_version, list(reversed(changes)))
    _apply(wf, doc, actor)
    wf.version += 1
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise schema.DocumentInvalid([schema.Problem("that name is taken by another workflow", "name")]) from None
    audit.record(actor, "workflows.update", f"workflow:{wf.id}", before=before, after=workflow_as_dict(wf), ip=ip,
                 commit=False)
    db.session.commit()
    _workflows_changed()
    sync_schedule(wf)
    return wf


def import_document(text: str, actor: str, ip: str = "", fmt: str | None = None,
                    enabled: bool | None = None) -> tuple[Workflow, str]:
    """Create the workflow, or update the one with the same name. Returns (workflow, created|updated|unchanged)."""
    doc = validate(text, fmt)
    existing = by_name(doc.definition["name"])
    if existing is None:
        return create(text, actor, ip, fmt, enabled=True if enabled is None else enabled), "created"
    version = existing.version
    wf = update_workflow(existing.id, text, actor, ip, fmt)
    if enabled is not None and wf.enabled != enabled:
        set_enabled(wf.id, enabled, actor, ip)
    return wf, "updated" if wf.version != version else "unchanged"


def export(workflow_id: int, fmt: str | None = None) -> tuple[str, str]:
    """(text, format): the document as written when the format matches, else converted."""
    wf = get(workflow_id)
    fmt = (fmt or wf.source_format).lower()
    if fmt not in ("json", "yaml"):
        raise WorkflowError("format must be json or yaml")
    if fmt == wf.source_format:
        return wf.source, fmt
    return schema.dump(wf.definition, fmt), fmt


def set_enabled(workflow_id: int, enabled: bool, actor: str, ip: str = "") -> Workflow:
    wf = get(workflow_id)
    if wf.enabled != enabled:
        wf.enabled = enabled
        wf.updated_at = utcnow()
        audit.record(actor, "workflows.enable" if enabled else "workflows.disable", f"workflow:{wf.id}",
                     before={"enabled": not enabled}, after={"enabled": enabled}, ip=ip, commit=False)
        db.session.commit()
        _workflows_changed()
        sync_schedule(wf)
    return wf


def delete_workflow(workflow_id: int, actor: str, ip: str = "") -> None:
    """Remove a workflow; its runs stay in the history (named, without the link)."""
    wf = get(workflow_id)
    before = workflow_as_dict(wf)
    db.session.execute(update(WorkflowRun).where(WorkflowRun.workflow_id == wf.id).values(workflow_id=None))
    db.session.delete(wf)
    audit.record(actor, "workflows.delete", f"workflow:{workflow_id}", before=before, ip=ip, commit=False)
    db.session.commit()
    _workflows_changed()
    _unschedule(workflow_id)


# --- schedules ---------------------------------------------------------------------------------

def schedule_name(workflow_id: int) -> str:
    return f"workflow-{workflow_id}"


def sync_schedule(wf: Workflow) -> None:
    """A cron workflow that is enabled has a recurring job; any other has none."""
    try:
        if wf.enabled and wf.trigger_type == "cron" and wf.trigger_cron:
            jobs.schedule_cron(schedule_name(wf.id), wf.trigger_cron, "workflows.cron", wf.id)
        else:
            jobs.unschedule(schedule_name(wf.id))
    except (ValueError, jobs.JobError) as exc:
        log.error("workflow schedule not updated", extra={"workflow_id": wf.id, "error": str(exc)})


def _unschedule(workflow_id: int) -> None:
    jobs.unschedule(schedule_name(workflow_id))


# --- runs --------------------------------------------------------------------------------------

def parse_input(raw: Any) -> dict[str, Any]:
    """A run's input: a JSON object (text or already a dict), at most MAX_INPUT characters."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}
    if isinstance(raw, str):
        if len(raw) > MAX_INPUT:
            raise WorkflowError(f"the input is longer than {MAX_INPUT} characters")
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise WorkflowError(f"the input is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
                                ) from None
        except RecursionError:
            raise WorkflowError("the input is nested too deeply") from None
    if not isinstance(raw, dict):
        raise WorkflowError("the input must be a JSON object, like {\"feedback\": {\"id\": 1}}")
    try:
        text = json.dumps(raw, default=str, ensure_ascii=False, allow_nan=False)  # NaN is no JSON a database takes
    except (TypeError, ValueError, RecursionError):
        raise WorkflowError("the input cannot be stored as JSON") from None
    if len(text) > MAX_INPUT:
        raise WorkflowError(f"the input is longer than {MAX_INPUT} characters")
    return json.loads(text)


def start_run(wf: Workflow, data: Any = None, *, trigger: str = "manual", event: str | None = None,
              actor: str = "system") -> int:
    """Create the run and its step rows and queue the first step. Returns the run id."""
    definition = wf.definition
    data = parse_input(data)
    now = utcnow()
    run = WorkflowRun(workflow_id=wf.id, workflow_name=wf.name, workflow_version=wf.version, definition=definition,
                      status=QUEUED, trigger=trigger, event=event, input=data, actor=actor[:320], error="",
                      step_count=len(definition["steps"]), created_at=now, updated_at=now)
    db.session.add(run)
    db.session.flush()
    for i, spec in enumerate(definition["steps"]):
        db.session.add(WorkflowStepRun(run_id=run.id, position=i, step_id=spec["id"], uses=spec["uses"],
                                       status=PENDING, attempts=0, max_attempts=1 + int(spec["retry"]["max"]),
                                       error="", note="", updated_at=now))
    db.session.flush()
    run_id = run.id
    engine.queue_step(run_id, 0, actor=actor)  # commits the run, its steps and the first job together
    engine.announce(run_id)
    log.info("workflow run started", extra={"run_id": run_id, "workflow": wf.name, "trigger": trigger})
    return run_id


def run_now(workflow_id: int, data: Any, actor: str, ip: str = "") -> int:
    """Start a run by hand (console, CLI). Refused for a disabled workflow."""
    wf = get(workflow_id)
    if not wf.enabled:
        raise WorkflowError(f"{wf.name} is disabled; enable it to run it")
    data = parse_input(data)
    run_id = start_run(wf, data, trigger="manual", actor=actor)
    audit.record(actor, "workflows.run", f"workflow:{wf.id}", after={"run_id": run_id}, ip=ip)
    return run_id


def cancel_run(run_id: int, actor: str, ip: str = "") -> WorkflowRun:
    run = get_run(run_id)
    if not run.active:
        raise WorkflowError(f"run {run_id} has already ended ({run.status})")
    if not engine.cancel(run_id, actor, ip):
        raise WorkflowError(f"run {run_id} has just ended")
    return get_run(run_id)


def trigger_event(name: str, data: dict[str, Any] | None = None) -> list[int]:
    """Start a run of every enabled workflow that listens to event `name`; returns the new run ids.

    `name` is one of `schema.EVENTS`; `data` is the event's payload, a JSON-able dict whose keys
    become names in the workflows' expressions:

    - "feedback.created": {"feedback": {id, rating, message, feature, category, status, email, …}}
    - "tester.joined":    {"tester": {id, email, role, …}}
    - "flag.changed":     {"flag": {key, enabled, …}, "actor": "who changed it"}

    Call it after committing your own work: starting a run commits this session, and a failure
    rolls it back. It never raises (a failure is logged, the caller's work stands), never runs a
    step inline (steps are jobs), and when no enabled workflow listens to `name` it returns []
    without touching the database (see `listened_events`).
    """
    try:
        if name not in listened_events():
            return []
        workflows = list(db.session.scalars(select(Workflow).where(
            Workflow.trigger_event == name, Workflow.enabled.is_(True)).order_by(Workflow.id)))
    except Exception as exc:  # noqa: BLE001  (database or Redis unreachable, no app context: the caller's work stands)
        _quiet_rollback()
        log.error("event not delivered to workflows", extra={"event": name, "error": str(exc)[:200]})
        return []
    runs = []
    for wf in workflows:
        try:
            runs.append(start_run(wf, data, trigger="event", event=name, actor=f"event:{name}"))
        except Exception:  # one workflow's trouble must not stop the others or the caller
            _quiet_rollback()
            log.exception("workflow run not started for an event", extra={"event": name, "workflow": wf.name})
    return runs


def _quiet_rollback() -> None:
    with contextlib.suppress(Exception):  # no app context, connection gone: nothing to roll back
        db.session.rollback()


def fire_cron(workflow_id: int) -> int | None:
    """The recurring job of a cron workflow. Returns the run id (None when disabled or changed)."""
    wf = db.session.get(Workflow, workflow_id)
    if wf is None or not wf.enabled or wf.trigger_type != "cron":
        return None
    return start_run(wf, wf.definition["trigger"].get("input") or {}, trigger="cron", actor="cron")


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


def sample_event_data(event: str | None) -> tuple[dict[str, Any], str]:
    """Input for running an event workflow by hand: the data the event would carry for the newest
    real record, else a made-up example. Returns (data, where it comes from)."""
    if event == "feedback.created":
        try:
            from nous.feedback.models import Feedback  # on use: an optional area, whose seed-demo imports workflows
        except ImportError:  # the feedback area is absent
            return EXAMPLE_EVENT_DATA[event], "an example"
        row = db.session.scalar(select(Feedback).order_by(Feedback.id.desc()).limit(1))
        if row is not None:
            return engine.json_safe({"feedback": row.as_dict()}), f"the newest feedback (#{row.id})"
    return EXAMPLE_EVENT_DATA.get(event or "", {}), "an example" if event in EXAMPLE_EVENT_DATA else ""


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
