"""Flags are recorded with feedback while Redis is down: the flag cache reads the database instead, and the
feedback is stored with the flags its tester has (never a 500)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.feedback.helpers import ON, email_flag
from tests.feedback.test_redis_down import second_app, throwaway_redis  # noqa: F401 - fixtures used below

API = "/api/feedback"


def test_flags_are_recorded_while_redis_is_down(app, request: pytest.FixtureRequest) -> None:
    from nous.extensions import db
    from nous.feedback.models import FeedbackFlag
    from nous.flags import service

    other = request.getfixturevalue("second_app")
    _, server = request.getfixturevalue("throwaway_redis")
    with other.app_context():
        service.create_flag(email_flag(), actor="test@nous.test")
        db.session.commit()
    server.terminate()
    server.wait(timeout=10)
    client = other.test_client()
    on = client.post(API, json={"rating": 5, "message": "on while down", "category": "idea", "email": ON[0]})
    off = client.post(API, json={"rating": 2, "message": "off while down", "category": "idea",
                                 "email": "zed@example.com"})
    assert on.status_code == off.status_code == 201
    with other.app_context():
        got = dict(db.session.execute(select(FeedbackFlag.feedback_id, FeedbackFlag.enabled)
                                      .where(FeedbackFlag.flag_key == "new-calendar")).all())
        db.session.remove()
    assert got == {on.get_json()["id"]: True, off.get_json()["id"]: False}
