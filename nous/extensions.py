"""Extensions, created once here and bound to the application in `create_app()`."""

from __future__ import annotations

import redis
from flask import Flask, current_app
from flask_caching import Cache
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sock import Sock
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import MetaData

# Constraint names fixed so Alembic migrations are the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING))
migrate = Migrate()
login = LoginManager()
cache = Cache()
sock = Sock()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


def init_redis(app: Flask) -> None:
    """One connection pool per process, from `REDIS_URL` (or the embedded server's socket)."""
    app.extensions["nous.redis"] = redis.Redis.from_url(
        app.config["REDIS_URL"], socket_timeout=2, socket_connect_timeout=1, health_check_interval=30
    )


def get_redis() -> redis.Redis:
    return current_app.extensions["nous.redis"]
