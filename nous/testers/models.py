"""`beta_users`: the testers of the closed beta (SPEC section 5)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    Uuid,
    column,
    func,
    table,
)
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import isoformat, utcnow
from nous.extensions import db

ROLES = ("TESTER", "ADMIN", "OWNER")
SOURCES = ("admin", "import", "cli", "feedback", "demo")


def new_invite_code() -> str:
    """32 URL-safe characters from 24 random bytes: unguessable, fits in any link."""
    return secrets.token_urlsafe(24)


class BetaUser(db.Model):
    __tablename__ = "beta_users"
    __table_args__ = (
        CheckConstraint("role IN ('TESTER', 'ADMIN', 'OWNER')", name="role"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(320))
    invite_code: Mapped[str] = mapped_column(String(64), unique=True, default=new_invite_code)
    role: Mapped[str] = mapped_column(String(10), default="TESTER")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(20), default="admin")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    invited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    invite_sent_count: Mapped[int] = mapped_column(Integer, default=0)
    joined_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    # Per-tester feature-flag overrides {flag_key: bool}; they win over every strategy.
    flag_set: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    @property
    def invite_state(self) -> str:
        """joined | invited | not invited."""
        if self.joined_at is not None:
            return "joined"
        return "invited" if self.invited_at is not None else "not invited"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "email": self.email, "role": self.role, "is_active": self.is_active,
            "invite_state": self.invite_state, "source": self.source, "created_at": isoformat(self.created_at),
            "invited_at": isoformat(self.invited_at), "invite_sent_count": self.invite_sent_count,
            "joined_at": isoformat(self.joined_at), "last_seen_at": isoformat(self.last_seen_at), "notes": self.notes,
            "flag_set": dict(self.flag_set or {}),
        }


# Unique whatever the case, also against rows written by something other than this service.
Index("uq_beta_users_email_lower", func.lower(BetaUser.email), unique=True)


# The feedback each tester sent, as the tester pages show it (how many, the latest few). Read through
# these columns of the feedback area's table: feedback creates and links testers (feedback → testers),
# so testers reads its counts here instead of importing feedback back.
tester_feedback = table("feedback", column("id", BigInteger), column("tester_id", Uuid), column("rating", SmallInteger),
                        column("message", Text), column("created_at", DateTime(timezone=True)))
