from flask import Blueprint, Flask

bp = Blueprint("health", __name__)

from nous.health import routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    from nous.health.liveness import Liveness

    app.register_blueprint(bp)
    app.wsgi_app = Liveness(app.wsgi_app)  # type: ignore[method-assign]
