from flask import Blueprint, Flask

bp = Blueprint("health", __name__)

from nous.health import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
