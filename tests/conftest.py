"""Fixtures: one database and one Redis per test run, real ones.

With TEST_DATABASE_URL / TEST_REDIS_URL set (CI: PostgreSQL and Redis on the machine) a fresh
database is created on that server for the run and dropped after it, and the Redis database named
in the URL is flushed. Unset, the run uses a SQLite file and an embedded Redis of its own — the same
default `scripts/run` uses. Either way the schema comes from the Alembic migrations.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis as redis_lib
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(tempfile.mkdtemp(prefix="nous-test-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _create_database(server_url: str) -> tuple[str, str]:
    """A fresh PostgreSQL database next to `server_url`'s; returns (url, name)."""
    url = make_url(server_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    name = f"nous_test_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def _drop_database(server_url: str, name: str) -> None:
    url = make_url(server_url)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+psycopg")
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _setup_environment() -> dict[str, object]:
    state: dict[str, object] = {}
    os.environ.update({
        "NOUS_ENV": "test",
        "NOUS_INSTANCE_PATH": str(RUN_DIR / "instance"),
        "SESSION_SECRET": "test-secret-" + "x" * 40,
        "NOUS_ADMIN_EMAILS": "admin@nous.test",
        "LOG_LEVEL": "WARNING",
    })
    for name in ("HEALTH_TOKEN", "EMAIL_HOST", "PROXY_COUNT", "SYSTEM_BASE_URL", "PROMETHEUS_MULTIPROC_DIR"):
        os.environ.pop(name, None)
    server = os.environ.get("TEST_DATABASE_URL", "").strip()
    if server:
        url, name = _create_database(server)
        state["pg"] = (server, name)
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{RUN_DIR / 'nous-test.db'}"
    redis_url = os.environ.get("TEST_REDIS_URL", "").strip()
    if redis_url:
        redis_lib.Redis.from_url(redis_url).flushdb()
    else:
        from nous import embedded

        state["redis_proc"] = embedded.start(RUN_DIR / "redis", daemonize=False)
        redis_url = embedded.socket_url(RUN_DIR / "redis" / embedded.SOCKET_NAME)
    os.environ["REDIS_URL"] = redis_url
    return state


_STATE = _setup_environment()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    proc = _STATE.get("redis_proc")
    if proc is not None:
        proc.terminate()  # type: ignore[attr-defined]
        proc.wait(timeout=10)  # type: ignore[attr-defined]
    if "pg" in _STATE:
        from nous.extensions import db

        if _APP is not None:
            with _APP.app_context():
                db.engine.dispose()
        _drop_database(*_STATE["pg"])  # type: ignore[misc]
    shutil.rmtree(RUN_DIR, ignore_errors=True)


def pytest_report_header(config: pytest.Config) -> str:
    database = make_url(os.environ["DATABASE_URL"]).drivername
    return f"nous: database {database}, redis {os.environ['REDIS_URL'].split(':')[0]}"


_APP = None


@pytest.fixture(scope="session")
def app():
    global _APP
    from flask_migrate import upgrade

    from nous import create_app

    application = create_app()
    with application.app_context():
        upgrade(revision="heads")
    _APP = application
    return application


def _clean(application) -> None:
    from nous.extensions import db, get_redis

    with application.app_context():
        db.session.remove()
        existing = set(inspect(db.engine).get_table_names())
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name in existing:
                    conn.execute(table.delete())
        get_redis().flushdb()
        from nous.feedback import service as feedback

        feedback.invalidate()  # this process's cached figures of the rows just deleted
    application.extensions.pop("nous.settings", None)
    # This process's copy of the sign-outs follows a version in Redis; the rows were deleted behind its back.
    # A copy loaded while a test had emptied Redis (version None) would never see that they went, and would
    # refuse every new session as signed out everywhere for the rest of the run.
    sessions = application.extensions.get("nous.admin.sessions")
    if sessions is not None:
        sessions.reset()
    from nous.dbmonitor.monitor import STATS as query_stats
    from nous.health import service
    from nous.telemetry.requests import STATS as request_stats

    query_stats.reset()
    request_stats.reset()

    service._cache.clear()
    service.DRAINING.clear()


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test that uses the app starts with empty tables and an empty Redis database."""
    yield
    if "app" in request.fixturenames:
        _clean(request.getfixturevalue("app"))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def redis_conn(app):
    from nous.extensions import get_redis

    with app.app_context():
        return get_redis()


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run `flask …` in a real subprocess of the project, as a maintainer would."""
    return subprocess.run(
        [sys.executable, "-m", "flask", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout,
        env={**os.environ, **(env or {})},
    )


ADMIN_EMAIL = "admin@nous.test"
CSRF = "test-csrf-token"


def signed_in_client(app):
    """A test client of `app` signed in as the admin, sending the CSRF header on every request."""
    import time

    c = app.test_client()
    with c.session_transaction() as s:
        now = int(time.time())
        s.update({"_user_id": ADMIN_EMAIL, "_fresh": True, "signed_in_at": now, "seen_at": now, "_csrf": CSRF})
    c.environ_base["HTTP_X_CSRF_TOKEN"] = CSRF
    return c


@pytest.fixture
def admin_client(app):
    """A test client signed in as the admin, sending the CSRF header on every request."""
    return signed_in_client(app)
