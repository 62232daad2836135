"""The triage console at /admin/beta/feedback (blueprint `feedback`): thin — parse, call the service, render a
page or a fragment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import redis
from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)

from nous.audit import service as audit
from nous.auth import admin_required, client_ip, current_actor
from nous.changes import mark_changed
from nous.clock import aware, utcnow
from nous.exports import csv_response
from nous.feedback import service as feedback
from nous.feedback.models import CATEGORIES, STATUSES
from nous.flags import service as flags
from nous.inputs import arg_int, form_ints
from nous.testers import service as testers
from nous.testers.service import TesterError
from nous.web import is_fragment_request, render, safe_next, toast

PREFIX = "/admin/beta/feedback"
REFRESH_EVENT = "feedback-changed"
PAGE_SIZE = 50
# The detail page asks again every few seconds while an image's text is being read; a text still unread after
# this long waits for a worker, and an open page stops asking (it follows the feedback's changes as before).
READING_WINDOW = timedelta(minutes=10)

bp = Blueprint("feedback", __name__, url_prefix=PREFIX)


def _row_or_404(feedback_id: int) -> Any:
    row = feedback.get(feedback_id)
    if row is None:
        abort(404, description="There is no such feedback.")
    return row


def _list_context() -> dict[str, Any]:
    feedback.check_flag_filter(request.args)
    f = feedback.parse_filter(request.args)
    page = feedback.list_page(f, before=request.args.get("before"), after=request.args.get("after"), limit=PAGE_SIZE)
    return {"f": f, "page": page, "thumbs": feedback.attachments.thumbnails_for([r.id for r in page.items]),
            "statuses": STATUSES, "categories": CATEGORIES, "back": request.full_path}


def _flag_choices(f: Any) -> dict[str, Any]:
    """The flag filter's choices: every flag (archived ones too: their feedback stays), the environments,
    and the variants each flag defines."""
    environments = flags.environment_names()
    listed = [*flags.list_flags(environment=environments[0]),  # key and variants are the same in each
              *flags.list_flags(archived=True, environment=environments[0])]
    keys = sorted({fl.key for fl in listed} | ({f.flag} if f.flag else set()))
    variants = sorted({str(v.get("name")) for fl in listed if not f.flag or fl.key == f.flag
                       for v in (fl.variants or []) if isinstance(v, dict) and v.get("name")})
    return {"flag_keys": keys, "flag_variants": variants, "flag_environments": environments,
            "flag_states": feedback.FLAG_STATES}


@bp.get("")
@admin_required
def admin_index() -> str:
    ctx = _list_context()
    if is_fragment_request():
        return render_template("feedback/_results.html", **ctx)
    stats = feedback.stats()
    figures, ask_again = feedback.header_figures()
    return render_template("feedback/index.html", **ctx, stats=stats, figures=figures, ask_again=ask_again,
                           features=[p["feature"] for p in stats["per_feature"] if p["feature"]],
                           tags=feedback.known_tags(), **_flag_choices(ctx["f"]), active="feedback")


@bp.get("/figures")
@admin_required
def panel_figures() -> str:
    figures, ask_again = feedback.header_figures()
    return render("feedback/figures.html", "feedback/_figures_inner.html", figures=figures, ask_again=ask_again,
                  active="feedback")


@bp.get("/export.csv")
@admin_required
def admin_export() -> Response:
    feedback.check_flag_filter(request.args)
    f = feedback.parse_filter(request.args)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    return csv_response(f"nous-feedback-{stamp}.csv", feedback.EXPORT_HEADER, feedback.export_rows(f))


@bp.get("/charts.json")
@admin_required
def admin_charts() -> Response:
    return jsonify(feedback.charts(arg_int("days", 90, minimum=1, maximum=999)))


@bp.get("/panel/latest")
@admin_required
def panel_latest() -> str:
    items = feedback.latest(limit=8)
    return render("feedback/latest.html", block="panel", items=items,
                  thumbs=feedback.attachments.thumbnails_for([fb.id for fb in items]), active="dashboard")


@bp.get("/by-flag/<path:key>")
@admin_required
def compare_by_flag(key: str) -> str:
    """What testers felt with the flag on and off (the flag page's card loads it; a page of its own too)."""
    try:
        comparison = feedback.by_flag.compare_flag(key, request.args.get("env"), request.args.get("days"))
    except feedback.by_flag.ComparisonRefused as exc:
        abort(exc.status, description=exc.message)
    return render("feedback/by_flag.html", "feedback/_by_flag.html", c=comparison,
                  periods=feedback.by_flag.PERIODS, environments=flags.environment_names(), active="flags")


def _being_read(attachments: list[Any]) -> bool:
    since = utcnow() - READING_WINDOW
    return any(a.text_status == "pending" and aware(a.created_at) > since for a in attachments)


def _detail_context(row: Any) -> dict[str, Any]:
    history = [e for e in audit.query(target=f"feedback:{row.id}", limit=50) if e.target == f"feedback:{row.id}"]
    tester = testers.get(row.tester_id) if row.tester_id else None
    attachments = feedback.attachments.for_feedback(row.id)
    return {"fb": row, "tags": feedback.tags_for([row.id])[row.id], "replies": feedback.replies(row.id),
            "attachments": attachments, "being_read": _being_read(attachments),
            "reply_to": feedback.reply_address(row), "history": history, "tester": tester, "statuses": STATUSES,
            "back": safe_next(request.args.get("back"), url_for("feedback.admin_index"))}


@bp.get("/<int:feedback_id>")
@admin_required
def admin_show(feedback_id: int) -> str:
    row = _row_or_404(feedback_id)
    return render_template("feedback/show.html", **_detail_context(row), known_tags=feedback.known_tags(),
                           active="feedback")


def _back_to_detail(row: Any, message: str, kind: str = "success") -> Response:
    flash(message, "success" if kind == "success" else "error")
    return redirect(url_for("feedback.admin_show", feedback_id=row.id), 303)  # type: ignore[return-value]


@bp.app_template_filter("feedback_version")
def feedback_version(row: Any) -> str:
    return feedback.version_of(row)


def _changed(resp: Response, row: Any) -> Response:
    """Every fragment showing this feedback follows (this page now, other pages through /ws/live)."""
    return mark_changed(resp, "feedback", row.id, feedback.version_of(row))


def _conflict_page(exc: Any) -> tuple[str, int]:
    """A plain form's stale change: the detail page as the feedback is now, with what changed (409)."""
    return render_template("feedback/show.html", **_detail_context(exc.current), known_tags=feedback.known_tags(),
                           conflict=exc, active="feedback"), 409


def _status_html(row: Any, **extra: Any) -> str:
    if request.form.get("view") == "row":
        return render_template("feedback/_row.html", fb=row, tags=feedback.tags_for([row.id])[row.id],
                               thumbs=feedback.attachments.thumbnails_for([row.id])[row.id], statuses=STATUSES,
                               back=request.form.get("back", ""), **extra)
    return render_template("feedback/_status_form.html", fb=row, statuses=STATUSES, **extra)


@bp.post("/<int:feedback_id>/status")
@admin_required
def admin_set_status(feedback_id: int) -> Any:
    row = _row_or_404(feedback_id)
    try:
        feedback.set_status(row.id, request.form.get("status", ""), actor=current_actor(), ip=client_ip(),
                            expected_version=request.form.get("version"))
    except feedback.FeedbackConflict as exc:
        if not is_fragment_request():
            return _conflict_page(exc)
        resp = toast(make_response(_status_html(exc.current, conflict=exc), 409), exc.message, "error")
        return _changed(resp, exc.current)
    except feedback.FeedbackError as exc:
        if not is_fragment_request():
            return _back_to_detail(row, exc.message, "error")
        return make_response(exc.message, 422)
    message = f"#{row.id} is now {row.status}"
    if not is_fragment_request():
        return _back_to_detail(row, message)
    return _changed(toast(make_response(_status_html(row, saved=True)), message), row)


@bp.post("/bulk")
@admin_required
def admin_bulk_status() -> Any:
    ids = form_ints("ids")
    status = request.form.get("bulk_status", "")
    if not ids:
        return toast(make_response(""), "Select some feedback first.", "error")
    seen = {i: request.form.get(f"seen_{i}", "")[:20] for i in ids}
    try:
        changed = feedback.bulk_status(ids, status, actor=current_actor(), ip=client_ip(), seen=seen)
    except feedback.BulkConflict as exc:
        if not is_fragment_request():
            flash(exc.message, "error")
            return redirect(safe_next(request.form.get("back"), url_for("feedback.admin_index")), 303)
        return toast(make_response("", 409), exc.message, "error", refresh=REFRESH_EVENT)
    except feedback.FeedbackError as exc:
        return toast(make_response(""), exc.message, "error")
    if not is_fragment_request():
        flash(f"{changed} feedback marked {status}.", "success")
        return redirect(safe_next(request.form.get("back"), url_for("feedback.admin_index")), 303)
    return toast(make_response(""), f"{changed} marked {status}", refresh=REFRESH_EVENT)


@bp.post("/<int:feedback_id>/tags")
@admin_required
def admin_set_tags(feedback_id: int) -> Any:
    row = _row_or_404(feedback_id)
    error = ""
    try:
        tags = feedback.set_tags(row.id, request.form.get("tags", ""), actor=current_actor(), ip=client_ip(),
                                 expected_version=request.form.get("version"))
    except feedback.FeedbackConflict as exc:
        if not is_fragment_request():
            return _conflict_page(exc)
        html = render_template("feedback/_tags_form.html", fb=exc.current, tags=feedback.tags_for([row.id])[row.id],
                               error="", conflict=exc, known_tags=feedback.known_tags())
        return _changed(toast(make_response(html, 409), exc.message, "error"), exc.current)
    except feedback.FeedbackError as exc:
        error, tags = exc.message, feedback.tags_for([row.id])[row.id]
    if not is_fragment_request():
        return _back_to_detail(row, error or "Tags saved.", "error" if error else "success")
    html = render_template("feedback/_tags_form.html", fb=row, tags=tags, error=error,
                           known_tags=feedback.known_tags(), raw=request.form.get("tags", "") if error else None)
    resp = toast(make_response(html), error or "Tags saved", "error" if error else "success")
    return resp if error else _changed(resp, row)


@bp.post("/<int:feedback_id>/reply")
@admin_required
def admin_reply(feedback_id: int) -> Any:
    row = _row_or_404(feedback_id)
    text = request.form.get("reply", "")
    error = ""
    try:
        feedback.reply(row.id, text, actor=current_actor(), ip=client_ip())
    except (feedback.FeedbackError, TesterError) as exc:  # TesterError: EmailUnavailable
        error = exc.message
    if not is_fragment_request():
        return _back_to_detail(row, error or "Reply queued.", "error" if error else "success")
    html = render_template("feedback/_reply.html", fb=row, replies=feedback.replies(row.id),
                           reply_to=feedback.reply_address(row), error=error, draft=text if error else "")
    resp = toast(make_response(html), error or f"Reply queued for {feedback.reply_address(row)}",
                 "error" if error else "success")
    return resp if error else mark_changed(resp, "feedback", row.id)  # its history on this page shows the reply


# --- attachments: served so that an uploaded file can never run as a page ---------------------

CHUNK_SIZE = 256 * 1024  # read from the database a piece at a time: a download never holds the whole file
# The headers that keep a served file inert live with the files, shared with the admin API's download.
content_disposition = feedback.attachments.content_disposition
served_name = feedback.attachments.served_name


def _attachment_or_404(attachment_id: int) -> Any:
    att = feedback.attachments.get(attachment_id)
    if att is None:
        abort(404, description="There is no such attachment.")
    return att


def _file(attachment_id: int, kind: str) -> Response:
    return feedback.attachments.file_response(_attachment_or_404(attachment_id), kind, CHUNK_SIZE)


@bp.get("/attachments/<int:attachment_id>")
@admin_required
def view_attachment(attachment_id: int) -> Response:
    """The stored file shown by the browser itself (the lightbox's image), sandboxed."""
    return _file(attachment_id, "inline")


@bp.get("/attachments/<int:attachment_id>/download")
@admin_required
def download_attachment(attachment_id: int) -> Response:
    return _file(attachment_id, "attachment")


@bp.get("/attachments/<int:attachment_id>/thumbnail")
@admin_required
def attachment_thumbnail(attachment_id: int) -> Response:
    att = _attachment_or_404(attachment_id)
    resp = feedback.attachments.thumbnail_response(att)
    if resp is None:
        abort(404, description="This attachment has no thumbnail.")
    return resp


@bp.post("/attachments/<int:attachment_id>/delete")
@admin_required
def delete_attachment(attachment_id: int) -> Response:
    att = feedback.attachments.get(attachment_id)
    if att is None:  # deleted meanwhile (another tab): the page it was asked from says so, as it is now
        owner = request.form.get("feedback_id", "")
        if owner.isascii() and owner.isdigit() and len(owner) < 19 and feedback.get(int(owner)) is not None:
            flash("That file had already been deleted.", "info")
            return redirect(url_for("feedback.admin_show", feedback_id=int(owner), _anchor="attachments"),
                            303)  # type: ignore[return-value]
        abort(404, description="There is no such attachment.")
    if feedback.attachments.delete(att.id, actor=current_actor(), ip=client_ip()) is not None:
        flash(f"Deleted {att.filename}.", "success")
    target = url_for("feedback.admin_show", feedback_id=att.feedback_id, _anchor="attachments")
    return redirect(target, 303)  # type: ignore[return-value]


@bp.post("/attachments/<int:attachment_id>/read-again")
@admin_required
def read_attachment_text_again(attachment_id: int) -> Response:
    """Read an image's text again (its reading failed, or Tesseract was missing then)."""
    try:
        att = feedback.read_text_again(attachment_id, actor=current_actor(), ip=client_ip())
    except feedback.FeedbackError as exc:
        att = feedback.attachments.get(attachment_id)
        flash(exc.message, "error")
    else:
        if att is not None and att.text_status == "pending":
            flash(f"Reading the text of {att.filename} again.", "success")
        elif att is not None:
            flash(f"The text of {att.filename} is not waiting to be read again.", "info")
    if att is None:
        abort(404, description="There is no such attachment.")
    return redirect(url_for("feedback.admin_show", feedback_id=att.feedback_id, _anchor="attachments"),
                    303)  # type: ignore[return-value]


# --- sites the widget was refused on (shown on the Settings page) -------------------------------

def _refused_view(error: str = "", origin: str = "") -> str:
    try:
        origins, unavailable = feedback.refused_origins(), False
    except (redis.RedisError, OSError):
        origins, unavailable = [], True
    return render("feedback/refused_origins.html", "feedback/_refused_origins.html", origins=origins,
                  unavailable=unavailable, days=feedback.REFUSED_DAYS, error=error, origin=origin,
                  active="settings")


@bp.get("/refused-origins")
@admin_required
def refused_origins() -> str:
    return _refused_view()


@bp.post("/refused-origins/allow")
@admin_required
def allow_origin() -> Any:
    try:
        origin = feedback.allow_origin(request.form.get("origin", ""), actor=current_actor(), ip=client_ip())
    except feedback.ValidationFailed as exc:
        return _refused_view(exc.errors["origin"], request.form.get("origin", "")[:200]), 422
    flash(f"Allowed {origin}: the feedback widget works on that site now.", "success")
    return redirect(url_for("settings.index", _anchor="refused-origins")), 303
