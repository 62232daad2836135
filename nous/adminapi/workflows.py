"""/api/admin/v1/workflows: list, read, create, replace (If-Match), validate with the editor's line-numbered
problems, enable/disable, delete, run now, the runs (all, or one workflow's) and one run with its steps,
cancel — through nous.workflows.service, as the console's workflow pages and `flask nous workflows` do.

A document is sent as YAML (`application/yaml`, comments kept) or as JSON: either the definition itself,
or `{"source": "<the YAML or JSON text>", "format": "yaml"|"json", "enabled": true}`."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    decode_cursor,
    encode_cursor,
    endpoint,
    flag,
    id_cursor,
    if_match_version,
    limit_arg,
    page,
    param,
    respond,
    rfc3339,
    schemas,
    stale,
)
from nous.workflows import service as workflows
from nous.workflows.models import RUN_STATES, Workflow, WorkflowRun
from nous.workflows.schema import DocumentInvalid

YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml")
MEDIA = ("application/json", "application/yaml")
_TIME = {"type": ["string", "null"], "format": "date-time"}
_PROBLEMS = {"type": "array", "items": {"type": "object", "properties": {
    "line": {"type": ["integer", "null"]}, "column": {"type": ["integer", "null"]}, "field": {"type": "string"},
    "message": {"type": "string"}, "text": {"type": "string"}}}}
EXAMPLE = "name: thank-testers\ntrigger: {event: feedback.created}\nsteps:\n  - id: note\n    uses: log\n"
schemas(
    Workflow={"type": "object", "required": ["id", "name", "enabled", "version"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "description": {"type": "string"},
        "enabled": {"type": "boolean"}, "trigger": {"type": ["object", "null"]}, "steps": {"type": "integer"},
        "version": {"type": "integer", "description": "Also the ETag."}, "updated_at": _TIME,
        "updated_by": {"type": "string"}, "format": {"enum": ["yaml", "json"]},
        "source": {"type": "string", "description": "The document as written."},
        "definition": {"type": "object", "description": "The document as validated."}}},
    WorkflowDocument={"type": "object", "description": "The definition itself, or {source, format, enabled}.",
                      "properties": {"source": {"type": "string", "example": EXAMPLE},
                                     "format": {"enum": ["yaml", "json"]}, "enabled": {"type": "boolean"}}},
    WorkflowValidation={"type": "object", "required": ["valid", "problems"], "properties": {
        "valid": {"type": "boolean"}, "name": {"type": ["string", "null"]}, "problems": _PROBLEMS}},
    WorkflowRun={"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "integer"}, "workflow": {"type": "string"}, "workflow_id": {"type": ["integer", "null"]},
        "version": {"type": "integer"}, "status": {"enum": list(RUN_STATES)}, "trigger": {"type": "string"},
        "event": {"type": ["string", "null"]}, "actor": {"type": "string"}, "error": {"type": "string"},
        "input": {"type": ["object", "null"]}, "created_at": _TIME, "started_at": _TIME, "ended_at": _TIME,
        "duration_ms": {"type": ["number", "null"]},
        "steps": {"type": "array", "items": {"type": "object"}, "description": "In a run's own answer only."}}},
)
RUN_PAGE = {"type": "object", "required": ["items", "next_cursor"], "properties": {
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/WorkflowRun"}},
    "next_cursor": {"type": ["string", "null"]}}}
RUN_TIMES = ("created_at", "started_at", "ended_at")


def workflow_json(wf: Workflow, *, full: bool = False) -> dict[str, Any]:
    out = {**workflows.workflow_as_dict(wf), "updated_at": rfc3339(wf.updated_at)}
    if full:
        out.update(format=wf.source_format, source=wf.source, definition=wf.definition)
    return out


def run_json(run: WorkflowRun, steps: list[Any] | None = None) -> dict[str, Any]:
    out = workflows.run_as_dict(run, steps)
    out.update({name: rfc3339(getattr(run, name)) for name in RUN_TIMES})
    for step, row in zip(out.get("steps", []), steps or [], strict=False):
        step.update(started_at=rfc3339(row.started_at), ended_at=rfc3339(row.ended_at))
    return out


def _answer(wf: Workflow, status: int = 200, location: str | None = None) -> Response:
    return respond(workflow_json(wf, full=True), status, version=str(wf.version), location=location)


def _invalid(exc: DocumentInvalid) -> Problem:
    """The editor's problems as a 422: each field (or line) with its message, line numbers in the text."""
    errors: dict[str, str] = {}
    for p in exc.problems:
        errors.setdefault(p.field or (f"line {p.line}" if p.line else "document"), str(p))
    return Problem(422, f"The workflow is not valid: {exc}", errors)


def wf_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A workflows service call, its refusals as problems: 404 unknown, 412 a stale If-Match, 422 an invalid
    document, 409 what the workflow's or run's state does not allow."""
    try:
        return fn(*args, **kwargs)
    except workflows.NotFound as exc:
        raise Problem(404, str(exc)) from None
    except workflows.WorkflowConflict as exc:
        raise stale(exc, str(exc.current.version)) from None
    except DocumentInvalid as exc:
        raise _invalid(exc) from None
    except workflows.WorkflowError as exc:
        raise Problem(409, str(exc)) from None


def _document() -> tuple[str, str, bool | None]:
    """(text, format, enabled) of the request: YAML as sent, or JSON (the definition, or {source, format})."""
    if request.mimetype in YAML_TYPES:
        return request.get_data(as_text=True), "yaml", None
    data = body()
    enabled = flag("enabled", data.get("enabled"), None) if "enabled" in data else None  # type: ignore[arg-type]
    if "source" in data:
        source = data["source"]
        fmt = inputs.parse_choice(data.get("format"), "format", ("yaml", "json"), "yaml")
        if not isinstance(source, str):
            raise inputs.InputError("source", "must be the document's text")
        return source, fmt, enabled
    return json.dumps(data, ensure_ascii=False, indent=2), "json", None


def _workflow_id(workflow_id: int) -> Workflow:
    return wf_call(workflows.get, workflow_id)


@endpoint("GET", "/workflows", scope="workflows:read", tag="workflows", summary="List workflows",
          description="By name.", response={"type": "object", "required": ["items", "next_cursor"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Workflow"}},
              "next_cursor": {"type": ["string", "null"]}}}, paginated=True)
def list_workflows() -> Response:
    cursor = decode_cursor(request.args.get("cursor"), 1)
    rows = [wf for wf in workflows.list_workflows() if not cursor or wf.name > str(cursor[0])]
    limit = limit_arg()
    more, rows = len(rows) > limit, rows[:limit]
    return page([workflow_json(wf) for wf in rows], encode_cursor(rows[-1].name) if more and rows else None)


@endpoint("POST", "/workflows", scope="workflows:write", tag="workflows", summary="Create a workflow",
          description="Validated as in the editor: 422 names each problem with its line.",
          body="WorkflowDocument", body_media=MEDIA, response="Workflow", status=201, idempotent=True,
          links={name: {"workflow_id": "$response.body#/id"} for name in (
              "get_workflow", "update_workflow", "enable_workflow", "disable_workflow", "run_workflow",
              "list_runs_of_workflow", "delete_workflow")})
def create_workflow() -> Response:
    text, fmt, enabled = _document()
    wf = wf_call(workflows.create, text, actor(), client_ip(), fmt=fmt, enabled=True if enabled is None else enabled)
    return _answer(wf, 201, url_for("adminapi.get_workflow", workflow_id=wf.id))


@endpoint("POST", "/workflows/validate", scope="workflows:read", tag="workflows",
          summary="Validate a workflow without saving",
          description="`valid` false lists the editor's problems, each with its line, column and field.",
          body="WorkflowDocument", body_media=MEDIA, response="WorkflowValidation")
def validate_workflow() -> Response:
    text, fmt, _enabled = _document()
    try:
        doc = workflows.validate(text, fmt)
    except DocumentInvalid as exc:
        return respond({"valid": False, "name": None, "problems": [p.as_dict() for p in exc.problems]})
    return respond({"valid": True, "name": doc.definition["name"], "problems": []})


@endpoint("GET", "/workflows/handlers", scope="workflows:read", tag="workflows",
          summary="The step types a workflow can use", description="Each with its parameters (the editor's "
                                                                   "reference).",
          response={"type": "object", "required": ["items"], "properties": {
              "items": {"type": "array", "items": {"type": "object"}}}})
def list_workflow_handlers() -> Response:
    return respond({"items": workflows.handler_catalog()})


@endpoint("GET", "/workflows/<int:workflow_id>", scope="workflows:read", tag="workflows",
          summary="Read a workflow", description="With its document as written and as validated.",
          response="Workflow", etag=True)
def get_workflow(workflow_id: int) -> Response:
    return _answer(_workflow_id(workflow_id))


@endpoint("PUT", "/workflows/<int:workflow_id>", scope="workflows:write", tag="workflows",
          summary="Replace a workflow's document", description="A new version; the same text changes nothing.",
          body="WorkflowDocument", body_media=MEDIA, response="Workflow", if_match=True)
def update_workflow(workflow_id: int) -> Response:
    _workflow_id(workflow_id)
    text, fmt, enabled = _document()
    wf = wf_call(workflows.update_workflow, workflow_id, text, actor(), client_ip(), fmt=fmt,
                 expected_version=if_match_version())
    if enabled is not None:
        wf = wf_call(workflows.set_enabled, workflow_id, enabled, actor(), client_ip())
    return _answer(wf)


@endpoint("POST", "/workflows/<int:workflow_id>/enable", scope="workflows:write", tag="workflows",
          summary="Enable a workflow", description="Its trigger starts runs again.", response="Workflow")
def enable_workflow(workflow_id: int) -> Response:
    return _answer(wf_call(workflows.set_enabled, workflow_id, True, actor(), client_ip()))


@endpoint("POST", "/workflows/<int:workflow_id>/disable", scope="workflows:write", tag="workflows",
          summary="Disable a workflow", description="No new runs; running ones go on.", response="Workflow")
def disable_workflow(workflow_id: int) -> Response:
    return _answer(wf_call(workflows.set_enabled, workflow_id, False, actor(), client_ip()))


@endpoint("DELETE", "/workflows/<int:workflow_id>", scope="workflows:write", tag="workflows",
          summary="Delete a workflow", description="Its runs stay in the history.", status=204)
def delete_workflow(workflow_id: int) -> Response:
    wf_call(workflows.delete_workflow, workflow_id, actor(), client_ip())
    return Response(status=204)


@endpoint("POST", "/workflows/<int:workflow_id>/runs", scope="workflows:write", tag="workflows",
          summary="Run a workflow now", description="With `input` as its data. 409 when it is disabled.",
          body={"type": "object", "properties": {"input": {"type": "object", "example": {"feedback": {"id": 1}}}}},
          response="WorkflowRun", status=201, idempotent=True, errors=(409,),
          links={name: {"run_id": "$response.body#/id"} for name in ("get_workflow_run", "cancel_workflow_run")})
def run_workflow(workflow_id: int) -> Response:
    _workflow_id(workflow_id)
    data = body() if request.content_length else {}  # the body is optional: no input
    try:
        run_input = workflows.parse_input(data.get("input"))
    except workflows.WorkflowError as exc:
        raise Problem(422, str(exc), {"input": str(exc)}) from None
    run_id = wf_call(workflows.run_now, workflow_id, run_input, actor(), client_ip())
    return respond(run_json(workflows.get_run(run_id)), 201, location=url_for("adminapi.get_workflow_run",
                                                                              run_id=run_id))


def _runs(workflow_id: int | None) -> Response:
    found = wf_call(workflows.list_runs, workflow_id, inputs.arg_choice("status", RUN_STATES),
                    before=id_cursor(), limit=limit_arg())
    return page([run_json(r) for r in found.rows], encode_cursor(found.older) if found.older else None)


_RUN_FILTER = [param("status", {"enum": list(RUN_STATES)})]


@endpoint("GET", "/workflows/runs", scope="workflows:read", tag="workflows", summary="Runs of every workflow",
          description="Newest first.", query=_RUN_FILTER, response=RUN_PAGE, paginated=True)
def list_workflow_runs() -> Response:
    return _runs(None)


@endpoint("GET", "/workflows/<int:workflow_id>/runs", scope="workflows:read", tag="workflows",
          summary="Runs of one workflow", description="Newest first.", query=_RUN_FILTER, response=RUN_PAGE,
          paginated=True)
def list_runs_of_workflow(workflow_id: int) -> Response:
    _workflow_id(workflow_id)
    return _runs(workflow_id)


@endpoint("GET", "/workflows/runs/<bigint:run_id>", scope="workflows:read", tag="workflows",
          summary="One run, with its steps", description="Each step with its input, output, error and attempts.",
          response="WorkflowRun")
def get_workflow_run(run_id: int) -> Response:
    detail = wf_call(workflows.run_detail, run_id)
    return respond(run_json(detail["run"], detail["steps"]))


@endpoint("POST", "/workflows/runs/<bigint:run_id>/cancel", scope="workflows:write", tag="workflows",
          summary="Cancel a run", description="409 when it has already ended.", response="WorkflowRun",
          errors=(409,))
def cancel_workflow_run(run_id: int) -> Response:
    return respond(run_json(wf_call(workflows.cancel_run, run_id, actor(), client_ip())))
