"""Saving workflows: create, update (a new version, refused on a conflicting edit), import, export,
enable, delete; each audited, each keeping the listener cache and the cron schedule in step."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.jobs import service as jobs
from nous.workflows import schema
from nous.workflows.models import Workflow, WorkflowRun
from nous.workflows.service.errors import WorkflowConflict, WorkflowError
from nous.workflows.service.listeners import workflows_changed
from nous.workflows.service.queries import by_name, get, workflow_as_dict

log = logging.getLogger("nous.workflows")


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
    workflows_changed()
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
    workflows_changed()
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
        workflows_changed()
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
    workflows_changed()
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
