"""Console pages for jobs: thin — parse, call `nous.jobs.service`, render a page or its fragment."""

from __future__ import annotations

from typing import Any

import redis
from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for

from nous import humanize
from nous.auth import admin_required, client_ip, current_actor
from nous.inputs import arg_int
from nous.jobs import bp, service
from nous.web import is_fragment_request, render, toast

ACTIONS = {"cancel": "Canceled", "retry": "Queued again", "delete": "Deleted"}


def _fail(status: int, message: str) -> Any:
    """An error HTMX shows as a toast (JSON message), or an error page for a plain request."""
    if request.headers.get("HX-Request"):
        resp = jsonify({"error": "Conflict" if status == 409 else "Bad Request" if status == 400 else "Not Found",
                        "message": message})
        resp.status_code = status
        return resp
    abort(status, description=message)



def _filters() -> service.RunFilter:
    f = service.RunFilter(status=request.args.get("status", ""), task=request.args.get("task", ""),
                          q=request.args.get("q", ""))
    try:
        return f.validate()
    except ValueError as exc:
        abort(400, description=str(exc))


@bp.get("/")
@bp.get("")
@admin_required
def index() -> Any:
    filters = _filters()
    before, after = arg_int("before", minimum=1), arg_int("after", minimum=1)
    listing = service.list_runs(filters, before=before, after=after, oldest=request.args.get("oldest") == "1")
    context = {"listing": listing, "filters": filters, "active": "jobs"}
    if is_fragment_request() and request.headers.get("HX-Target") == "job-rows":
        return render_template("jobs/_rows.html", **context)
    return render("jobs/index.html", **context, counts=service.recent_counts(), task_names=service.task_names(),
                  schedules=service.list_schedules(), states=service.STATES)


@bp.get("/panel/queues")
@admin_required
def panel_queues() -> str:
    try:
        queues, workers, unavailable = service.queues(), service.workers(), False
    except (redis.RedisError, OSError):  # polled every 5 s: say so in the panel, not as a failed request
        queues, workers, unavailable = [], [], True
    return render("jobs/queues.html", block="panel", queues=queues, workers=workers, unavailable=unavailable,
                  active="jobs")


@bp.get("/panel/stats")
@admin_required
def panel_stats() -> str:
    hours = arg_int("hours", 24, minimum=1, maximum=24 * 90)
    return render("jobs/stats.html", block="panel", stats=service.stats(hours), hours=hours, active="jobs")


@bp.get("/panel/failures")
@admin_required
def panel_failures() -> str:
    return render("jobs/failures.html", block="panel", failures=service.latest_failures(8), active="dashboard")


@bp.get("/chart.json")
@admin_required
def chart_data() -> Any:
    try:
        return jsonify(service.series(request.args.get("range", "48h")))
    except ValueError as exc:
        return jsonify({"error": "Bad Request", "message": str(exc)}), 400


@bp.get("/<job_id>")
@admin_required
def detail(job_id: str) -> Any:
    try:
        info = service.detail(job_id)
    except service.JobNotFound as exc:
        abort(404, description=str(exc))
    return render("jobs/detail.html", "jobs/_detail.html", **info, active="jobs")


@bp.get("/<job_id>/progress")
@admin_required
def progress(job_id: str) -> Any:
    try:
        info = service.progress(job_id)
    except service.JobNotFound as exc:
        abort(404, description=str(exc))
    body = render("jobs/progress.html", block="progress", p=info, active="jobs")
    # 286 tells HTMX to stop polling: the job has ended.
    return (body, 286) if info["ended"] and is_fragment_request() else body


def _after_action(job_id: str, message: str, deleted: bool = False) -> Any:
    from_detail = request.form.get("from") == "detail"
    if not request.headers.get("HX-Request"):
        flash(message, "success")
        if deleted or not from_detail:
            return redirect(url_for("jobs.index"), 303)
        return redirect(url_for("jobs.detail", job_id=job_id), 303)
    if deleted:
        resp = Response("")
        if from_detail:
            resp.headers["HX-Redirect"] = url_for("jobs.index")
        return toast(resp, message, refresh="jobs-changed")
    if from_detail:
        resp = Response(render_template("jobs/_detail.html", **service.detail(job_id)))
    else:
        resp = Response(render_template("jobs/_row.html", run=service.get_run(job_id)))
    return toast(resp, message, refresh="jobs-changed")


def _act(job_id: str, action: str) -> Any:
    fn = {"cancel": service.cancel, "retry": service.retry, "delete": service.delete_job}[action]
    try:
        result = fn(job_id, current_actor(), client_ip())
    except service.JobNotFound as exc:
        return _fail(404, str(exc))
    except service.JobError as exc:
        return _fail(409, str(exc))
    message = f"{ACTIONS[action]}: job {job_id[:8]}" + (f" ({result})" if action == "cancel" else "")
    return _after_action(job_id, message, deleted=action == "delete")


@bp.post("/<job_id>/cancel")
@admin_required
def cancel_job(job_id: str) -> Any:
    return _act(job_id, "cancel")


@bp.post("/<job_id>/retry")
@admin_required
def retry_job(job_id: str) -> Any:
    return _act(job_id, "retry")


@bp.post("/<job_id>/delete")
@admin_required
def delete_job(job_id: str) -> Any:
    return _act(job_id, "delete")


@bp.post("/retry-failed")
@admin_required
def retry_failed() -> Any:
    task = request.form.get("task", "").strip()[:100]
    result = service.retry_all_failed(current_actor(), client_ip(), task=task)
    message = f"Queued again: {result['retried']} failed job(s)" + (
        f", {result['skipped']} could not run again" if result["skipped"] else "")
    if not request.headers.get("HX-Request"):
        flash(message, "success")
        return redirect(url_for("jobs.index"), 303)
    return toast(Response(""), message, refresh="jobs-changed")


@bp.post("/schedules/<name>/run")
@admin_required
def run_schedule(name: str) -> Any:
    try:
        job_id = service.run_schedule_now(name, current_actor(), client_ip())
    except service.JobNotFound as exc:
        return _fail(404, str(exc))
    except service.JobError as exc:
        return _fail(409, str(exc))
    if not request.headers.get("HX-Request"):
        flash(f"Started {service.get_run(job_id).task}: job {job_id[:8]}", "success")
        return redirect(url_for("jobs.detail", job_id=job_id), 303)
    resp = Response("")
    resp.headers["HX-Redirect"] = url_for("jobs.detail", job_id=job_id)
    return resp


@bp.app_template_filter("jobs_when")
def jobs_when(value: Any) -> str:
    """A stored time in the console's one date format (exact UTC time on hover)."""
    return humanize.when(value)


@bp.app_template_filter("jobs_ms")
def jobs_ms(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 1000:
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if value < 120_000:
        return f"{value / 1000:.1f} s"
    return f"{value / 60000:.1f} min"


BADGES = {"finished": "pass", "failed": "fail", "started": "info", "retrying": "warn", "stopped": "warn",
          "queued": "muted", "scheduled": "muted", "canceled": "muted",
          "sent": "pass", "kept": "info", "sending": "info"}


@bp.app_template_filter("jobs_badge")
def jobs_badge(status: str) -> str:
    return BADGES.get(status, "muted")
