"""PostgreSQL connections taken from the pool (nous.dbping): a quiet one is used without a ping; one the
server closed (a terminated backend, a restart) is pinged, found gone and replaced before the statement
that needed it, with every connection older than it. A throwaway server of its own."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from sqlalchemy import text

from nous.extensions import db
from tests.support.live import ThrowawayPostgres, another_app


def backend_pid() -> int:
    pid = db.session.scalar(text("SELECT pg_backend_pid()"))
    db.session.remove()  # back to the pool
    return pid


def counting_pings(engine: Any) -> list[bool]:
    """Each ping the pool's checks send, True when the connection answered it."""
    dialect, pings = engine.dialect, []
    real = dialect.do_ping

    def ping(dbapi_connection: Any) -> bool:
        try:
            result = real(dbapi_connection)
        except Exception:
            pings.append(False)
            raise
        pings.append(True)
        return result

    dialect.do_ping = ping  # the instance's: the check looks it up on each use
    return pings


def test_quiet_connections_go_unpinged_and_closed_ones_are_replaced_before_use() -> None:
    server = ThrowawayPostgres()
    try:
        with another_app(SQLALCHEMY_DATABASE_URI=server.url, DB_POOL_PRE_PING=True, SQLALCHEMY_ENGINE_OPTIONS={
                "pool_pre_ping": False, "pool_size": 5, "connect_args": {"connect_timeout": 2}}) as own:
            with own.app_context():
                pings = counting_pings(db.engine)
                first = backend_pid()
                assert [backend_pid() for _ in range(5)] == [first] * 5
                assert pings == []  # nothing came on the connection between uses: no round trip spent on it

                with psycopg.connect(server.url.replace("+psycopg", ""), autocommit=True) as admin:
                    admin.execute("SELECT pg_terminate_backend(%s)", (first,))
                    deadline = time.monotonic() + 10
                    while admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (first,)).fetchone()[0]:
                        assert time.monotonic() < deadline
                        time.sleep(0.05)
                second = backend_pid()  # no error: the closed connection was found and replaced
                assert second != first and pings == [False]

                # Two connections in the pool, then a restart: the first checkout finds its connection gone
                # and the pool drops the other one with it (no second ping, no error).
                with db.engine.connect() as a, db.engine.connect() as b:
                    held = {a.scalar(text("SELECT pg_backend_pid()")), b.scalar(text("SELECT pg_backend_pid()"))}
                server.stop()
                server.start()
                with db.engine.connect() as a, db.engine.connect() as b:
                    after = {a.scalar(text("SELECT pg_backend_pid()")), b.scalar(text("SELECT pg_backend_pid()"))}
                assert len(after) == 2 and not after & held
                assert pings == [False, False]
                assert backend_pid() in after and pings == [False, False]  # quiet again
    finally:
        server.remove()


def test_the_app_pings_postgresql_connections_this_way_unless_told_otherwise(tmp_path) -> None:
    from config import load_config

    env = {"NOUS_INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql://db.example/nous"}
    checked = load_config(env)
    assert checked["DB_POOL_PRE_PING"] is True and checked["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
    unchecked = load_config({**env, "DB_POOL_PRE_PING": "false"})
    assert unchecked["DB_POOL_PRE_PING"] is False and unchecked["SQLALCHEMY_ENGINE_OPTIONS"]["pool_pre_ping"] is False
