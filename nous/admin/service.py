"""Admission of the admin (OpenID claims, the pinned `sub`, one-time login links) and the end of sessions
on the server (sign out, sign out everywhere). Audited throughout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError

from nous.admin.models import AdminIdentity, LoginToken, SignOut
from nous.audit import service as audit
from nous.extensions import db
from nous.versioned import Followed, Unavailable

LINK_LIFETIME = timedelta(minutes=10)
SESSIONS_VERSION_KEY = "nous:admin:sessions:version"
SESSIONS_CHECK_EVERY = 0.5  # a sign-out elsewhere applies here within a second
SESSIONS_OFFLINE_RELOAD = 1.0  # Redis unreachable: read the sign-outs again this often (one small query)
# Ended sessions are remembered longer than the longest absolute session lifetime a setting allows
# (720 hours): a cookie older than that is refused by its age anyway.
ENDED_KEPT = timedelta(days=31)


@dataclass(frozen=True)
class Admission:
    ok: bool
    email: str
    reason: str = ""


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def admit(claims: dict[str, Any], allowed: tuple[str, ...], ip: str, issuer: str = "") -> Admission:
    """Decide on an OpenID sign-in from the ID token's claims; records the decision in the audit log."""
    email = str(claims.get("email") or "").strip().lower()
    sub = str(claims.get("sub") or "")
    reason = ""
    if not email or not sub:
        reason = "the identity provider sent no email address"
    elif claims.get("email_verified") is not True:
        reason = "the email address is not verified by the identity provider"
    elif email not in allowed:
        reason = "this account is not the admin of this console"
    else:
        identity = db.session.get(AdminIdentity, email)
        if identity is None:
            db.session.add(AdminIdentity(email=email, sub=sub, issuer=issuer))
        elif identity.sub != sub:
            reason = "this email belongs to a different account than the one first used to sign in"
        else:
            identity.last_sign_in = datetime.now(UTC)
    if reason:
        db.session.rollback()
        audit.record(email or "unknown", "auth.refused", email, after={"reason": reason, "method": "oidc"}, ip=ip)
        return Admission(False, email, reason)
    audit.record(email, "auth.signed_in", email, after={"method": "oidc"}, ip=ip)
    return Admission(True, email)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_login_link(email: str, actor: str) -> str:
    """A new one-time token for `email` (valid 10 minutes); returns the raw token."""
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    db.session.add(LoginToken(token_hash=_hash(token), email=email, created_at=now, expires_at=now + LINK_LIFETIME))
    audit.record(actor, "auth.login_link_created", email, after={"expires_at": (now + LINK_LIFETIME).isoformat()},
                 commit=False)
    db.session.commit()
    return token


def use_login_link(token: str, allowed: tuple[str, ...], ip: str) -> Admission:
    """Spend a token: works once, before it expires, for an address still on the allow-list."""
    now = datetime.now(UTC)
    row = db.session.get(LoginToken, _hash(token)) if 10 <= len(token) <= 200 else None
    reason = ""
    if row is None:
        reason = "this sign-in link is not valid"
    elif row.used_at is not None:
        reason = "this sign-in link has already been used"
    elif _aware(row.expires_at) < now:
        reason = "this sign-in link has expired"
    elif row.email not in allowed:
        reason = "this account is no longer the admin of this console"
    else:
        # Spend it atomically: of two simultaneous uses only one updates the row.
        spent = db.session.execute(
            update(LoginToken).where(LoginToken.token_hash == row.token_hash, LoginToken.used_at.is_(None))
            .values(used_at=now)
        ).rowcount
        if spent != 1:
            reason = "this sign-in link has already been used"
    email = row.email if row is not None else ""
    if reason:
        db.session.rollback()
        audit.record(email or "unknown", "auth.refused", email, after={"reason": reason, "method": "login_link"}, ip=ip)
        return Admission(False, email, reason)
    audit.record(email, "auth.signed_in", email, after={"method": "login_link"}, ip=ip)
    return Admission(True, email)


# --- sessions ended on the server ---------------------------------------------------------------

@dataclass(frozen=True)
class SignOuts:
    """What this process knows of the sign-outs: the session generation and the ended sessions."""

    generation: int
    ended: frozenset[str]

    def allows(self, sid: str | None, generation: int) -> bool:
        return generation >= self.generation and (sid is None or sid not in self.ended)


def _generation() -> int:
    return db.session.scalar(select(func.max(SignOut.id)).where(SignOut.sid.is_(None))) or 0


def _load_sign_outs() -> SignOuts:
    since = datetime.now(UTC) - ENDED_KEPT
    try:
        generation = _generation()
        ended = frozenset(db.session.scalars(select(SignOut.sid).where(SignOut.sid.is_not(None), SignOut.at >= since)))
    except SQLAlchemyError:
        db.session.rollback()
        raise Unavailable from None  # the last copy stays (none before a first load: no session is let in)
    return SignOuts(generation, ended)


def init_sessions(app: Flask) -> None:
    app.extensions["nous.admin.sessions"] = Followed[SignOuts | None](
        SESSIONS_VERSION_KEY, _load_sign_outs, None, check_every=SESSIONS_CHECK_EVERY,
        offline_reload=SESSIONS_OFFLINE_RELOAD)


def _sign_outs() -> Followed[SignOuts | None]:
    return current_app.extensions["nous.admin.sessions"]


def new_session() -> tuple[str, int]:
    """(id, generation) for a session being signed in: the generation read now, from the database."""
    return secrets.token_urlsafe(32), _generation()


def session_live(sid: str | None, generation: int) -> bool:
    """Whether a session (its id and generation from the cookie) has not been ended on the server.
    No I/O most of the time: the sign-outs are followed per process (nous.versioned). A session from
    before ids were given has none; only signing out everywhere ends it."""
    known = _sign_outs().get()
    return known is not None and known.allows(sid, generation)


def end_session(sid: str | None, email: str, actor: str, ip: str = "") -> None:
    """Sign one session out on the server: its cookie is refused from now on, wherever it is used.
    A session without an id cannot be told apart from the others: every session ends with it."""
    db.session.add(SignOut(sid=sid, actor=actor[:320]))
    audit.record(actor, "auth.signed_out", email, after=None if sid else {"everywhere": True}, ip=ip, commit=False)
    db.session.commit()
    _sign_outs().changed()


def end_every_session(actor: str, ip: str = "") -> int:
    """Sign every session out (a new generation); returns the new generation."""
    row = SignOut(sid=None, actor=actor[:320])
    db.session.add(row)
    db.session.flush()
    generation = row.id
    audit.record(actor, "auth.signed_out_everywhere", "", after={"generation": generation}, ip=ip, commit=False)
    db.session.commit()
    _sign_outs().changed()
    return generation
