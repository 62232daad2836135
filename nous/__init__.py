"""NOUS Beta Console: the application factory."""

from __future__ import annotations

import functools
import importlib
import importlib.util
from pathlib import Path
from typing import Any

from flask import Flask, Response
from flask.globals import request_ctx
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from config import ROOT, load_config
from nous import dbping, front
from nous.extensions import cache, db, init_redis, limiter, migrate, sock

__version__ = "1.0.0"

# Feature areas, each a package with `init_app(app)` that registers its blueprints and CLI commands.
AREAS = ("health", "admin", "settings", "audit", "dbmonitor", "jobs", "email", "testers", "feedback",
         "flags", "live", "workflows", "adminapi")


def _areas() -> list[str]:
    return [a for a in AREAS if importlib.util.find_spec(f"nous.{a}") is not None]


def import_models() -> None:
    """Import every area's `models` module so the metadata (and Alembic) knows every table."""
    for area in _areas():
        if importlib.util.find_spec(f"nous.{area}.models") is not None:
            importlib.import_module(f"nous.{area}.models")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def _limiter_storage(redis_url: str) -> str:
    return "redis+unix://" + redis_url[len("unix://"):] if redis_url.startswith("unix://") else redis_url


def _limiter_hooks_only_where_used(app: Flask) -> None:
    """Only decorated routes have limits, and their decorators check them: Flask-Limiter's global
    hooks (check before, headers after, context release at teardown) run only for requests that a
    limit was checked on, instead of costing every other request their time."""
    app.before_request_funcs[None].remove(limiter._check_request_limit)
    after = next(f for f in app.after_request_funcs[None] if getattr(f, "args", ())[:1] == (limiter,))
    release = next(f for f in app.teardown_request_funcs[None] if getattr(f, "__self__", None) is limiter)

    def limited() -> bool:
        return hasattr(request_ctx._get_current_object(), "_limiter_request_context")

    def limit_headers(response: Response) -> Response:
        if not limited():
            return response
        response = after(response)
        if response.status_code not in (429, 503):  # Retry-After only tells a refused client when to return
            response.headers.pop("Retry-After", None)
        return response

    def release_limit_context(exc: BaseException | None = None) -> None:
        if limited():
            release(exc)

    app.after_request_funcs[None][app.after_request_funcs[None].index(after)] = limit_headers
    app.teardown_request_funcs[None][app.teardown_request_funcs[None].index(release)] = release_limit_context


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    config = load_config()
    if test_config:
        config.update(test_config)
    instance = Path(config["INSTANCE_PATH"])
    instance.mkdir(parents=True, exist_ok=True)
    if not config["REDIS_URL"]:
        from nous import embedded  # starts a Redis server: only when no REDIS_URL is given

        config["REDIS_URL"] = embedded.ensure(instance)

    app = Flask(__name__, instance_path=str(instance), template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    _configure(app, config)
    _init_extensions(app)
    _init_database(app)
    _init_parts(app)
    return app


def _configure(app: Flask, config: dict[str, Any]) -> None:
    app.config.update(config)
    app.config.update(
        RATELIMIT_STORAGE_URI=_limiter_storage(config["REDIS_URL"]),
        RATELIMIT_STORAGE_OPTIONS={"socket_timeout": 1, "socket_connect_timeout": 1},
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_SWALLOW_ERRORS=True,
        CACHE_TYPE="SimpleCache",
        CACHE_DEFAULT_TIMEOUT=30,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        SOCK_SERVER_OPTIONS={"max_message_size": 16 * 1024},  # /ws/live clients only answer pings
    )
    # Flask asks `inspect` on every request whether each hook and view is a coroutine; for a given
    # function the answer never changes (and this app has no async views), so remember it.
    app.ensure_sync = functools.lru_cache(maxsize=1024)(app.ensure_sync)  # type: ignore[method-assign]
    front.init_app(app)  # requests some areas answer before Flask (nous.front), inside ProxyFix
    if config["PROXY_COUNT"]:
        n = config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)  # type: ignore[method-assign]


def _init_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    init_redis(app)
    cache.init_app(app)
    limiter.init_app(app)
    _limiter_hooks_only_where_used(app)
    sock.init_app(app)


def _init_database(app: Flask) -> None:
    """Every table known, SQLite's pragmas (or PostgreSQL's connections checked before use, nous.dbping), and
    each query timed for the database report."""
    import_models()
    # Imported when an app is built, not with this package: `import nous.<module>` alone must not load
    # every area (areas read this package's __version__ and AREAS while they load).
    from nous.dbmonitor.monitor import STATS as query_stats
    from nous.dbmonitor.monitor import instrument
    from nous.telemetry import FLUSHERS

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            event.listen(db.engine, "connect", _sqlite_pragmas)
        elif app.config.get("DB_POOL_PRE_PING") and not app.config["SQLALCHEMY_ENGINE_OPTIONS"].get("pool_pre_ping"):
            dbping.install(db.engine)
        instrument(db.engine)
    if query_stats not in FLUSHERS:
        FLUSHERS.append(query_stats)


def _init_parts(app: Flask) -> None:
    """The core's hooks, then each area's blueprints, listeners and commands."""
    # As in _init_database: the areas and the composition modules load when an app is built.
    from nous import cli, demo, errors, inputs, telemetry, web
    from nous.openapi import bp as openapi_bp

    telemetry.init_app(app)
    inputs.init_app(app)  # before any blueprint: the bounded <int:...> converter
    web.init_app(app)
    errors.init_app(app)
    app.register_blueprint(openapi_bp)
    for area in _areas():
        module = importlib.import_module(f"nous.{area}")
        if hasattr(module, "init_app"):
            module.init_app(app)
    demo.init_app(app)  # `flask nous seed-demo`: every area's demo data together
    cli.init_app(app)
