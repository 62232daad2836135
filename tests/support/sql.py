"""What the app asks the database: for tests that count statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def statements(app: Any = None) -> Iterator[list[str]]:
    """Every SQL statement this process sends through the app's engine while the block runs (the list grows
    as they are sent). Inside an app context, or given `app`."""
    from nous.extensions import db

    if app is not None:
        with app.app_context():
            engine = db.engine
    else:
        engine = db.engine
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
