from flask import Blueprint, Flask

from nous import front
from nous.cli import nous
from nous.health.cli import health_command, ready_command
from nous.health.liveness import healthz

bp = Blueprint("health", __name__)

from nous.health import routes  # noqa: E402,F401  # the routes register on `bp`


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    for method in ("GET", "HEAD"):
        front.route(app, method, "/healthz", healthz)
    for command in (health_command, ready_command):
        if command.name not in nous.commands:
            nous.add_command(command)
