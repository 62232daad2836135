"""Admission of the admin: OpenID claims, the pinned `sub`, one-time login links. Audited throughout."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update

from nous.admin.models import AdminIdentity, LoginToken
from nous.audit import service as audit
from nous.extensions import db

LINK_LIFETIME = timedelta(minutes=10)


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
