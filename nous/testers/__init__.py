"""Beta testers: the `beta_users` table, the console pages at /admin/beta/users and the invite page /join/<code>."""

from __future__ import annotations

from flask import Blueprint, Flask

from nous.cli import nous

bp = Blueprint("testers", __name__, url_prefix="/admin/beta/users")
join_bp = Blueprint("join", __name__)

JOIN_PATH = "/join/{code}"  # the route below and the links in invite emails

from nous.testers import join, routes  # noqa: E402,F401 - the routes register on the blueprints above
from nous.testers.cli import testers_group  # noqa: E402


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(join_bp)
    if "testers" not in nous.commands:
        nous.add_command(testers_group)
