"""Database performance monitor: statement timing, slow-query plans, index suggestions; its console
report (System › Database) and `flask nous db report`."""

from flask import Blueprint, Flask

from nous.cli import nous
from nous.dbmonitor.cli import db_group

bp = Blueprint("dbmonitor", __name__, url_prefix="/admin")

from nous.dbmonitor import routes  # noqa: E402,F401  # the routes register on `bp`


def init_app(app: Flask) -> None:
    if db_group.name not in nous.commands:
        nous.add_command(db_group)
    app.register_blueprint(bp)
