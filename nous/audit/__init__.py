"""The audit log: who changed what, when, from where; its console page and CSV export."""

from flask import Blueprint, Flask

bp = Blueprint("audit", __name__, url_prefix="/admin")

from nous.audit import routes  # noqa: E402,F401  # the routes register on `bp`


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
