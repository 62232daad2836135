"""The admin console: sign-in, the dashboard and the system page; the menu every console page shows."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Flask, current_app

from nous.cli import nous

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
    NavItem("settings", "Settings", "settings.index"),
    NavItem("audit", "Audit log", "audit.index"),
    NavItem("api_tokens", "API tokens", "api_tokens.index"),
)


def admin_nav() -> list[NavItem]:
    return [item for item in NAV if item.endpoint in current_app.view_functions]


from nous.admin import routes  # noqa: E402,F401  # the routes register on `bp`
from nous.admin.auth import init_auth  # noqa: E402
from nous.admin.cli import login_link_command, logout_all_command  # noqa: E402
from nous.admin.oidc import init_oidc  # noqa: E402


def init_app(app: Flask) -> None:
    for command in (login_link_command, logout_all_command):
        if command.name not in nous.commands:
            nous.add_command(command)
    init_auth(app)
    init_oidc(app)
    app.register_blueprint(bp)
    app.jinja_env.globals["admin_nav"] = admin_nav
