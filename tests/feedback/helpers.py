"""Helpers shared by the testers and feedback tests (fixtures: tests/conftest.py, tests/feedback/conftest.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback

GOOD = {"rating": 4, "message": "The calendar view is lovely", "category": "praise"}
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
# Testers whose feedback is sent with the flag of `email_flag()` on, and with it off.
ON = ["ada@example.com", "grace@example.com", "hedy@example.com"]
OFF = ["bob@example.com", "carl@example.com"]


def set_setting(app: Any, key: str, value: Any) -> None:
    from nous.settings import service as settings

    with app.app_context():
        settings.set_value(key, value, actor="test")


def outbox(app: Any) -> list[Any]:
    from nous.email.models import OutboxMessage

    with app.app_context():
        rows = list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows


def rows(app: Any) -> list[Feedback]:
    """Every stored feedback, oldest first, detached from the session."""
    with app.app_context():
        found = list(db.session.scalars(select(Feedback).order_by(Feedback.id)))
        db.session.expunge_all()
        return found


def count(app: Any, model: Any = Feedback) -> int:
    """How many rows `model` has."""
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def current(feedback_id: int) -> Feedback | None:
    """The feedback as stored now (inside an app context)."""
    db.session.rollback()
    return feedback.get(feedback_id)


def make(app: Any, n: int = 1, **fields: Any) -> list[int]:
    """Rows inserted directly, one minute apart (newest last), for precise ordering."""
    with app.app_context():
        rows = []
        for i in range(n):
            values = {"rating": 3, "message": f"message {i}", "category": "idea", "status": "new",
                      "created_at": T0 + timedelta(minutes=i), "updated_at": T0, **fields}
            if callable(values.get("message")):
                values["message"] = values["message"](i)
            rows.append(Feedback(**values))
        db.session.add_all(rows)
        db.session.commit()
        return [r.id for r in rows]


def ids(html: bytes) -> list[int]:
    """The feedback ids of the rows in a console list."""
    return [int(x) for x in re.findall(rb'<tr id="feedback-(\d+)"', html)]


def email_flag(key: str = "new-calendar", emails: list[str] = ON, **fields: Any) -> dict[str, Any]:
    """A flag on for the testers whose email property is one of `emails` (so on/off depends on the context)."""
    return {"key": key, "enabled": True, "strategies": [{"name": "default", "parameters": {}, "constraints": [
        {"contextName": "email", "operator": "IN", "values": emails}]}], **fields}


def create_flag(data: dict[str, Any]) -> Any:
    """A flag made through the flags service (inside an app context)."""
    from nous.flags import service

    return service.create_flag(data, actor="test@nous.test", ip="127.0.0.1")
