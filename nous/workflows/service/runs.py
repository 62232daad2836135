"""Starting runs (by hand, on an event, on a cron schedule) and canceling them."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any

from sqlalchemy import select

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback
from nous.workflows import engine
from nous.workflows.models import PENDING, QUEUED, Workflow, WorkflowRun, WorkflowStepRun
from nous.workflows.service.errors import WorkflowError
from nous.workflows.service.listeners import listened_events
from nous.workflows.service.queries import get, get_run

log = logging.getLogger("nous.workflows")

MAX_INPUT = 64_000  # characters of JSON in a run's input
# Made-up data of each event, for running an event workflow by hand when there is no real record.
EXAMPLE_EVENT_DATA: dict[str, dict[str, Any]] = {
    "feedback.created": {"feedback": {"id": 1, "rating": 1, "message": "The app crashes on start since 2.4.1 (E1234)",
                                      "feature": "calendar", "category": "bug", "status": "new",
                                      "email": "tester@example.com", "tags": [], "attachments": []}},
    "tester.joined": {"tester": {"id": "…", "email": "tester@example.com", "role": "TESTER"}},
    "flag.changed": {"flag": {"key": "new-onboarding", "enabled": True}, "actor": "admin@example.com"},
}


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


def sample_event_data(event: str | None) -> tuple[dict[str, Any], str]:
    """Input for running an event workflow by hand: the data the event would carry for the newest
    real record, else a made-up example. Returns (data, where it comes from)."""
    if event == "feedback.created":
        row = db.session.scalar(select(Feedback).order_by(Feedback.id.desc()).limit(1))
        if row is not None:
            data = {**row.as_dict(), "attachments": feedback.attachments.for_event(row.id)}
            return engine.json_safe({"feedback": data}), f"the newest feedback (#{row.id})"
    return EXAMPLE_EVENT_DATA.get(event or "", {}), "an example" if event in EXAMPLE_EVENT_DATA else ""
