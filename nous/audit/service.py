"""Write and read the audit log. Callers pass the actor and IP: no `request` in here."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db

CLI_ACTOR_PREFIX = "cli:"


def record(actor: str, action: str, target: str = "", before: Any = None, after: Any = None,
           ip: str = "", commit: bool = True) -> AuditEvent:
    event = AuditEvent(actor=actor[:320], action=action[:100], target=str(target)[:400],
                       before=before, after=after, ip=(ip or "")[:64])
    db.session.add(event)
    if commit:
        db.session.commit()
    return event


def query(actor: str = "", action: str = "", target: str = "", since: datetime | None = None,
          until: datetime | None = None, before_id: int | None = None, limit: int = 50) -> list[AuditEvent]:
    """Newest first; `before_id` pages backwards (keyset)."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if actor:
        stmt = stmt.where(AuditEvent.actor.ilike(f"%{actor}%"))
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action))
    if target:
        stmt = stmt.where(AuditEvent.target.ilike(f"%{target}%"))
    if since:
        stmt = stmt.where(AuditEvent.at >= since)
    if until:
        stmt = stmt.where(AuditEvent.at < until)
    if before_id:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(db.session.scalars(stmt))


def iter_all(**filters: Any) -> Iterator[AuditEvent]:
    """Every matching event, newest first, in pages (for exports)."""
    before_id = None
    while True:
        page = query(before_id=before_id, limit=500, **filters)
        yield from page
        if len(page) < 500:
            return
        before_id = page[-1].id
