"""Who is calling the admin API: `Authorization: Bearer <token>` and nothing else (no cookies, so no
CSRF). `require_scope(scope)` answers 401 for a missing, unknown, expired or revoked token and 403
naming the missing scope, both as RFC 9457 problem details; it sets `g.api_token` (the token's name).
Every change made through the API is audited with the actor `token:<name>` (conventions.actor)."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, after_this_request, current_app, g, request

from nous.adminapi import tokens
from nous.clock import utcnow

F = TypeVar("F", bound=Callable[..., Any])

REALM = "nous-admin"
REFUSALS = {
    "missing": "Send an admin API token as `Authorization: Bearer <token>`.",
    "unknown": "This token is not known.",
    "expired": "This token has expired.",
    "revoked": "This token has been revoked.",
}


def _problem(status: int, title: str, detail: str, errors: dict[str, str], **extra: Any) -> Response:
    # The shape of conventions.render_problem, written here because conventions imports this module.
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, "errors": errors,
            "instance": request.path, **extra}
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


def bearer() -> str | None:
    """The token of an `Authorization: Bearer …` header, or None."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def refuse(reason: str) -> Response:
    if reason == "unavailable":
        resp = _problem(503, "Service Unavailable", "Tokens cannot be checked right now; try again shortly.", {})
        resp.headers["Retry-After"] = "1"
        return resp
    detail = REFUSALS.get(reason, REFUSALS["unknown"])
    resp = _problem(401, "Unauthorized", detail, {"Authorization": detail}, reason=reason)
    challenge = f'Bearer realm="{REALM}"'
    if reason != "missing":
        challenge += f', error="invalid_token", error_description="{REFUSALS[reason].rstrip(".")}"'
    resp.headers["WWW-Authenticate"] = challenge
    return resp


def forbid(scope: str) -> Response:
    detail = f"This token lacks the scope {scope}."
    resp = _problem(403, "Forbidden", detail, {"Authorization": detail}, scope=scope)
    resp.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="insufficient_scope", scope="{scope}"'
    return resp


def _note_use(info: tokens.TokenInfo) -> None:
    """At most once a minute per token and process: write its last use once the answer is sent."""
    if not tokens.due_for_touch(info):
        return
    app, ip, when = current_app._get_current_object(), request.remote_addr or "", utcnow()  # type: ignore[attr-defined]

    def write() -> None:
        with app.app_context():
            tokens.touch(info.id, ip, when)

    @after_this_request
    def later(response: Response) -> Response:
        response.call_on_close(write)
        return response


def authenticate(scope: str) -> Response | None:
    """None when the request carries a valid token holding `scope` (then `g.api_token` is its name);
    the refusal otherwise."""
    found = tokens.check(bearer())
    if found.token is None:
        return refuse(found.reason)
    if not found.token.allows(scope):
        return forbid(scope)
    g.api_token = found.token.name
    g.api_token_info = found.token
    _note_use(found.token)
    return None


def require_scope(scope: str) -> Callable[[F], F]:
    """Only a valid token holding `scope` (`admin` holds every scope, `area:write` also `area:read`)."""
    if scope not in tokens.SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            refused = authenticate(scope)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        wrapped.api_scope = scope  # type: ignore[attr-defined]  # OpenAPI and the route tests read it
        return wrapped  # type: ignore[return-value]

    return decorate
