"""Helpers shared by the testers and feedback tests (fixtures: tests/conftest.py, tests/feedback/conftest.py)."""

from __future__ import annotations

from typing import Any

GOOD = {"rating": 4, "message": "The calendar view is lovely", "category": "praise"}


def set_setting(app: Any, key: str, value: Any) -> None:
    from nous.settings import service as settings

    with app.app_context():
        settings.set_value(key, value, actor="test")


def outbox(app: Any) -> list[Any]:
    from nous.email.models import OutboxMessage
    from nous.extensions import db

    with app.app_context():
        rows = list(db.session.scalars(db.select(OutboxMessage).order_by(OutboxMessage.id)))
        db.session.expunge_all()
        return rows
