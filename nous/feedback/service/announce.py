"""Telling the rest of the app about feedback, after the commit: `feedback.updated` for live viewers
and `feedback.created` for the workflows (both named events of `nous.events`)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from flask import current_app

from nous import events
from nous.clock import aware, utcnow
from nous.feedback.models import Feedback
from nous.feedback.service.common import EXCERPT_MAX, stamp

log = logging.getLogger("nous.feedback")

#: `feedback.created` of `nous.events`, sent after a submission is stored (sender: the app,
#: `feedback=<as_dict()>`). The workflows area connects to it. Live viewers hear `feedback.updated`
#: (relayed by live to its topic `feedback`): on every new submission, status change, tag change and reply.
feedback_created = events.feedback_created


def excerpt(message: str) -> str:
    """The message on one line, at most EXCERPT_MAX characters (an ellipsis marks a cut)."""
    text = " ".join(message.split())
    return text if len(text) <= EXCERPT_MAX else text[:EXCERPT_MAX - 1] + "\u2026"


def live_fields(row: Feedback) -> dict[str, Any]:
    """What a live event needs of a row, read before the commit expires it (no reload per row after)."""
    return {"id": row.id, "rating": row.rating, "category": row.category, "feature": row.feature,
            "status": row.status, "message": row.message, "created_at": row.created_at,
            "updated_at": row.updated_at}


def tell_viewers(action: str, feedback_id: int, row: Mapping[str, Any], at: datetime | None = None,
                 versioned: bool = True) -> None:

    """Send `feedback.updated` (live relays it on topic `feedback`, shape in nous.live.events). Called after
    the commit; never raises, so the feedback always stands. Without `versioned` (a reply: the feedback
    itself is unchanged) pages showing that version refresh too."""
    try:
        events.feedback_updated.send(None, event={
            "id": feedback_id, "action": action, "rating": row["rating"], "category": row["category"],
            "feature": row["feature"], "status": row["status"], "excerpt": excerpt(row["message"] or ""),
            "at": (aware(at or row["created_at"]) or utcnow()).isoformat(),
            "version": stamp(aware(row.get("updated_at") or row["created_at"]) or utcnow()) if versioned else None})
    except Exception:  # a live event is never worth an error on stored feedback
        log.exception("live feedback event not sent", extra={"feedback_id": feedback_id})


def announce_created(stored: dict[str, Any]) -> None:
    """Tell every `feedback.created` listener, each on its own: one that fails neither stops the others nor
    turns feedback that is already stored into an error (blinker's send() would stop at the first)."""
    sender = current_app._get_current_object()  # type: ignore[attr-defined]
    for receiver in list(feedback_created.receivers_for(sender)):
        try:
            receiver(sender, feedback=stored)
        except Exception:
            log.exception("a feedback_created listener failed", extra={"feedback_id": stored["id"]})
