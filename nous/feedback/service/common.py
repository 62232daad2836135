"""What every part of the feedback service shares: field limits, cache keys, errors and versions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from nous.clock import aware
from nous.feedback.models import Feedback
from nous.text import MAX_EMAIL

# Field limits; the OpenAPI document (nous/feedback/api.py) is built from the same constants.
MESSAGE_MAX = 4000
FEATURE_MAX = 100
EMAIL_MAX = MAX_EMAIL
PAGE_URL_MAX = 2000
APP_VERSION_MAX = 50
USER_AGENT_MAX = 500
REPLY_MAX = 10_000
TAG_MAX = 50
TAGS_PER_FEEDBACK = 20
# Patterns are applied with `re.search`, exactly as a JSON Schema validator applies `pattern`.
# at least one character that is neither space nor a control character nor U+FFFD (what is stored for
# control characters and lone surrogates): a message of nothing else would be stored as "�"
MESSAGE_PATTERN = r"[^\s\x00-\x08\x0e-\x1f\x7f\ufffd]"
PAGE_URL_PATTERN = r"^https?://\S"
VIEWPORT_PATTERN = r"^[0-9]{1,5}x[0-9]{1,5}$"
HONEYPOT_FIELD = "website"
STATS_CACHE_SECONDS = 30
STATS_STALE_SECONDS = 600
CHARTS_CACHE_SECONDS = 60
EXCERPT_MAX = 140  # characters of the message in a live event
STATS_KEY = "nous:feedback:stats"
BY_STATUS_KEY = "nous:feedback:by-status"
CHARTS_KEY = "nous:feedback:charts:{}"  # per number of days shown

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class FeedbackError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FeedbackConflict(FeedbackError):
    """A change made on a view of the feedback older than what is stored: `current` is the feedback
    now, `changes` the audit entries since the version the caller saw (oldest first)."""

    def __init__(self, message: str, current: Feedback, changes: list[Any]) -> None:
        super().__init__(message, status=409)
        self.current = current
        self.changes = changes


class ValidationFailed(ValueError):
    """A submission with one message per bad field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def stamp(at: datetime) -> str:
    """A time as microseconds since the epoch: the form versions take."""
    return str((at - EPOCH) // timedelta(microseconds=1))


def version_of(row: Feedback) -> str:
    """What a page sends back to say which state of the feedback it showed: its last change, in µs."""
    return stamp(aware(row.updated_at) or aware(row.created_at) or EPOCH)


def target(row: Feedback) -> str:
    """The feedback as the audit log names it."""
    return f"feedback:{row.id}"
