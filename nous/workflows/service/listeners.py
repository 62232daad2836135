"""Which events have listeners: a per-process cache of the events some enabled workflow listens to,
followed through a Redis version key."""

from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from nous.extensions import db
from nous.versioned import Followed
from nous.workflows.models import Workflow

LISTENERS_VERSION_KEY = "nous:workflows:listeners:version"
LISTENERS_CHECK_EVERY = 0.5  # seconds between two looks at the version key: changes apply within ~1 s
LISTENERS_OFFLINE_RELOAD = 1.0  # Redis unreachable: reload from the database at most this often


def _load_listeners() -> frozenset[str]:
    rows = db.session.execute(select(Workflow.trigger_event).where(
        Workflow.trigger_event.is_not(None), Workflow.enabled.is_(True)).distinct())
    return frozenset(name for (name,) in rows)


def listeners() -> Followed[frozenset[str]]:
    """The events that at least one enabled workflow listens to, as this process last loaded them."""
    cache = current_app.extensions.get("nous.workflows.listeners")
    if cache is None:
        cache = current_app.extensions.setdefault("nous.workflows.listeners", Followed(
            LISTENERS_VERSION_KEY, _load_listeners, frozenset(), check_every=LISTENERS_CHECK_EVERY,
            offline_reload=LISTENERS_OFFLINE_RELOAD))
    return cache


def listened_events() -> frozenset[str]:
    """Names of the events some enabled workflow listens to. Costs nothing most of the time, one
    Redis GET every half second, and one database query only after a workflow changed."""
    return listeners().get()


def workflows_changed() -> None:
    """After a commit that created, edited, enabled, disabled or deleted a workflow."""
    listeners().changed()
