"""Console: the outbox (under the jobs page), resend, the SMTP connection test and a test email."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for

from nous.auth import admin_required, client_ip, current_actor
from nous.email import bp, service
from nous.email.models import STATUSES
from nous.inputs import arg_int
from nous.web import is_fragment_request, render, toast


def _problem(status: int, message: str) -> Any:
    if request.headers.get("HX-Request"):
        resp = jsonify({"error": "Bad Request" if status == 400 else "Conflict" if status == 409 else "Not Found",
                        "message": message})
        resp.status_code = status
        return resp
    abort(status, description=message)


@bp.get("/admin/jobs/outbox")
@admin_required
def outbox() -> Any:
    status = request.args.get("status", "").strip()
    q = request.args.get("q", "").strip()[:200]
    try:
        rows, more = service.list_outbox(status=status, q=q, before=arg_int("before", minimum=1, maximum=10**12 - 1))
    except service.EmailError as exc:
        abort(400, description=str(exc))
    context = {"rows": rows, "more": more, "status": status, "q": q, "active": "jobs"}
    if is_fragment_request() and request.headers.get("HX-Target") in ("outbox-rows", "outbox-more"):
        return render_template("jobs/_outbox_rows.html", **context)
    return render("jobs/outbox.html", **context, counts=service.counts(), statuses=STATUSES)


@bp.get("/admin/jobs/outbox/<int:outbox_id>")
@admin_required
def message(outbox_id: int) -> Any:
    msg = service.get_message(outbox_id)
    if msg is None:
        abort(404, description=f"no message {outbox_id} in the outbox")
    return render("jobs/message.html", "jobs/_message.html", msg=msg, active="jobs")


@bp.post("/admin/jobs/outbox/<int:outbox_id>/resend")
@admin_required
def resend_message(outbox_id: int) -> Any:
    try:
        msg = service.resend(outbox_id, current_actor(), client_ip())
    except LookupError as exc:
        return _problem(404, str(exc))
    except service.EmailError as exc:
        return _problem(409, str(exc))
    if not request.headers.get("HX-Request"):
        flash(f"Message {outbox_id} queued again", "success")
        return redirect(url_for("email.message", outbox_id=outbox_id), 303)
    return toast(Response(render_template("jobs/_outbox_row.html", m=msg)), f"Message {outbox_id} queued again",
                 refresh="outbox-changed")


@bp.post("/admin/email/test-connection")
@admin_required
def test_connection() -> Any:
    ok, detail = service.check_connection(current_actor(), client_ip())
    return render_template("jobs/_smtp_test.html", ok=ok, detail=detail)


@bp.post("/admin/email/send-test")
@admin_required
def send_test() -> Any:
    to = request.form.get("to", "").strip() or current_actor()
    try:
        outbox_id = service.send_test(to, current_actor(), client_ip())
    except service.EmailError as exc:
        return _problem(400, str(exc))
    if not request.headers.get("HX-Request"):
        flash(f"Test email queued for {to} (message {outbox_id})", "success")
        return redirect(url_for("email.outbox"), 303)
    return toast(Response(""), f"Test email queued for {to} (message {outbox_id})", refresh="outbox-changed")
