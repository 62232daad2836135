"""Feature flags (SPEC section 7): Unleash semantics, evaluated in process without touching the database.

    from nous import flags

    flags.is_enabled("checkout.new-flow", {"userId": tester_id, "properties": {"plan": "pro"}})
    flags.get_variant("search.ranking", context)  # {"name", "enabled", "payload", "feature_enabled"}
    flags.evaluate_all(context)                    # {key: {"enabled", "variant"}} for every flag

Flags live in the database with their history (`service`); every process keeps them compiled in
memory (`cache`) and follows any change within a second. Clients use `POST /api/flags/evaluate` or
the Unleash client API (`api`); the admin uses the console at /admin/beta/flags (`routes`) and
`flask nous flags …` (`cli`).
"""

from __future__ import annotations

from flask import Blueprint, Flask

from nous import front
from nous.cli import nous
from nous.flags.cache import EVALS, bump_version, evaluate_all, get_variant, install, is_enabled
from nous.flags.engine import CASE_SENSITIVE, notices
from nous.telemetry import FLUSHERS

bp = Blueprint("flags", __name__, url_prefix="/admin/beta/flags")
api_bp = Blueprint("flags_api", __name__)

from nous.flags import (  # noqa: E402,F401 - the routes register on the blueprints above
    api,
    delta,
    ofrep,
    routes,
    streaming,
    usage,
)
from nous.flags.cli import flags_group  # noqa: E402
from nous.flags.service.environments import check_setting  # noqa: E402
from nous.settings import service as settings  # noqa: E402

__all__ = ["api_bp", "bp", "bump_version", "evaluate_all", "get_variant", "init_app", "is_enabled"]


def init_app(app: Flask) -> None:
    install(app)
    settings.check_names_with("flags.environment", check_setting)
    app.jinja_env.globals["flag_notices"] = notices  # the flag page's notices about its definition
    app.jinja_env.globals["exact_operators"] = CASE_SENSITIVE  # the condition editor offers no "ignore case" on them
    front.route(app, "POST", "/api/flags/evaluate", api.evaluate_in_front, endpoint="flags_api.evaluate")
    front.route(app, "GET", "/api/client/features", api.client_features_in_front, endpoint="flags_api.client_features")
    if EVALS not in FLUSHERS:
        FLUSHERS.append(EVALS)
    if "flags" not in app.blueprints:
        app.register_blueprint(bp)
        app.register_blueprint(api_bp)
        app.register_blueprint(ofrep.bp)
        app.register_blueprint(delta.bp)
        app.register_blueprint(streaming.bp)
    if "flags" not in nous.commands:
        nous.add_command(flags_group)
