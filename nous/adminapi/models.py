"""Admin API tokens: a name, scopes, an optional expiry; only the token's SHA-256 is stored."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import aware, rfc3339, utcnow
from nous.extensions import db


class AdminToken(db.Model):
    """A bearer token for /api/admin/v1. The token itself is shown once, at creation."""

    __tablename__ = "admin_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(24))  # the first characters, to recognise it in a list
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_used_ip: Mapped[str] = mapped_column(String(64), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)

    def state(self, now: datetime | None = None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        expires = aware(self.expires_at)
        if expires is not None and expires <= (now or utcnow()):
            return "expired"
        return "active"

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "prefix": self.prefix, "scopes": list(self.scopes or []),
                "state": self.state(), "created_at": rfc3339(self.created_at), "created_by": self.created_by,
                "expires_at": rfc3339(self.expires_at), "last_used_at": rfc3339(self.last_used_at),
                "last_used_ip": self.last_used_ip or None, "revoked_at": rfc3339(self.revoked_at)}
