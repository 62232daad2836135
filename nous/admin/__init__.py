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
    NavItem("settings", "Settings", "admin.settings_page"),
    NavItem("audit", "Audit log", "admin.audit_page"),
    NavItem("api_tokens", "API tokens", "api_tokens.index"),
)


def admin_nav() -> list[NavItem]:
    return [item for item in NAV if item.endpoint in current_app.view_functions]


from nous.admin import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    from nous.admin.auth import init_auth
    from nous.admin.cli import audit_command, login_link_command, logout_all_command
    from nous.admin.oidc import init_oidc
    from nous.cli import nous

    for command in (login_link_command, logout_all_command, audit_command):
        if command.name not in nous.commands:
            nous.add_command(command)
    init_auth(app)
    init_oidc(app)
    app.register_blueprint(bp)
    from nous.admin.forms import display_value, probe_rows

    app.jinja_env.globals["admin_nav"] = admin_nav
    app.jinja_env.filters["setting_display"] = display_value
    app.jinja_env.filters["setting_probe_rows"] = probe_rows
