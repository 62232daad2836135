from flask import Blueprint, Flask

bp = Blueprint("health", __name__)

from nous.health import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    from nous import front
    from nous.health.liveness import healthz

    app.register_blueprint(bp)
    for method in ("GET", "HEAD"):
        front.route(app, method, "/healthz", healthz)
