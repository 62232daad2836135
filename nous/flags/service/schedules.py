"""Schedules: a flag's enable-at / disable-at times, carried out by the recurring job
`flags.apply_schedules` (nous.flags.tasks, every minute)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from nous.clock import aware, utcnow
from nous.extensions import db
from nous.flags.models import Flag, FlagState
from nous.flags.service.versions import announce, get_flag, record

SCHEDULE_ACTOR = "schedule:flags"


def apply_schedules(now: datetime | None = None) -> list[str]:
    """Carry out every enable-at / disable-at that is due, in every environment; returns the keys that
    changed (a key once per environment it changed in).

    Each due time is cleared once applied; when both are due the later one decides. Archived flags
    have no schedule."""
    now = now or utcnow()
    due = list(db.session.execute(select(Flag.key, FlagState.environment).join(FlagState).where(
        Flag.archived.is_(False), (FlagState.enable_at <= now) | (FlagState.disable_at <= now))
        .order_by(Flag.key, FlagState.environment)))
    changed = []
    for key, environment in due:
        flag = get_flag(key, for_update=True, environment=environment)
        before = flag.state()
        steps = sorted((t, on) for t, on in ((aware(flag.enable_at), True), (aware(flag.disable_at), False))
                       if t is not None and t <= now)
        if not steps:
            continue
        for _when, on in steps:
            flag.enabled = on
            if on:
                flag.enable_at = None
            else:
                flag.disable_at = None
        notes = ", ".join(f"{'enable' if on else 'disable'} at {when.isoformat()}" for when, on in steps)
        record(flag, "schedule", before, SCHEDULE_ACTOR, "", note=notes)
        db.session.commit()
        changed.append(key)
    if changed:
        announce()
    return changed
