"""Console routes: thin — parse, call a service, render a page or its fragment."""

from __future__ import annotations

from typing import Any

from authlib.integrations.base_client import OAuthError
from flask import Response, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, logout_user

from nous.admin import bp, oidc
from nous.admin import service as admin_service
from nous.admin import system as system_service
from nous.admin.auth import end_session, start_session
from nous.audit import service as audit
from nous.auth import admin_required, client_ip, current_actor
from nous.extensions import limiter
from nous.health import service as health
from nous.settings import service as settings
from nous.web import render, safe_next

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
        return _refused("The sign-in was canceled or refused by the provider.")
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
    return render("admin/status.html", block="status", doc=health.detailed(), active="dashboard")


@bp.get("/beta/activity")
@admin_required
def activity_panel() -> str:
    return render("admin/activity.html", block="activity", events=audit.query(limit=12), active="dashboard")


# --- system ------------------------------------------------------------------------------------

@bp.get("/system")
@admin_required
def system() -> str:
    return render("admin/system.html", integrations=system_service.integrations(), active="system")
