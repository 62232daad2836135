"""The audit log: who changed what, when, from where; its console page, CSV export and `flask nous audit`."""

from flask import Blueprint, Flask

from nous.audit.cli import audit_command
from nous.cli import nous

bp = Blueprint("audit", __name__, url_prefix="/admin")

from nous.audit import routes  # noqa: E402,F401  # the routes register on `bp`


def init_app(app: Flask) -> None:
    if audit_command.name not in nous.commands:
        nous.add_command(audit_command)
    app.register_blueprint(bp)
