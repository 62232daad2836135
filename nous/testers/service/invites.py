"""Invitations: the invite email (and resends), the join link, and accepting it."""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update as sql_update

from nous import events
from nous.audit import service as audit
from nous.clock import isoformat, utcnow
from nous.email.service import queue_email
from nous.extensions import db
from nous.testers import JOIN_PATH
from nous.testers.models import BetaUser
from nous.testers.service.common import InviteError, TesterError, announce, email_refused, require, version_of

log = logging.getLogger("nous.testers")


_CODE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def join_url(user: BetaUser) -> str:
    return current_app.config["SYSTEM_BASE_URL"].rstrip("/") + JOIN_PATH.format(code=user.invite_code)


def invite(user_id: Any, *, actor: str, ip: str = "") -> BetaUser:
    """Send the invite email (first time) or send it again (resend). Raises TesterError."""
    user = require(user_id)
    if not user.is_active:
        raise TesterError(f"{user.email} is deactivated; reactivate before inviting", status=409)
    if user.joined_at is not None:
        raise TesterError(f"{user.email} has already joined", status=409)
    resend = user.invited_at is not None
    before = {"invited_at": isoformat(user.invited_at), "invite_sent_count": user.invite_sent_count}
    user.invited_at = utcnow()
    user.invite_sent_count = (user.invite_sent_count or 0) + 1
    after = {"invited_at": isoformat(user.invited_at), "invite_sent_count": user.invite_sent_count}
    audit.record(actor, "testers.resend" if resend else "testers.invite", user.email, before, after, ip=ip,
                 commit=False)
    url = join_url(user)
    context = {"invite_url": url, "join_url": url, "email": user.email, "invite_code": user.invite_code,
               "role": user.role, "resend": resend}
    try:
        db.session.flush()
        queue_email(user.email, "invite", context, actor=actor)
        db.session.commit()
    except Exception as exc:  # the email layer refused: nothing is recorded as sent  # noqa: BLE001
        db.session.rollback()
        raise email_refused("invite", user.email, exc) from None
    announce(user.id, "invited", version_of(user))
    return user


def invite_for_code(code: str) -> BetaUser:
    """The tester an invite code belongs to, if it can still be accepted; InviteError otherwise."""
    user = None
    if _CODE.fullmatch(code or ""):
        user = db.session.scalars(select(BetaUser).where(BetaUser.invite_code == code)).first()
    if user is None:
        raise InviteError(404, "Invitation not found",
                          "This invitation link is not valid. Check that you copied the whole link from the email.")
    if not user.is_active:
        raise InviteError(410, "Invitation withdrawn",
                          "This invitation is no longer active. Contact the NOUS team if you think that is a mistake.")
    if user.joined_at is not None:
        raise InviteError(410, "Invitation already used",
                          "This invitation has already been accepted. You are in the beta; nothing else to do.")
    return user


def accept_invite(code: str, ip: str = "") -> BetaUser:
    """Mark the tester as joined. A second accept (or a race of two) gets InviteError 410."""
    user = invite_for_code(code)
    now = utcnow()
    done = db.session.execute(sql_update(BetaUser).where(BetaUser.id == user.id, BetaUser.joined_at.is_(None))
                              .values(joined_at=now, last_seen_at=now))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InviteError(410, "Invitation already used", "This invitation has already been accepted.")
    audit.record(user.email, "testers.joined", user.email, {"joined_at": None}, {"joined_at": now.isoformat()},
                 ip=ip, commit=False)
    db.session.commit()
    db.session.refresh(user)
    announce(user.id, "joined", version_of(user))
    _announce_joined(user.as_dict())
    return user


def _announce_joined(tester: dict[str, Any]) -> None:
    """The workflow trigger `tester.joined`, after the commit: whatever a workflow does (or fails to
    start), the tester has joined."""
    try:
        events.tester_joined.send(None, tester=tester)
    except Exception:  # a listener's trouble never undoes or fails a join
        log.exception("tester.joined not delivered to workflows", extra={"tester_id": tester.get("id")})
