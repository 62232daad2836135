"""Feedback from testers, its tags and the replies sent to it.

The admin list is ordered newest first by (created_at, id) and paged by keyset; each filter the list
offers has a composite index ending in (created_at, id), so a page is an index range scan at any table
size, on PostgreSQL and SQLite alike.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from nous.clock import aware, utcnow
from nous.extensions import db

CATEGORIES = ("bug", "idea", "praise", "other")
STATUSES = ("new", "triaged", "planned", "resolved", "spam")
ATTACHMENT_KINDS = ("image", "text")
TEXT_STATUSES = ("pending", "done", "unavailable", "failed")
READ_AGAIN = ("failed", "unavailable")  # readings that ended without the text: the admin may ask again
TEXT_NOTES = {"pending": "the text is being read", "unavailable": "text recognition not available",
              "failed": "the text could not be read"}

# BIGINT on PostgreSQL; SQLite autoincrements only an INTEGER PRIMARY KEY (its rowid).
BigId = BigInteger().with_variant(Integer, "sqlite")


class Feedback(db.Model):
    __tablename__ = "feedback"
    __table_args__ = (
        CheckConstraint("rating BETWEEN 1 AND 5", name="rating"),
        CheckConstraint("category IN ('bug', 'idea', 'praise', 'other')", name="category"),
        CheckConstraint("status IN ('new', 'triaged', 'planned', 'resolved', 'spam')", name="status"),
        Index("ix_feedback_created_at_id", "created_at", "id"),
        Index("ix_feedback_status_created_at_id", "status", "created_at", "id"),
        Index("ix_feedback_rating_created_at_id", "rating", "created_at", "id"),
        Index("ix_feedback_category_created_at_id", "category", "created_at", "id"),
        Index("ix_feedback_feature_created_at_id", "feature", "created_at", "id"),
        Index("ix_feedback_tester_id_created_at", "tester_id", "created_at"),
        Index("ix_feedback_email", "email"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    rating: Mapped[int] = mapped_column(SmallInteger)
    message: Mapped[str] = mapped_column(Text)
    feature: Mapped[str | None] = mapped_column(String(100), nullable=True)
    category: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="new")
    email: Mapped[str | None] = mapped_column(String(320), nullable=True)
    tester_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("beta_users.id", ondelete="SET NULL"),
                                                        nullable=True)
    page_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(500), nullable=True)
    viewport: Mapped[str | None] = mapped_column(String(20), nullable=True)
    app_version: Mapped[str | None] = mapped_column(String(50), nullable=True)

    tag_rows: Mapped[list[FeedbackTag]] = relationship(back_populates="feedback", cascade="all, delete-orphan",
                                                       order_by="FeedbackTag.tag", lazy="raise")

    def as_dict(self, tags: list[str] | None = None) -> dict[str, Any]:
        created = aware(self.created_at)
        return {
            "id": self.id, "created_at": created.isoformat() if created else None, "rating": self.rating,
            "message": self.message, "feature": self.feature, "category": self.category, "status": self.status,
            "email": self.email, "tester_id": str(self.tester_id) if self.tester_id else None,
            "page_url": self.page_url, "user_agent": self.user_agent, "viewport": self.viewport,
            "app_version": self.app_version, "tags": tags if tags is not None else [],
        }


class FeedbackTag(db.Model):
    """One tag on one feedback: a row per pair. It repeats the feedback's created_at (which never
    changes) so "newest feedback tagged x" is one ordered walk of (tag, created_at, feedback_id)."""

    __tablename__ = "feedback_tags"
    __table_args__ = (Index("ix_feedback_tags_tag_created_at", "tag", "created_at", "feedback_id"),)

    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(50), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    feedback: Mapped[Feedback] = relationship(back_populates="tag_rows")


class FeedbackFlag(db.Model):
    """One flag as the tester had it when the feedback was sent: evaluated on the server in the submission's
    request, in one flag environment (the setting `flags.environment` at the time), a row per flag.

    It repeats what of the feedback never changes — created_at, rating, category — so comparing the
    feedback of testers with a flag on and off over a period reads one index and nothing else: the
    (flag_key, environment, created_at) index carries the rest (INCLUDE on PostgreSQL, index-only scan).
    The feedback list's flag filter walks the same index newest first by (created_at, feedback_id), as the
    tag filter walks its own."""

    __tablename__ = "feedback_flags"
    __table_args__ = (
        # Covering too: the comparison subtracts spam by probing it with the period's spam ids, index only.
        PrimaryKeyConstraint("feedback_id", "environment", "flag_key",
                             postgresql_include=["enabled", "variant", "rating", "category"]),
        Index("ix_feedback_flags_flag_env_created_at", "flag_key", "environment", "created_at", "feedback_id",
              postgresql_include=["enabled", "variant", "rating", "category"]),
    )

    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"), primary_key=True)
    environment: Mapped[str] = mapped_column(String(100), primary_key=True)
    flag_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    variant: Mapped[str | None] = mapped_column(String(200), nullable=True)  # None: no variant (off, or none defined)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rating: Mapped[int] = mapped_column(SmallInteger)
    category: Mapped[str] = mapped_column(String(10))


class FeedbackFlagDay(db.Model):
    """The feedback_flags of one flag, environment and UTC day summed per group (on/off and variant): the
    comparison reads closed days from here and only the open ends of its period from feedback_flags.

    Filled on demand, a closed day at a time, and never changed: what it sums never changes (rating,
    category, created_at) and feedback is not deleted. Spam is counted here and subtracted when read (the
    status is the only thing that changes). Each computed day has at least its (off, no variant) row, with
    n = 0 when nobody sent feedback that day: that row says the day was computed."""

    __tablename__ = "feedback_flag_days"

    flag_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    environment: Mapped[str] = mapped_column(String(100), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    variant: Mapped[str] = mapped_column(String(200), primary_key=True)  # "" for no variant
    n: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(Integer)  # sum of the ratings
    squares: Mapped[int] = mapped_column(Integer)  # sum of their squares
    bugs: Mapped[int] = mapped_column(Integer)


class FeedbackReply(db.Model):
    """A reply the admin sent to the tester by email (the message itself is in the email outbox)."""

    __tablename__ = "feedback_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_by: Mapped[str] = mapped_column(String(320))
    to_email: Mapped[str] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    email_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the outbox row, when known


class FeedbackAttachment(db.Model):
    """A file sent with a feedback: the bytes as re-encoded by the server (never what was uploaded), a
    small thumbnail of an image, and the text read from it (OCR) or held in it (a log file).

    The blobs are deferred: listing attachments reads neither; a download streams `data` in slices
    (nous.feedback.service.attachments.chunks). `tester_id` repeats the feedback's tester so removing the
    tester removes their files in the database itself (the feedback only loses its link, SET NULL)."""

    __tablename__ = "feedback_attachments"
    __table_args__ = (
        CheckConstraint("kind IN ('image', 'text')", name="kind"),
        CheckConstraint("text_status IN ('pending', 'done', 'unavailable', 'failed')", name="text_status"),
        Index("ix_feedback_attachments_created_at", "created_at"),
        Index("ix_feedback_attachments_tester_id", "tester_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    feedback_id: Mapped[int] = mapped_column(BigId, ForeignKey("feedback.id", ondelete="CASCADE"), index=True)
    tester_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("beta_users.id", ondelete="CASCADE"),
                                                        nullable=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(10))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)
    thumbnail: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    text: Mapped[str] = mapped_column(Text, default="")
    text_status: Mapped[str] = mapped_column(String(12), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def can_read_again(self) -> bool:
        """An image whose reading ended without its text (Tesseract failed, timed out, or was missing then)."""
        return self.kind == "image" and self.text_status in READ_AGAIN

    @property
    def text_note(self) -> str:
        """What to show instead of the text while there is none."""
        return TEXT_NOTES.get(self.text_status, "")

    def as_dict(self) -> dict[str, Any]:
        """What the APIs and the workflow context show of it (no bytes)."""
        created = aware(self.created_at)
        return {"id": self.id, "feedback_id": self.feedback_id, "filename": self.filename,
                "content_type": self.content_type, "kind": self.kind, "size": self.size, "width": self.width,
                "height": self.height, "sha256": self.sha256, "text": self.text, "text_status": self.text_status,
                "created_at": created.isoformat() if created else None}
