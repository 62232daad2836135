"""Threads held by long-lived connections, one budget per web process.

A live-dashboard socket (nous.live) and an SDK's flag stream (nous.flags.streaming) each hold one of the
process's threads for as long as they are open. Each area caps its own kind, and all of them together
share one budget — the gunicorn threads less a few kept for pages and APIs — so that live viewers and
SDKs together can never take the threads every other request needs. Each area registers how many it
holds (`register`); before it opens another it asks `room`.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from flask import Flask

THREADS_KEPT_FOR_HTTP = 4
EXTENSION = "nous.held"


def budget(app: Flask) -> int:
    """Threads long-lived connections may hold in one process: HELD_THREADS_MAX, else the gunicorn
    threads less THREADS_KEPT_FOR_HTTP (at least one)."""
    configured = app.config.get("HELD_THREADS_MAX")
    if configured:
        return int(configured)
    threads = int(os.environ.get("GUNICORN_THREADS", "32") or 32)  # as gunicorn.conf.py reads it
    return max(1, threads - THREADS_KEPT_FOR_HTTP)


def register(app: Flask, kind: str, count: Callable[[], int]) -> None:
    """`count()` answers how many threads connections of `kind` hold now in this process."""
    app.extensions.setdefault(EXTENSION, {})[kind] = count


def held(app: Flask) -> dict[str, int]:
    """{kind: threads held now} in this process."""
    return {kind: count() for kind, count in app.extensions.get(EXTENSION, {}).items()}


def room(app: Flask, kind: str, own_cap: int) -> bool:
    """Whether one more connection of `kind` may open: under its own cap and under the shared budget."""
    now = held(app)
    return now.get(kind, 0) < own_cap and sum(now.values()) < budget(app)
