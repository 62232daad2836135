"""Console pages for workflows: thin — parse the request, call `nous.workflows.service`, render."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from nous import humanize
from nous.auth import admin_required, client_ip, current_actor
from nous.inputs import arg_int, form_int
from nous.web import is_fragment_request, render, toast
from nous.workflows import bp, schema, service
from nous.workflows.handlers.csv_export import export_dir
from nous.workflows.models import RUN_STATES

MAX_DOCUMENT_UPLOAD = 200_000
STARTER = """\
name: My workflow
description: What this workflow does, in one sentence.
trigger: manual            # or  {event: feedback.created}  or  {cron: "0 8 * * 1"}
steps:
  - id: classify
    uses: feedback.classify
    with:
      text: ${{ input.text }}
  - id: entities
    uses: text.extract_entities
    if: steps.classify.output.category == "bug"
    with:
      text: ${{ input.text }}
"""
BADGES = {"succeeded": "pass", "failed": "fail", "running": "info", "retrying": "warn", "canceled": "warn",
          "queued": "muted", "pending": "muted", "skipped": "muted", "abandoned": "warn"}


@bp.app_template_filter("wf_badge")
def _badge(status: str) -> str:
    return BADGES.get(status, "muted")


@bp.app_template_filter("wf_failed_steps")
def _failed_steps(runs: Any) -> dict[int, int]:
    """{run id: failed steps} for the runs a list shows, so no run with failed steps reads as a plain success."""
    return service.failed_step_counts([r.id for r in runs if r])


@bp.app_template_filter("wf_when")
def _when(value: datetime | str | None) -> str:
    """A stored time in the console's one date format (exact UTC time on hover)."""
    return humanize.when(value)


@bp.app_template_filter("wf_ms")
def _ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f} ms"
    if value < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60000:.1f} min"


@bp.app_template_filter("wf_json")
def _json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=str)


@bp.app_template_filter("wf_summary")
def _summary(value: Any, limit: int = 5) -> str:
    """One line about a step's output: its first plain fields (lists by their length)."""
    if not isinstance(value, dict):
        return "" if value is None else str(value)[:120]
    parts = []
    for key, item in value.items():
        if isinstance(item, list):
            shown = f"{len(item)} item{'s' if len(item) != 1 else ''}" if len(item) != 1 or not isinstance(
                item[0], str | int | float) else str(item[0])[:40]
        elif isinstance(item, dict):
            continue
        else:
            text = "null" if item is None else str(item).lower() if isinstance(item, bool) else str(item)
            shown = text if len(text) <= 40 else text[:39] + "…"
        parts.append(f"{key}: {shown}")
        if len(parts) >= limit:
            break
    return " · ".join(parts)


@bp.app_template_filter("wf_gist")
def _gist(text: str, limit: int = 64) -> str:
    """A handler's description cut to its first clause, to read beside its name in a list."""
    first = text.replace("`", "").split("; ")[0].split(". ")[0].rstrip(".")
    return first if len(first) <= limit else first[:limit - 1].rstrip(" ,") + "…"


class _BlockDumper(yaml.SafeDumper):
    """YAML as people write it: multi-line text as a literal block."""


_BlockDumper.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v,
                                                                  style="|" if "\n" in v else None))


@bp.app_template_filter("wf_yaml")
def _yaml(value: Any) -> str:
    """A step parameter shown the way it is written in the document."""
    if isinstance(value, str):
        return value
    text = yaml.dump(value, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True, width=100)
    return text.removesuffix("\n...\n").strip()  # a lone number, true or null ends with YAML's end marker


def _fail(status: int, message: str) -> Any:
    """An error HTMX shows as a toast (JSON message); a readable error page otherwise."""
    if request.headers.get("HX-Request"):
        titles = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Unprocessable Content"}
        resp = jsonify({"error": titles.get(status, "Error"), "message": message})
        resp.status_code = status
        return resp
    abort(status, description=message)



def _workflow(workflow_id: int) -> Any:
    try:
        return service.get(workflow_id)
    except service.NotFound as exc:
        abort(404, description=str(exc))


def _run_page_args() -> dict[str, Any]:
    """status, before and limit of a run list, checked (400 otherwise)."""
    status = request.args.get("status", "").strip()
    if status and status not in RUN_STATES:
        abort(400, description=f"status must be one of {', '.join(RUN_STATES)}")
    return {"status": status, "before": arg_int("before", minimum=1),
            "limit": arg_int("limit", service.PAGE_SIZE, minimum=1, maximum=service.MAX_PAGE_SIZE)}


def _document_from_request() -> tuple[str, str | None]:
    """The document text from a form field or an uploaded file, and its format when known."""
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read(MAX_DOCUMENT_UPLOAD + 1)
        if len(data) > MAX_DOCUMENT_UPLOAD:
            abort(400, description=f"the file is larger than {MAX_DOCUMENT_UPLOAD} bytes")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            abort(400, description="the file is not UTF-8 text")
        name = upload.filename.lower()
        return text, "json" if name.endswith(".json") else "yaml" if name.endswith((".yaml", ".yml")) else None
    fmt = request.form.get("format", "").strip().lower() or None
    return request.form.get("document", ""), fmt if fmt in ("json", "yaml") else None


# --- workflows ---------------------------------------------------------------------------------

@bp.get("")
@bp.get("/")
@admin_required
def index() -> Any:
    workflows = service.list_workflows()
    ids = [w.id for w in workflows]
    return render("workflows/index.html", workflows=workflows, last=service.last_runs(ids),
                  counts=service.run_counts(ids), runs=service.list_runs(limit=15), active="workflows")


@bp.get("/runs")
@admin_required
def list_runs() -> Any:
    args = _run_page_args()
    runs = service.list_runs(**args)
    body = render("workflows/runs.html", block="runs", runs=runs, workflow=None, status=args["status"],
                  active="workflows")
    return (body, 286) if is_fragment_request() and not runs.any_active else body


@bp.get("/new")
@admin_required
def new() -> Any:
    return render("workflows/editor.html", workflow=None, document=STARTER, problems=None,
                  handlers=service.handler_catalog(), active="workflows")


@bp.post("/validate")
@admin_required
def validate_document() -> Any:
    text, fmt = _document_from_request()
    try:
        doc = service.validate(text, fmt)
    except schema.DocumentInvalid as exc:
        return render_template("workflows/_validation.html", problems=exc.problems, definition=None)
    return render_template("workflows/_validation.html", problems=[], definition=doc.definition)


def _editor_error(workflow: Any, text: str, exc: schema.DocumentInvalid) -> Any:
    body = render_template("workflows/editor.html", workflow=workflow, document=text, problems=exc.problems,
                           handlers=service.handler_catalog(), active="workflows")
    return body, 422


@bp.post("")
@bp.post("/")
@admin_required
def create_workflow() -> Any:
    text, fmt = _document_from_request()
    try:
        wf = service.create(text, current_actor(), client_ip(), fmt=fmt)
    except schema.DocumentInvalid as exc:
        return _editor_error(None, text, exc)
    flash(f"Workflow {wf.name} created.", "success")
    return redirect(url_for("workflows.show", workflow_id=wf.id), 303)


@bp.get("/<int:workflow_id>")
@admin_required
def show(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    sample, sample_from = service.sample_event_data(wf.trigger_event)
    return render("workflows/workflow.html", workflow=wf, runs=service.list_runs(wf.id), status="",
                  sample_input=json.dumps(sample, indent=2, ensure_ascii=False) if sample else "{}",
                  sample_from=sample_from, active="workflows")


@bp.get("/<int:workflow_id>/edit")
@admin_required
def edit(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    return render("workflows/editor.html", workflow=wf, document=wf.source, problems=None,
                  handlers=service.handler_catalog(), active="workflows")


@bp.post("/<int:workflow_id>")
@admin_required
def save_workflow(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    text, fmt = _document_from_request()
    try:
        wf = service.update_workflow(wf.id, text, current_actor(), client_ip(), fmt=fmt,
                                     expected_version=form_int("version", minimum=1))
    except service.WorkflowConflict as exc:
        return render_template("workflows/editor.html", workflow=exc.current, document=text, problems=None,
                               conflict=exc, handlers=service.handler_catalog(), active="workflows"), 409
    except schema.DocumentInvalid as exc:
        return _editor_error(wf, text, exc)
    flash(f"Workflow {wf.name} saved (version {wf.version}).", "success")
    return redirect(url_for("workflows.show", workflow_id=wf.id), 303)


def _set_enabled(workflow_id: int, enabled: bool) -> Any:
    wf = service.set_enabled(_workflow(workflow_id).id, enabled, current_actor(), client_ip())
    message = f"{wf.name} {'enabled' if enabled else 'disabled'}"
    if not request.headers.get("HX-Request"):
        flash(message + ".", "success")
        return redirect(url_for("workflows.show", workflow_id=wf.id), 303)
    return toast(Response(render_template("workflows/_state.html", workflow=wf)), message)


@bp.post("/<int:workflow_id>/enable")
@admin_required
def enable_workflow(workflow_id: int) -> Any:
    return _set_enabled(workflow_id, True)


@bp.post("/<int:workflow_id>/disable")
@admin_required
def disable_workflow(workflow_id: int) -> Any:
    return _set_enabled(workflow_id, False)


@bp.post("/<int:workflow_id>/delete")
@admin_required
def delete_workflow(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    service.delete_workflow(wf.id, current_actor(), client_ip())
    flash(f"Workflow {wf.name} deleted; its runs stay in the history.", "success")
    if request.headers.get("HX-Request"):
        resp = Response("")
        resp.headers["HX-Redirect"] = url_for("workflows.index")
        return resp
    return redirect(url_for("workflows.index"), 303)


@bp.post("/<int:workflow_id>/run")
@admin_required
def run_workflow(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    try:
        run_id = service.run_now(wf.id, request.form.get("input", ""), current_actor(), client_ip())
    except service.WorkflowError as exc:
        return _fail(409 if "disabled" in str(exc) else 400, str(exc))
    if not request.headers.get("HX-Request"):
        flash(f"Run {run_id} started.", "success")
        return redirect(url_for("workflows.run_detail", run_id=run_id), 303)
    resp = Response(render_template("workflows/_runs.html", runs=service.list_runs(wf.id), workflow=wf, status=""))
    return toast(resp, f"Run {run_id} started")


@bp.get("/<int:workflow_id>/runs")
@admin_required
def workflow_runs(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    args = _run_page_args()
    runs = service.list_runs(wf.id, **args)
    body = render("workflows/runs.html", block="runs", runs=runs, workflow=wf, status=args["status"],
                  active="workflows")
    # 286 tells HTMX to stop polling: no run of this page is still going
    return (body, 286) if is_fragment_request() and not runs.any_active else body


@bp.get("/<int:workflow_id>/export")
@admin_required
def export_workflow(workflow_id: int) -> Any:
    wf = _workflow(workflow_id)
    try:
        text, fmt = service.export(wf.id, request.args.get("format") or None)
    except service.WorkflowError as exc:
        abort(400, description=str(exc))
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in wf.name.lower()).strip("-") or "workflow"
    mimetype = "application/json" if fmt == "json" else "application/yaml"
    return Response(text, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{slug}.{fmt}"'})


@bp.get("/import")
@admin_required
def import_page() -> Any:
    return render("workflows/import.html", problems=None, document="", active="workflows")


@bp.post("/import")
@admin_required
def import_workflow() -> Any:
    text, fmt = _document_from_request()
    try:
        wf, what = service.import_document(text, current_actor(), client_ip(), fmt=fmt)
    except schema.DocumentInvalid as exc:
        body = render_template("workflows/import.html", problems=exc.problems, document=text, active="workflows")
        return body, 422
    flash(f"Workflow {wf.name} {what}.", "success")
    return redirect(url_for("workflows.show", workflow_id=wf.id), 303)


# --- runs --------------------------------------------------------------------------------------

def _detail(run_id: int) -> dict[str, Any]:
    try:
        return service.run_detail(run_id)
    except service.NotFound as exc:
        abort(404, description=str(exc))


@bp.get("/runs/<int:run_id>")
@admin_required
def run_detail(run_id: int) -> Any:
    info = _detail(run_id)
    body = render("workflows/run.html", "workflows/_run.html", **info, active="workflows")
    return (body, 286) if is_fragment_request() and not info["run"].active else body


@bp.post("/runs/<int:run_id>/cancel")
@admin_required
def cancel_run(run_id: int) -> Any:
    try:
        service.cancel_run(run_id, current_actor(), client_ip())
    except service.NotFound as exc:
        return _fail(404, str(exc))
    except service.WorkflowError as exc:
        return _fail(409, str(exc))
    if not request.headers.get("HX-Request"):
        flash(f"Run {run_id} canceled.", "success")
        return redirect(url_for("workflows.run_detail", run_id=run_id), 303)
    return toast(Response(render_template("workflows/_run.html", **_detail(run_id))), f"Run {run_id} canceled")


@bp.get("/runs/<int:run_id>/files/<name>")
@admin_required
def run_file(run_id: int, name: str) -> Any:
    """A file a step of this run wrote (csv.export)."""
    info = _detail(run_id)
    files = {s.output.get("file") for s in info["steps"] if isinstance(s.output, dict) and s.output.get("file")}
    if name not in files or not name.startswith(f"run{run_id}-"):
        abort(404, description="this run wrote no such file")
    path = export_dir(Path(current_app.instance_path)) / name
    if not path.is_file():
        abort(404, description="the file is no longer there")
    return send_file(path, mimetype="text/csv", as_attachment=True, download_name=name)
