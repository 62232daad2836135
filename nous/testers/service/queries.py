"""Finding testers: search and page by email, export, and the feedback each sent (counts, latest)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select

from nous.extensions import db
from nous.testers.models import ROLES, BetaUser, tester_feedback
from nous.text import clean_text

EXPORT_HEADER = ["id", "email", "role", "is_active", "invite_state", "source", "created_at", "invited_at",
                 "invite_sent_count", "joined_at", "last_seen_at", "notes", "flag_set"]


STATES = ("active", "inactive", "joined", "invited", "not-invited")


@dataclass
class Page:
    users: list[BetaUser]
    next_after: str | None
    total: int


def _filtered(q: str = "", role: str = "", state: str = "") -> Any:
    stmt = select(BetaUser)
    q = clean_text(q).strip()[:200]
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(BetaUser.email).like(like, escape="\\"),
                              func.lower(BetaUser.notes).like(like, escape="\\")))
    if role.upper() in ROLES:
        stmt = stmt.where(BetaUser.role == role.upper())
    if state == "active":
        stmt = stmt.where(BetaUser.is_active.is_(True))
    elif state == "inactive":
        stmt = stmt.where(BetaUser.is_active.is_(False))
    elif state == "joined":
        stmt = stmt.where(BetaUser.joined_at.is_not(None))
    elif state == "invited":
        stmt = stmt.where(BetaUser.invited_at.is_not(None), BetaUser.joined_at.is_(None))
    elif state == "not-invited":
        stmt = stmt.where(BetaUser.invited_at.is_(None), BetaUser.joined_at.is_(None))
    return stmt


def search(q: str = "", role: str = "", state: str = "", after: str = "", limit: int = 50,
           count: bool = True) -> Page:
    """Testers ordered by email; `after` is the last email of the previous page (keyset). `total` counts
    every match (one more pass over them all), unless `count` is false (then it is -1)."""
    stmt = _filtered(q, role, state)
    total = (db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0) if count else -1
    if after:
        stmt = stmt.where(func.lower(BetaUser.email) > clean_text(after).lower())
    users = list(db.session.scalars(stmt.order_by(func.lower(BetaUser.email)).limit(limit + 1)))
    more = len(users) > limit
    users = users[:limit]
    return Page(users, users[-1].email if more and users else None, total)


def iter_filtered(q: str = "", role: str = "", state: str = "") -> Iterator[BetaUser]:
    after = ""
    while True:
        page = search(q, role, state, after=after, limit=500, count=False)
        yield from page.users
        if not page.next_after:
            return
        after = page.next_after


def export_rows(q: str = "", role: str = "", state: str = "") -> Iterator[list[Any]]:
    for user in iter_filtered(q, role, state):
        d = user.as_dict()
        yield [d[k] if k != "flag_set" else _json(d[k]) for k in EXPORT_HEADER]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def feedback_counts(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Feedback per tester for one page of testers (one grouped query on an indexed column)."""
    if not user_ids:
        return {}
    fb = tester_feedback.c
    rows = db.session.execute(select(fb.tester_id, func.count()).where(fb.tester_id.in_(user_ids))
                              .group_by(fb.tester_id))
    return {tid: n for tid, n in rows}


def recent_feedback(user_id: uuid.UUID, limit: int = 10) -> list[Any]:
    """The tester's latest feedback, newest first: rows of (id, rating, message, created_at)."""
    fb = tester_feedback.c
    return list(db.session.execute(select(fb.id, fb.rating, fb.message, fb.created_at).where(fb.tester_id == user_id)
                                   .order_by(fb.created_at.desc(), fb.id.desc()).limit(limit)))
