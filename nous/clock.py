"""The clock every area stores times with: aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def isoformat(value: datetime | None, timespec: str = "auto") -> str | None:
    """A stored time in ISO 8601 with its offset (`+00:00`), as the areas' dicts, events and audit entries
    carry it; None for none. The APIs' answers use `rfc3339` below."""
    value = aware(value)
    return value.isoformat(timespec=timespec) if value else None


def rfc3339(value: datetime | None) -> str | None:
    """A stored time as RFC 3339 in UTC with a `Z`, to the millisecond: 2026-12-06T07:15:00.123Z."""
    value = aware(value)
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z") if value else None
