"""Segments: named lists of constraints that strategies share (checked like a strategy's constraints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.flags.models import ID_MAX, Flag, FlagState, Segment
from nous.flags.service.errors import FlagConflict, FlagError
from nous.flags.service.validation import DESCRIPTION_MAX, constraint_problems
from nous.flags.service.versions import commit


def list_segments() -> list[Segment]:
    return list(db.session.scalars(select(Segment).order_by(Segment.name)))


def _segment_users(segment_id: int) -> list[str]:
    """The flags whose strategies use the segment, in any environment."""
    users: list[str] = []
    for key, strategies in db.session.execute(select(Flag.key, FlagState.strategies).join(FlagState)
                                              .where(Flag.archived.is_(False)).order_by(Flag.key)):
        if key in users:
            continue
        for s in strategies or []:
            if isinstance(s, Mapping) and any(str(x) == str(segment_id) for x in s.get("segments") or []):
                users.append(key)
                break
    return users


def save_segment(segment_id: int | None, name: Any, constraints: Any, *, description: Any = "", actor: str,
                 ip: str = "") -> Segment:
    """Create (id None) or change a segment; its constraints are checked like a strategy's."""
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "required, at most 200 characters"
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        errors["description"] = f"text of at most {DESCRIPTION_MAX} characters"
    if not isinstance(constraints, list):
        errors["constraints"] = "must be a list"
    else:
        constraint_problems(constraints, errors)
    if errors:
        raise FlagError("The segment is not valid.", errors, status=422)
    name = name.strip()
    taken = db.session.scalar(select(Segment.id).where(Segment.name == name))
    if taken is not None and taken != segment_id:
        raise FlagError(f"A segment named {name} already exists.", {"name": "already used"}, status=409)
    if segment_id is None:
        row = Segment(id=(db.session.scalar(select(func.max(Segment.id))) or 0) + 1, name=name,
                      description=description, constraints=constraints, created_at=utcnow(), updated_at=utcnow())
        db.session.add(row)
        before = None
    else:
        row = db.session.get(Segment, segment_id) if 1 <= segment_id <= ID_MAX else None
        if row is None:
            raise FlagError(f"no segment {segment_id}", status=404)
        before = row.as_dict()
        row.name, row.description, row.constraints, row.updated_at = name, description, constraints, utcnow()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagConflict("Another segment was saved at the same time; try again.") from None
    audit.record(actor, "flags.segment", name, before, row.as_dict(), ip=ip, commit=False)
    commit()
    return row


def delete_segment(segment_id: int, *, actor: str, ip: str = "") -> None:
    row = db.session.get(Segment, segment_id) if 1 <= segment_id <= ID_MAX else None
    if row is None:
        raise FlagError(f"no segment {segment_id}", status=404)
    users = _segment_users(segment_id)
    if users:
        raise FlagError(f"Segment {row.name} is used by {', '.join(users)}; remove it there first.",
                        {"segment": "in use"}, status=409)
    audit.record(actor, "flags.segment.delete", row.name, row.as_dict(), None, ip=ip, commit=False)
    db.session.delete(row)
    commit()
