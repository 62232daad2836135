"""The console's guard, for every area's pages: `admin_required`, and who is asking (`current_actor`,
`client_ip`) for the audit log.

Only the guard lives here, so an area's routes need not import the admin area (which reads the
settings, whose own pages use this guard). Signing in and out, and when a session ends, stay in
nous.admin.auth: flask-login's loader there decides whether `current_user` is signed in.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import redirect, request, url_for
from flask_login import current_user

from nous.errors import error_response, wants_json

F = TypeVar("F", bound=Callable[..., Any])

LOGIN = "admin.login"


def client_ip() -> str:
    return request.remote_addr or ""


def current_actor() -> str:
    """The admin's email for the audit log (or 'anonymous')."""
    return current_user.email if getattr(current_user, "is_authenticated", False) else "anonymous"


def admin_required(view: F) -> F:
    """Only the signed-in admin; others get 401 JSON (APIs, HTMX) or the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_authenticated", False):
            if wants_json() or request.headers.get("HX-Request"):
                resp = error_response(401, "Unauthorized", "Sign in as the admin first.")
                resp.headers["HX-Redirect"] = url_for(LOGIN, next=request.full_path.rstrip("?"))
                return resp
            return redirect(url_for(LOGIN, next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    wrapped.admin_only = True  # type: ignore[attr-defined]  # the route test finds guarded views by this
    return wrapped  # type: ignore[return-value]
