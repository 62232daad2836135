"""Error responses: JSON for API and health paths, a readable page for people. Never a stack trace."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import redis
from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from nous.extensions import db
from nous.web import is_fragment_request

log = logging.getLogger("nous.errors")
JSON_PREFIXES = ("/api/", "/ofrep/", "/health", "/readyz", "/healthz", "/metrics", "/openapi.json", "/widget.js")


class Conflict(Exception):
    """A change decided on an older state than the stored one, so nothing was saved (HTTP 409).

    `current` is the stored state now and `changes` its latest changes, oldest first (audit events or
    their dicts); the message says what changed, by whom last, and `tail` what the page shows now.
    An area's conflict subclasses this and its own error class: `class XConflict(Conflict, XError)`.
    """

    status = 409

    def __init__(self, what: str, current: Any, changes: list[Any], since: str = "you opened it",
                 tail: str = "") -> None:
        last = changes[-1] if changes else None
        actor = last.get("actor") if isinstance(last, Mapping) else getattr(last, "actor", None)
        who = f" by {actor}" if actor else ""
        super().__init__(f"{what} was changed{who} since {since}; nothing was saved." + (f" {tail}" if tail else ""))
        self.message = str(self)
        self.current = current
        self.changes = changes


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


# Paths whose errors an area writes in its own shape (the admin API: RFC 9457 problem+json), by prefix.
ErrorRenderer = Callable[[int, str, str, "dict[str, str] | None"], Response]
RENDERERS: dict[str, ErrorRenderer] = {}


def error_response(status: int, title: str, message: str, errors: dict[str, str] | None = None) -> Response:
    """The error as JSON ({error, message} and, for bad input, one message per field) or as a page. A console
    fragment request (htmx) gets the JSON: its error toast shows the message (a page would not be swapped in)."""
    for prefix, render in RENDERERS.items():
        if request.path.startswith(prefix):
            return render(status, title, message, errors)
    if wants_json() or is_fragment_request():
        resp = jsonify({"error": title, "message": message, **({"errors": errors} if errors else {})})
    else:
        resp = Response(render_template("error.html", status=status, title=title, message=message))
    resp.status_code = status
    return resp


def _http(exc: HTTPException) -> Response:
    resp = error_response(exc.code or 500, exc.name, exc.description or exc.name, getattr(exc, "errors", None))
    if exc.code == 405 and exc.valid_methods:  # type: ignore[attr-defined]
        resp.headers["Allow"] = ", ".join(exc.valid_methods)  # type: ignore[attr-defined]
    retry = getattr(exc, "retry_after", None)
    if exc.code == 429 and exc.response is not None:
        for key in ("Retry-After", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
            if key in exc.response.headers:
                resp.headers[key] = exc.response.headers[key]
    elif retry:
        resp.headers["Retry-After"] = str(retry)
    return resp


def _unavailable(exc: Exception) -> Response:
    db.session.rollback()
    what = "Redis" if isinstance(exc, (redis.RedisError, OSError)) else "the database"
    log.warning("dependency unavailable", extra={"dependency": what, "error": str(exc).splitlines()[0][:200]})
    resp = error_response(503, "Service Unavailable", f"{what} is not reachable right now; try again shortly.")
    resp.headers["Retry-After"] = "5"
    return resp


def _internal(exc: Exception) -> Response:
    original = getattr(exc, "original_exception", None) or exc
    if isinstance(original, (redis.RedisError, OperationalError)):
        return _unavailable(original)
    log.exception("unhandled error", exc_info=original)
    try:
        db.session.rollback()
    except SQLAlchemyError:
        pass
    return error_response(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http)
    app.register_error_handler(redis.RedisError, _unavailable)
    app.register_error_handler(OperationalError, _unavailable)
    app.register_error_handler(InternalServerError, _internal)
    app.register_error_handler(Exception, _internal)
