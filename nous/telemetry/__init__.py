"""Telemetry shared by every process: structured logs, request metrics, their flush to Redis."""

from __future__ import annotations

from typing import Protocol

import redis
from flask import Flask

from nous.extensions import get_redis
from nous.telemetry import logs, requests


class Flushable(Protocol):
    def due(self) -> bool: ...
    def flush(self, conn: redis.Redis) -> None: ...


FLUSHERS: list[Flushable] = [requests.STATS]


def maybe_flush(conn: redis.Redis) -> None:
    """Add this process's counts to Redis when a flush is due (cheap when it is not)."""
    for flusher in FLUSHERS:
        if flusher.due():
            flusher.flush(conn)


def init_app(app: Flask) -> None:
    logs.configure(app.config.get("LOG_LEVEL", "INFO"))
    requests.init_app(app)

    @app.teardown_request
    def _flush(_exc: BaseException | None) -> None:
        maybe_flush(get_redis())  # (requests answered in front of Flask flush in nous.front)
