"""The outbox: every message the console sends, with its fate."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import isoformat, utcnow
from nous.extensions import db

# queued: waiting for the send job · sending: a worker is talking to the server · sent: accepted by
# the SMTP server · failed: given up (the reason is kept) · kept: no SMTP configured, kept here and logged
QUEUED, SENDING, SENT, FAILED, KEPT = "queued", "sending", "sent", "failed", "kept"
STATUSES = (QUEUED, SENDING, SENT, FAILED, KEPT)


class OutboxMessage(db.Model):
    __tablename__ = "email_outbox"
    __table_args__ = (Index("ix_email_outbox_status_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    to_addr: Mapped[str] = mapped_column(String(320), index=True)
    template: Mapped[str] = mapped_column(String(50))
    subject: Mapped[str] = mapped_column(String(300))
    text_body: Mapped[str] = mapped_column(Text)
    html_body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    job_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    message_id: Mapped[str] = mapped_column(String(300), default="")
    actor: Mapped[str] = mapped_column(String(320), default="system")

    def as_dict(self, bodies: bool = False) -> dict[str, Any]:
        out = {
            "id": self.id, "to": self.to_addr, "template": self.template, "subject": self.subject,
            "status": self.status, "attempts": self.attempts, "last_error": self.last_error,
            "created_at": isoformat(self.created_at), "sent_at": isoformat(self.sent_at),
            "job_id": self.job_id, "message_id": self.message_id, "actor": self.actor,
        }
        if bodies:
            out.update(text=self.text_body, html=self.html_body)
        return out
