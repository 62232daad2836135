"""Changing testers: add, update role and notes, activate or deactivate, remove; each audited."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError

from nous import events
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.flags.service import overrides_changed
from nous.testers.models import BetaUser
from nous.testers.service.common import (
    TesterError,
    announce,
    check_notes,
    check_role,
    check_seen,
    get_by_email,
    normalize_email,
    require,
    version_of,
)

log = logging.getLogger("nous.testers")


def add(email: Any, *, actor: str, role: Any = "TESTER", notes: Any = "", ip: str = "", source: str = "admin",
        commit: bool = True) -> BetaUser:
    """A new tester (not yet invited). Raises TesterError for a bad or already known address."""
    address = normalize_email(email)
    role = check_role(role)
    notes = check_notes(notes)
    if get_by_email(address) is not None:
        raise TesterError(f"{address} is already a tester", "email", status=409)
    user = BetaUser(id=uuid.uuid4(), email=address, role=role, notes=notes, source=source, flag_set={},
                    created_at=utcnow())
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise TesterError(f"{address} is already a tester", "email", status=409) from None
    audit.record(actor, "testers.add", address, None, user.as_dict(), ip=ip, commit=False)
    if commit:
        db.session.commit()
        announce(user.id, "added", version_of(user))
    return user


def update(user_id: Any, *, actor: str, role: Any = None, notes: Any = None, ip: str = "",
           expected_version: str | None = None) -> BetaUser:
    """Change the role and/or notes; audited with the old and new values. Refused (409) when the tester
    changed since `expected_version` (see version_of), unless nothing would change."""
    user = require(user_id)
    seen = version_of(user)
    before = {"role": user.role, "notes": user.notes}
    if role is not None:
        user.role = check_role(role)
    if notes is not None:
        user.notes = check_notes(notes)
    after = {"role": user.role, "notes": user.notes}
    if after != before:
        if expected_version and expected_version != seen:
            db.session.rollback()
            check_seen(require(user_id), expected_version)
        changed = [k for k in after if after[k] != before[k]]
        audit.record(actor, "testers.update", user.email, {k: before[k] for k in changed},
                     {k: after[k] for k in changed}, ip=ip, commit=False)
        db.session.commit()
        announce(user.id, "updated", version_of(user))
    return user


def set_active(user_id: Any, active: bool, *, actor: str, ip: str = "",
               expected_version: str | None = None) -> BetaUser:
    """Activate or deactivate as asked; asking for the state it has changes nothing and succeeds, the other
    one on a view older than `expected_version` is refused (409)."""
    user = require(user_id)
    if user.is_active != active:
        check_seen(user, expected_version)
        audit.record(actor, "testers.reactivate" if active else "testers.deactivate", user.email,
                     {"is_active": user.is_active}, {"is_active": active}, ip=ip, commit=False)
        user.is_active = active
        db.session.commit()
        announce(user.id, "reactivated" if active else "deactivated", version_of(user))
    return user


def remove(user_id: Any, *, actor: str, ip: str = "") -> str:
    """Delete the tester; their feedback stays (its tester link is cleared), the files they sent with it
    go (`tester.removing`: each audited by the area that keeps them). Returns the email."""
    user = require(user_id)
    email = user.email
    had_overrides = bool(user.flag_set)
    audit.record(actor, "testers.remove", email, user.as_dict(), None, ip=ip, commit=False)
    user_id = user.id
    try:
        committed = [done for _, done in events.tester_removing.send(None, tester_id=user_id, actor=actor, ip=ip)
                     if done is not None]
        db.session.delete(user)
        db.session.commit()
    except Exception:
        db.session.rollback()  # nothing of the removal stays, what a listener deleted included
        raise
    announce(user_id, "removed")
    if had_overrides:
        overrides_changed()
    for done in committed:  # what listeners do once it stands (tell pages): never worth failing the removal
        try:
            done()
        except Exception:
            log.exception("after removing a tester", extra={"tester": str(user_id)})
    return email
