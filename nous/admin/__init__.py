"""The admin console: sign-in, the dashboard, system, settings and audit pages."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, current_app

bp = Blueprint("admin", __name__, url_prefix="/admin")


@dataclass(frozen=True)
class NavItem:
    key: str
    label: str
    endpoint: str


# The console's areas in menu order; an item shows once its area registers the endpoint.
NAV = (
    NavItem("dashboard", "Dashboard", "admin.dashboard"),
    NavItem("testers", "Testers", "testers.index"),
    NavItem("feedback", "Feedback", "feedback.admin_index"),
    NavItem("flags", "Feature flags", "flags.index"),
    NavItem("jobs", "Jobs", "jobs.index"),
    NavItem("workflows", "Workflows", "workflows.index"),
    NavItem("system", "System", "admin.system"),
    NavItem("settings", "Settings", "admin.settings"),
    NavItem("audit", "Audit log", "admin.audit"),
)


def admin_nav() -> list[NavItem]:
    return [item for item in NAV if item.endpoint in current_app.view_functions]


from nous.admin import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    from nous.admin.auth import init_auth
    from nous.admin.oidc import init_oidc

    init_auth(app)
    init_oidc(app)
    app.register_blueprint(bp)
    app.jinja_env.globals["admin_nav"] = admin_nav
