"""What feedback intake needs of testers: the tester of an address, last seen at most once a minute."""

from __future__ import annotations

from datetime import UTC

from nous.extensions import db
from nous.testers import service as testers


def test_tester_for_feedback_creates_once_then_finds(ctx) -> None:
    first = testers.tester_for_feedback("new@example.com")
    db.session.commit()
    assert testers.tester_for_feedback("new@example.com") == first
    user = testers.get(first)
    assert (user.role, user.source, user.invited_at, user.joined_at) == ("TESTER", "feedback", None, None)


def test_touch_seen_writes_at_most_once_a_minute(ctx) -> None:
    from datetime import datetime, timedelta

    user = testers.add("ada@example.com", actor="a")
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    testers.touch_seen(user.id, t0)
    testers.touch_seen(user.id, t0 + timedelta(seconds=30))
    db.session.commit()
    db.session.refresh(user)
    assert user.last_seen_at.replace(tzinfo=UTC) == t0
    testers.touch_seen(user.id, t0 + timedelta(seconds=61))
    db.session.commit()
    db.session.refresh(user)
    assert user.last_seen_at.replace(tzinfo=UTC) == t0 + timedelta(seconds=61)
