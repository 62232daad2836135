"""Console pages for testers: thin — parse the form, call the service, render a page or a fragment."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, make_response, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from nous import humanize
from nous.audit import service as audit
from nous.auth import admin_required, client_ip, current_actor
from nous.changes import mark_changed
from nous.clock import isoformat
from nous.exports import csv_response
from nous.testers import bp
from nous.testers import service as testers
from nous.testers.models import ROLES
from nous.web import is_fragment_request, render, toast

REFRESH_EVENT = "tester-changed"  # the list follows any tester's change (nous.changes)



@bp.app_template_filter("ago")
def ago(value: datetime | None) -> str:
    """A stored time in the console's one date format (inside a `<time>` the template writes)."""
    return humanize.when_text(value)


@bp.app_template_filter("tester_version")
def tester_version(user: Any) -> str:
    return testers.version_of(user)


def _changed(resp: Response, user: Any) -> Response:
    """Every fragment showing this tester follows (this page now, other pages through /ws/live)."""
    return mark_changed(resp, "tester", user.id, testers.version_of(user))


@bp.app_template_filter("isotime")
def isotime(value: datetime | None) -> str:
    return isoformat(value, "seconds") or ""


def _filters(args: MultiDict[str, str]) -> dict[str, str]:
    state = args.get("state", "")
    role = args.get("role", "").upper()
    return {"q": args.get("q", "").strip()[:200], "role": role if role in ROLES else "",
            "state": state if state in testers.STATES else ""}


def _row(user: Any, **extra: Any) -> str:
    counts = testers.feedback_counts([user.id])
    return render_template("testers/_row.html", user=user, counts=counts, **extra)


@bp.get("")
@admin_required
def index() -> str:
    filters = _filters(request.args)
    page = testers.search(**filters, after=request.args.get("after", "")[:320])
    counts = testers.feedback_counts([u.id for u in page.users])
    return render("testers/index.html", "testers/_results.html", result=page, counts=counts, filters=filters,
                  roles=ROLES, states=testers.STATES, active="testers", form={}, errors={})


@bp.post("")
@admin_required
def add_tester() -> Any:
    form = request.form
    try:
        user = testers.add(form.get("email", ""), role=form.get("role", "TESTER"), notes=form.get("notes", ""),
                           actor=current_actor(), ip=client_ip())
    except testers.TesterError as exc:
        if not is_fragment_request():
            flash(f"Not added: {exc.message}", "error")
            return redirect(url_for("testers.index"), 303)
        return render_template("testers/_add_form.html", form=form, errors={exc.field or "email": exc.message},
                               roles=ROLES)
    message = f"Added {user.email}"
    if form.get("invite"):
        try:
            testers.invite(user.id, actor=current_actor(), ip=client_ip())
            message += " and queued the invite"
        except testers.TesterError as exc:
            message += f"; invite not sent: {exc.message}"
    if not is_fragment_request():
        flash(message, "success")
        return redirect(url_for("testers.index"), 303)
    resp = make_response(render_template("testers/_add_form.html", form={}, errors={}, roles=ROLES, added=user))
    return _changed(toast(resp, message, refresh=REFRESH_EVENT), user)


def _read_upload() -> str:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return request.form.get("emails", "")
    return testers.decode_upload(upload.read())


@bp.post("/import")
@admin_required
def import_testers() -> Any:
    text = _read_upload()
    try:
        report = testers.import_text(text, actor=current_actor(), ip=client_ip(),
                                     invite_added=bool(request.form.get("invite")))
    except testers.TesterError as exc:
        html = render("testers/import.html", "testers/_import_report.html", report=None, error=exc.message,
                      active="testers")
        return toast(make_response(html), f"Nothing imported: {exc.message}", "error")
    html = render("testers/import.html", "testers/_import_report.html", report=report, error="", active="testers")
    return toast(make_response(html), f"Import: {report.added} added, {report.skipped} skipped",
                 "success" if report.added else "info", refresh=REFRESH_EVENT if report.added else "")


@bp.get("/export.<any(csv, json):fmt>")
@admin_required
def export_testers(fmt: str) -> Response:
    filters = _filters(request.args)
    if fmt == "csv":
        return csv_response("nous-testers.csv", testers.EXPORT_HEADER, testers.export_rows(**filters))
    body = json.dumps([u.as_dict() for u in testers.iter_filtered(**filters)], indent=2, ensure_ascii=False)
    return Response(body + "\n", mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="nous-testers.json"'})


def _user_or_404(user_id: Any) -> Any:
    user = testers.get(user_id)
    if user is None:
        abort(404, description="There is no such tester (they may have been removed).")
    return user


@bp.get("/<uuid:user_id>")
@admin_required
def show_tester(user_id: Any) -> str:
    user = _user_or_404(user_id)
    recent = testers.recent_feedback(user.id, limit=10)
    history = audit.query(target=user.email, limit=20)
    history = [e for e in history if e.target == user.email]
    return render("testers/show.html", user=user, join_url=testers.join_url(user), recent=recent, history=history,
                  roles=ROLES, errors={}, active="testers")


@bp.post("/<uuid:user_id>")
@admin_required
def update_tester(user_id: Any) -> Any:
    user = _user_or_404(user_id)
    form = request.form
    try:
        testers.update(user.id, role=form.get("role"), notes=form.get("notes"), actor=current_actor(), ip=client_ip(),
                       expected_version=form.get("version"))
    except testers.TesterConflict as exc:
        html = render_template("testers/_edit_form.html", user=exc.current, roles=ROLES, errors={}, form=None,
                               conflict=exc)
        if not is_fragment_request():
            return render("testers/show.html", user=exc.current, join_url=testers.join_url(exc.current),
                          recent=[], history=[], roles=ROLES, errors={}, conflict=exc, active="testers"), 409
        return _changed(toast(make_response(html, 409), exc.message, "error"), exc.current)
    except testers.TesterError as exc:
        if not is_fragment_request():
            flash(exc.message, "error")
            return redirect(url_for("testers.show_tester", user_id=user.id), 303)
        return render_template("testers/_edit_form.html", user=user, roles=ROLES, errors={exc.field: exc.message},
                               form=form)
    if not is_fragment_request():
        flash("Saved.", "success")
        return redirect(url_for("testers.show_tester", user_id=user.id), 303)
    resp = make_response(render_template("testers/_edit_form.html", user=user, roles=ROLES, errors={}, form=None,
                                         saved=True))
    return _changed(toast(resp, f"Saved {user.email}"), user)


def _after_action(user: Any, message: str, kind: str = "success", status: int = 200) -> Any:
    """Row actions answer with the updated row (list) or go back to the detail page."""
    if request.form.get("view") == "detail" or not is_fragment_request():
        flash(message, "success" if kind == "success" else "error")
        if is_fragment_request():
            resp = make_response("")
            resp.headers["HX-Redirect"] = url_for("testers.show_tester", user_id=user.id)
            return resp
        return redirect(url_for("testers.show_tester", user_id=user.id), 303)
    return _changed(toast(make_response(_row(user), status), message, kind), user)


@bp.post("/<uuid:user_id>/invite")
@admin_required
def invite_tester(user_id: Any) -> Any:
    user = _user_or_404(user_id)
    resend = user.invited_at is not None
    try:
        testers.invite(user.id, actor=current_actor(), ip=client_ip())
    except testers.TesterError as exc:
        return _after_action(user, f"Invite not sent: {exc.message}", "error")
    return _after_action(user, f"Invite {'re-sent' if resend else 'queued'} for {user.email}")


@bp.post("/<uuid:user_id>/active")
@admin_required
def set_active(user_id: Any) -> Any:
    user = _user_or_404(user_id)
    active = request.form.get("active") == "1"
    try:
        testers.set_active(user.id, active, actor=current_actor(), ip=client_ip(),
                           expected_version=request.form.get("version"))
    except testers.TesterConflict as exc:
        return _after_action(exc.current, exc.message, "error", 409)
    return _after_action(user, f"{user.email} {'reactivated' if active else 'deactivated'}")


@bp.delete("/<uuid:user_id>")
@admin_required
def remove_tester(user_id: Any) -> Any:
    user = _user_or_404(user_id)
    email = testers.remove(user.id, actor=current_actor(), ip=client_ip())
    if request.args.get("view") == "detail":
        flash(f"Removed {email}.", "success")
        resp = make_response("")
        resp.headers["HX-Redirect"] = url_for("testers.index")
        return resp
    return mark_changed(toast(make_response(""), f"Removed {email}"), "tester", user_id)


@bp.post("/<uuid:user_id>/remove")
@admin_required
def remove_tester_form(user_id: Any) -> Any:
    """The same as DELETE, for the no-JavaScript form on the detail page."""
    user = _user_or_404(user_id)
    email = testers.remove(user.id, actor=current_actor(), ip=client_ip())
    flash(f"Removed {email}.", "success")
    return redirect(url_for("testers.index"), 303)
