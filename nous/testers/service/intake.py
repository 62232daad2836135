"""What feedback intake needs of testers, on its hot path: the tester of an address (created when
unknown), id subqueries, and a last-seen time written at most once a minute."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.testers.models import BetaUser

SEEN_EVERY = timedelta(seconds=60)  # last_seen_at is rewritten at most once a minute per tester


_T = BetaUser.__table__.c  # plain Core columns for the public API's hot path (no ORM compilation)


def tester_for_feedback(email: str, *, actor: str = "api:feedback") -> uuid.UUID:
    """The id of the tester with this (valid, lower-case) address, created when unknown (not invited)."""
    stmt = select(_T.id).where(func.lower(_T.email) == email)
    found = db.session.scalar(stmt)
    if found is not None:
        return found
    user = BetaUser(id=uuid.uuid4(), email=email, role="TESTER", source="feedback", flag_set={}, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:  # created by a concurrent request a moment ago
        return db.session.scalar(stmt)  # type: ignore[return-value]
    audit.record(actor, "testers.add", email, None, {"email": email, "role": "TESTER", "source": "feedback"},
                 commit=False)
    return user.id


def tester_subquery_for(by: str, ref: Any) -> Any:
    """A scalar subquery for the id of the tester named by "id" or lower-case "email", with `ref` a value or
    a bound parameter (for a statement built once); None for "" (no tester)."""
    if by == "id":
        return select(_T.id).where(_T.id == ref).scalar_subquery()
    if by == "email":
        return select(_T.id).where(func.lower(_T.email) == ref).scalar_subquery()
    return None


class _SeenRecently:
    """Testers this process marked as seen, and when: a cache that is safe to lose, so a tester who
    sends several notes in a minute costs one UPDATE, not one per note."""

    def __init__(self, size: int = 10_000) -> None:
        self.lock = threading.Lock()
        self.size = size
        self.when: dict[uuid.UUID, datetime] = {}

    def due(self, user_id: uuid.UUID, now: datetime) -> bool:
        with self.lock:
            last = self.when.get(user_id)
            if last is not None and timedelta(0) <= now - last < SEEN_EVERY:
                return False
            if len(self.when) >= self.size:
                self.when.clear()
            self.when[user_id] = now
            return True


_seen = _SeenRecently()


def touch_seen(user_id: uuid.UUID, now: datetime | None = None, conn: Any = None) -> None:
    """Record activity at most once a minute per tester (keeps hot rows cool and round trips few).
    `conn`: a Core connection to run it on (the session's by default)."""
    now = now or utcnow()
    if not _seen.due(user_id, now):
        return
    (conn or db.session.connection()).execute(
        BetaUser.__table__.update()
        .where(_T.id == user_id, or_(_T.last_seen_at.is_(None), _T.last_seen_at < now - SEEN_EVERY))
        .values(last_seen_at=now))
