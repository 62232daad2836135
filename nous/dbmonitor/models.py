from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import utcnow
from nous.extensions import db


class SlowQuery(db.Model):
    """One slow statement seen by any process, with the plan taken after the fact."""

    __tablename__ = "slow_queries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    digest: Mapped[str] = mapped_column(String(16), index=True)
    statement: Mapped[str] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column(Float)
    plan: Mapped[Any] = mapped_column(JSON, nullable=True)
    plan_error: Mapped[str] = mapped_column(Text, default="")
    suggestions: Mapped[Any] = mapped_column(JSON, nullable=True)
