"""PostgreSQL connections checked before use, without a round trip when nothing says they need one.

SQLAlchemy's `pool_pre_ping` sends a statement on every checkout: one round trip more for every request
that uses the database, whether or not anything happened to the connection while it lay in the pool.
Here a connection taken from the pool is first asked of its socket (a poll that does not wait). One that
lay quiet has nothing to read. One the server closed (a restart, a terminated backend, an idle timeout)
has the end of its stream, or the server's last message, waiting: that one, and any the socket cannot
be asked of, is pinged as `pool_pre_ping` would, and replaced when the ping fails, with every
connection older than it (what SQLAlchemy does when a pre-ping fails: the server was probably restarted).

What a poll cannot see is a peer gone without a word (a host that died, a link that dropped): the first
statement finds it and fails, as a ping would have after waiting as long for TCP to give up.
Installed by create_app for PostgreSQL when `DB_POOL_PRE_PING` is on (config.py).
"""

from __future__ import annotations

import select
from typing import Any

from psycopg import pq
from sqlalchemy import event, exc
from sqlalchemy.engine import Engine


def install(engine: Engine) -> None:
    dialect = engine.dialect

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if quiet(dbapi_connection):
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as err:
            if dialect.is_disconnect(err, dbapi_connection, None):
                raise exc.InvalidatePoolError("the server closed the connection while it was in the pool") from err
            raise


def quiet(dbapi_connection: Any) -> bool:
    """The psycopg connection is open, outside any transaction, and nothing has come on it since it was
    last used (False when that cannot be told)."""
    try:
        pgconn = dbapi_connection.pgconn
        if (dbapi_connection.closed or pgconn.status != pq.ConnStatus.OK
                or pgconn.transaction_status != pq.TransactionStatus.IDLE):
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - whatever it is, the ping decides
        return False
