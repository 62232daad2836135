from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import utcnow
from nous.extensions import db


class AdminIdentity(db.Model):
    """The OpenID `sub` pinned to an admin email at its first admission."""

    __tablename__ = "admin_identities"

    email: Mapped[str] = mapped_column(String(320), primary_key=True)
    sub: Mapped[str] = mapped_column(String(255))
    issuer: Mapped[str] = mapped_column(String(500), default="")
    first_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginToken(db.Model):
    """A one-time sign-in link; only its hash is stored."""

    __tablename__ = "login_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class SignOut(db.Model):
    """A session ended on the server. With a `sid`, that one session (its cookie is refused from now on);
    without one, every session: its id is the session generation, and a cookie whose generation (taken
    at sign-in) is lower is refused. Rows are never deleted, so the generation never goes back."""

    __tablename__ = "admin_sign_outs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(320), default="")
