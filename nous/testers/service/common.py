"""What every part of the testers service shares: the refusals, the checks of an address, a role and
notes, finding a tester, the version a page saw, and telling live viewers of a change."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from nous import events
from nous.audit import service as audit
from nous.clock import isoformat, utcnow
from nous.extensions import db
from nous.inputs import as_uuid
from nous.testers.models import ROLES, BetaUser
from nous.text import clean_text, is_email

MAX_NOTES = 5000


class TesterError(ValueError):
    """A request about testers that cannot be carried out; `message` says why, for people."""

    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class TesterConflict(TesterError):
    """A change decided on an older state of the tester than the stored one: `current` is the tester
    now, `changes` the latest audit entries about them (oldest first)."""

    def __init__(self, message: str, current: BetaUser, changes: list[Any]) -> None:
        super().__init__(message, "version", status=409)
        self.current = current
        self.changes = changes


class EmailUnavailable(TesterError):
    """The email layer (`nous.email.service.queue_email`) refused the message or could not take it."""


class InviteError(Exception):
    """An invite link that cannot be used: 404 unknown, 410 used up or withdrawn."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def normalize_email(raw: Any) -> str:
    """The address in lower case, or TesterError naming what is wrong with it."""
    if not isinstance(raw, str):
        raise TesterError("must be an email address", "email")
    email = raw.strip()
    if not email:
        raise TesterError("is required", "email")
    if not is_email(email):
        raise TesterError(f"{email[:80]!r} is not a valid email address", "email")
    return email.lower()


def check_role(raw: Any) -> str:
    role = str(raw or "TESTER").strip().upper()
    if role not in ROLES:
        raise TesterError(f"role must be one of {', '.join(ROLES)}", "role")
    return role


def check_notes(raw: Any) -> str:
    notes = clean_text(str(raw or "")).strip()
    if len(notes) > MAX_NOTES:
        raise TesterError(f"notes must be at most {MAX_NOTES} characters", "notes")
    return notes


def get(user_id: Any) -> BetaUser | None:
    uid = as_uuid(user_id)
    return db.session.get(BetaUser, uid) if uid else None


def get_by_email(email: str) -> BetaUser | None:
    return db.session.scalars(select(BetaUser).where(func.lower(BetaUser.email) == email.strip().lower())).first()


def require(user_id: Any) -> BetaUser:
    user = get(user_id)
    if user is None:
        raise TesterError("no such tester", status=404)
    return user


def version_of(user: BetaUser) -> str:
    """What a page sends back to say which state of the tester it showed: a digest of everything an
    admin can change or trigger (role, notes, active, invite and join, overrides; not `last_seen_at`)."""
    state = {"role": user.role, "notes": user.notes, "active": bool(user.is_active),
             "invited": isoformat(user.invited_at), "sent": user.invite_sent_count or 0,
             "joined": isoformat(user.joined_at),
             "flags": dict(sorted((user.flag_set or {}).items()))}
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_seen(user: BetaUser, seen: str | None) -> None:
    """Refuse (409) a change decided on an older state of the tester than the stored one."""
    if seen is None or seen == "" or seen == version_of(user):
        return
    changes = [e for e in audit.query(target=user.email, limit=5) if e.target == user.email]
    raise TesterConflict(f"{user.email} changed since you opened the page; nothing was changed. "
                         "It is shown as it is now.", user, list(reversed(changes)))


def announce(user_id: Any, action: str, version: str | None = None) -> None:
    """Tell live viewers (topic `testers`, after the commit): every view of the tester follows."""
    events.tester_changed.send(None, event={"id": str(user_id) if user_id is not None else None, "action": action,
                                            "version": version, "at": utcnow().isoformat()})


def email_refused(what: str, to: str, exc: Exception) -> EmailUnavailable:
    """The error to show when the email layer would not take a message: 422 for a message it calls
    invalid (its EmailError is a ValueError: address, template, context), 503 for anything else."""
    current_app.logger.warning("%s email not queued for %s: %s", what, to, exc)
    if isinstance(exc, ValueError):
        return EmailUnavailable(f"the {what} email was refused: {exc}", status=422)
    return EmailUnavailable(f"the {what} email could not be queued: {exc}", status=503)


