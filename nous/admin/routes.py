"""Console routes: thin — parse, call a service, render a page or its fragment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from nous.admin import bp, oidc
from nous.admin import service as admin_service
from nous.admin.auth import admin_required, client_ip, current_actor, end_session, start_session
from nous.audit import service as audit
from nous.exports import csv_response
from nous.extensions import get_redis, limiter
from nous.inputs import arg_int, parse_datetime
from nous.settings import service as settings
from nous.settings.registry import DEFINITIONS, SettingError
from nous.web import render, safe_next, toast

DASHBOARD = "admin.dashboard"


def _auth_limit() -> str:
    return settings.get("auth.rate_limit")


def _refused(reason: str, status: int = 403) -> tuple[str, int]:
    return render_template("admin/refused.html", reason=reason), status


def _sign_in(email: str) -> Response:
    next_url = safe_next(session.get("next"), url_for(DASHBOARD))
    start_session(email)
    return redirect(next_url)


@bp.get("/")
def index() -> Response:
    return redirect(url_for(DASHBOARD))


@bp.get("/login")
def login() -> Any:
    next_url = safe_next(request.args.get("next"), url_for(DASHBOARD))
    if current_user.is_authenticated:
        return redirect(next_url)
    session["next"] = next_url
    return render_template("admin/login.html", oidc_ready=oidc.configured())


@bp.get("/login/start")
@limiter.limit(_auth_limit)
def login_start() -> Any:
    if not oidc.configured():
        return _refused("Google sign-in is not configured on this server. Use `flask nous login-link`.", 503)
    redirect_uri = url_for("admin.auth_callback", _external=True)
    try:
        return oidc.client().authorize_redirect(redirect_uri)
    except Exception as exc:  # provider metadata unreachable  # noqa: BLE001
        current_app.logger.warning("oidc metadata unavailable: %s", exc)
        return _refused("The sign-in provider cannot be reached right now. Try again, or use a login link.", 503)


@bp.get("/auth/callback")
@limiter.limit(_auth_limit)
def auth_callback() -> Any:
    if request.args.get("error"):
        audit.record("unknown", "auth.refused", "", after={"reason": f"provider error: {request.args['error'][:100]}"},
                     ip=client_ip())
        return _refused("The sign-in was cancelled or refused by the provider.")
    try:
        token = oidc.client().authorize_access_token()
    except OAuthError as exc:  # bad or replayed state, bad code, bad ID token
        audit.record("unknown", "auth.refused", "", after={"reason": f"oidc: {exc.error}", "method": "oidc"},
                     ip=client_ip())
        return _refused("This sign-in attempt is not valid (it may be stale or already used). Start again.", 400)
    except Exception as exc:  # provider unreachable during the exchange  # noqa: BLE001
        current_app.logger.warning("oidc exchange failed: %s", exc)
        return _refused("The sign-in provider cannot be reached right now. Try again.", 503)
    claims = dict(token.get("userinfo") or {})
    issuer = oidc.client().load_server_metadata().get("issuer", "")
    decision = admin_service.admit(claims, current_app.config["NOUS_ADMIN_EMAILS"], client_ip(), issuer)
    if not decision.ok:
        return _refused(f"{decision.email or 'This account'}: {decision.reason}.")
    return _sign_in(decision.email)


@bp.get("/login/link/<token>")
@limiter.limit(_auth_limit)
def login_link(token: str) -> Any:
    # Show a button first: link scanners that fetch URLs must not spend the token.
    return render_template("admin/login_link.html", token=token)


@bp.post("/login/link/<token>")
@limiter.limit(_auth_limit)
def use_login_link(token: str) -> Any:
    decision = admin_service.use_login_link(token, current_app.config["NOUS_ADMIN_EMAILS"], client_ip())
    if not decision.ok:
        return _refused(decision.reason[:1].upper() + decision.reason[1:]
                        + ". Ask for a new one with `flask nous login-link`.")
    return _sign_in(decision.email)


@bp.post("/logout")
def logout() -> Response:
    end_session()
    flash("You are signed out.", "info")
    return redirect(url_for("admin.login"))


@bp.post("/logout-all")
@admin_required
def logout_all() -> Response:
    admin_service.end_every_session(actor=current_actor(), ip=client_ip())
    logout_user()
    session.clear()
    flash("Every session is signed out, this one included.", "info")
    return redirect(url_for("admin.login"))


# --- dashboard ---------------------------------------------------------------------------------

# Panels other areas add to the dashboard, loaded lazily when their endpoint exists.
DASHBOARD_PANELS = (
    ("live.panel_charts", "Live metrics"),
    ("live.panel_alerts", "Open alerts"),
    ("feedback.panel_latest", "Latest feedback"),
    ("flags.panel_changes", "Flag changes"),
    ("jobs.panel_failures", "Job failures"),
)


@bp.get("/beta/")
@admin_required
def dashboard() -> str:
    panels = [(ep, title) for ep, title in DASHBOARD_PANELS if ep in current_app.view_functions]
    return render("admin/dashboard.html", panels=panels, active="dashboard")


@bp.get("/beta/status")
@admin_required
def status_panel() -> str:
    from nous.health import service as health

    doc = health.detailed()
    return render("admin/status_page.html", "admin/_status.html", doc=doc, active="dashboard")


@bp.get("/beta/activity")
@admin_required
def activity_panel() -> str:
    events = audit.query(limit=12)
    return render("admin/activity_page.html", "admin/_activity.html", events=events, active="dashboard")


# --- system ------------------------------------------------------------------------------------

@bp.get("/system")
@admin_required
def system() -> str:
    from nous.admin import system as system_service

    integrations = system_service.integrations()
    return render("admin/system.html", integrations=integrations, active="system")


@bp.get("/system/db-report")
@admin_required
def db_report() -> str:
    from nous.dbmonitor import service as dbmonitor

    report = dbmonitor.report(get_redis(), limit=arg_int("limit", 25, minimum=1, maximum=1000))
    return render("admin/db_report_page.html", "admin/_db_report.html", report=report, active="system")


# --- settings ----------------------------------------------------------------------------------

@bp.app_template_filter("setting_version")
def setting_version(value: Any) -> str:
    return settings.version_of(value)


def _settings_rows(errors: dict[str, str] | None = None, raw: dict[str, str] | None = None) -> list[dict[str, Any]]:
    values = settings.all_values()
    rows = []
    for key, definition in DEFINITIONS.items():
        rows.append({"key": key, "value": values[key], "default": definition.default, "help": definition.help,
                     "kind": definition.kind, "error": (errors or {}).get(key, ""),
                     "raw": (raw or {}).get(key)})
    return rows


@bp.get("/settings")
@admin_required
def settings_page() -> str:
    return render("admin/settings.html", rows=_settings_rows(), history=settings.history(limit=15), active="settings")


@bp.post("/settings/<key>")
@admin_required
def update_setting(key: str) -> Any:
    if key not in DEFINITIONS:
        return render_template("admin/_setting_row.html", row={"key": key, "error": "no such setting"}), 404
    from nous.admin.forms import setting_input

    raw = setting_input(DEFINITIONS[key], request.form)
    try:
        settings.set_value(key, raw, actor=current_actor(), ip=client_ip(),
                           expected_version=request.form.get("version"))
    except settings.SettingConflict as exc:
        row = next(r for r in _settings_rows({key: exc.message}) if r["key"] == key)
        return toast(Response(render_template("admin/_setting_row.html", row=row, conflict=exc), status=409),
                     exc.message, "error")
    except SettingError as exc:
        rows = _settings_rows({key: exc.message}, {key: request.form.get("value", "")})
        row = next(r for r in rows if r["key"] == key)
        return render_template("admin/_setting_row.html", row=row), 422
    row = next(r for r in _settings_rows() if r["key"] == key)
    return toast(Response(render_template("admin/_setting_row.html", row=row, saved=True)), f"Saved {key}")


@bp.get("/settings/export")
@admin_required
def export_settings() -> Response:
    fmt = "json" if request.args.get("format") == "json" else "yaml"
    return Response(settings.export(fmt), mimetype="application/json" if fmt == "json" else "application/yaml",
                    headers={"Content-Disposition": f"attachment; filename=nous-settings.{fmt}"})


@bp.post("/settings/import")
@admin_required
def import_settings() -> Any:
    upload = request.files.get("file")
    text = upload.read().decode("utf-8", "replace") if upload else request.form.get("document", "")
    is_json = (upload and upload.filename and upload.filename.endswith(".json")) or text.lstrip().startswith("{")
    fmt = "json" if is_json else "yaml"
    try:
        changes = settings.import_text(text, fmt, actor=current_actor(), ip=client_ip())
    except (SettingError, ValueError) as exc:
        flash(f"Nothing imported: {exc}", "error")
        return redirect(url_for("admin.settings_page")), 303
    flash(f"Imported: {len(changes)} setting(s) changed.", "success")
    return redirect(url_for("admin.settings_page")), 303


# --- audit -------------------------------------------------------------------------------------

def _audit_filters() -> dict[str, Any]:
    args = request.args
    out: dict[str, Any] = {k: args.get(k, "").strip()[:200] for k in ("actor", "action", "target")}
    for name in ("since", "until"):
        raw = args.get(name, "").strip()
        when = parse_datetime(raw, name)
        if when is not None:
            out[name] = when + (timedelta(days=1) if name == "until" and len(raw) == 10 else timedelta(0))
    return out


@bp.get("/audit")
@admin_required
def audit_page() -> str:
    filters = _audit_filters()
    events = audit.query(before_id=arg_int("before", minimum=1), limit=50, **filters)
    return render("admin/audit.html", "admin/_audit_rows.html", events=events, filters=request.args, active="audit")


@bp.get("/audit/export.csv")
@admin_required
def export_audit() -> Response:
    rows = ((e.id, e.at.isoformat(), e.actor, e.action, e.target, e.before, e.after, e.ip)
            for e in audit.iter_all(**_audit_filters()))
    return csv_response("nous-audit.csv", ["id", "at", "actor", "action", "target", "before", "after", "ip"], rows)
