"""The tables of live operations: raw metric samples, their hourly roll-ups, and alerts.

`system_metrics` holds one row per collector run (every `metrics.collector_interval_seconds`), kept
`metrics.raw_retention_days`; `system_metrics_hourly` keeps the average and maximum of each figure
per hour for `metrics.rollup_retention_days`. `alerts` holds one row per alert episode; a partial
unique index allows at most one open alert per rule, so an alert is raised once even when two
evaluations race.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Float, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from nous.clock import aware
from nous.extensions import db

# BIGINT on PostgreSQL, INTEGER (the rowid alias, so autoincrement works) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")

OPEN, CLEARED = "open", "cleared"


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    unit: str  # "%", "req/s", "ms", "jobs", "" (load) or "ratio"


# Every figure the collector samples, in the order charts and tables show them.
FIGURES: tuple[Figure, ...] = (
    Figure("cpu_percent", "CPU", "%"),
    Figure("memory_percent", "Memory", "%"),
    Figure("disk_percent", "Disk", "%"),
    Figure("load_1m", "Load (1 min)", ""),
    Figure("requests_per_second", "Requests", "req/s"),
    Figure("error_rate", "Error rate", "ratio"),
    Figure("latency_p95_ms", "Latency p95", "ms"),
    Figure("queue_depth", "Queue depth", "jobs"),
    Figure("db_p95_ms", "DB p95", "ms"),
)
FIGURE_KEYS = tuple(f.key for f in FIGURES)
REQUEST_WINDOW = 60  # seconds of request counts behind each sample (its requests per second and error rate)


class MetricSample(db.Model):
    __tablename__ = "system_metrics"

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    host: Mapped[str] = mapped_column(String(255), default="")
    cpu_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    disk_percent: Mapped[float | None] = mapped_column(Float, nullable=True)
    load_1m: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_per_second: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue_depth: Mapped[float | None] = mapped_column(Float, nullable=True)
    db_p95_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    # Health checks that failed at this sample: {"database:responseTime": "why", …}.
    failing_checks: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)

    def figures(self) -> dict[str, float | None]:
        return {k: getattr(self, k) for k in FIGURE_KEYS}

    def as_event(self) -> dict[str, Any]:
        at = aware(self.at)
        return {"at": at.isoformat() if at else None, "t": at.timestamp() if at else None, "host": self.host,
                **self.figures(), "failing_checks": dict(self.failing_checks or {})}


class MetricRollup(db.Model):
    __tablename__ = "system_metrics_hourly"

    hour: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    cpu_percent_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    cpu_percent_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_percent_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    memory_percent_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    disk_percent_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    disk_percent_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    load_1m_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    load_1m_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_per_second_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    requests_per_second_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_rate_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    error_rate_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_p95_ms_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    latency_p95_ms_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue_depth_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    queue_depth_max: Mapped[float | None] = mapped_column(Float, nullable=True)
    db_p95_ms_avg: Mapped[float | None] = mapped_column(Float, nullable=True)
    db_p95_ms_max: Mapped[float | None] = mapped_column(Float, nullable=True)


class Alert(db.Model):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("uq_alerts_open_rule", "rule", unique=True,
              postgresql_where=text("status = 'open'"), sqlite_where=text("status = 'open'")),
        Index("ix_alerts_status_raised_at", "status", "raised_at"),
    )

    id: Mapped[int] = mapped_column(IdType, primary_key=True, autoincrement=True)
    rule: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    message: Mapped[str] = mapped_column(Text, default="")
    value: Mapped[float | None] = mapped_column(Float, nullable=True)  # the figure when raised
    threshold: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(20), default="")
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)  # the latest figure while open
    raised_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    cleared_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    def as_event(self) -> dict[str, Any]:
        raised, cleared = aware(self.raised_at), aware(self.cleared_at)
        return {"id": self.id, "rule": self.rule, "status": self.status, "title": self.title,
                "message": self.message, "value": self.value, "threshold": self.threshold, "unit": self.unit,
                "last_value": self.last_value, "raised_at": raised.isoformat() if raised else None,
                "cleared_at": cleared.isoformat() if cleared else None}
