"""Who is signed in: the admin session (flask-login) and the `admin_required` guard.

The session cookie holds the admin's email, the time of sign-in and of the last request, a random
session id and the session generation at sign-in; the absolute and idle lifetimes come from the
runtime settings. Signing out ends the session on the server: the loader below refuses a cookie whose
session was ended or whose generation is older than the last "sign out everywhere", so a copy of the
cookie is worth nothing afterwards — on pages, APIs and /ws/live alike. No database read per request
(the sign-outs are followed per process, nous.admin.service.session_live).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, current_app, redirect, request, session, url_for
from flask_login import UserMixin, current_user, login_user, logout_user

from nous.admin import service
from nous.errors import error_response, wants_json
from nous.extensions import login

F = TypeVar("F", bound=Callable[..., Any])


class Admin(UserMixin):
    def __init__(self, email: str) -> None:
        self.id = email
        self.email = email


SESSION_ID = "_sid"
GENERATION = "_gen"


@login.user_loader
def _load(user_id: str) -> Admin | None:
    if user_id.lower() not in current_app.config["NOUS_ADMIN_EMAILS"]:
        return None  # removed from the allow-list: signed out on the next request
    if session_expired():
        return None  # past its idle or absolute lifetime
    generation = session.get(GENERATION, 0)
    if not service.session_live(session.get(SESSION_ID), generation if isinstance(generation, int) else 0):
        return None  # signed out on the server (here or in another copy of this cookie)
    return Admin(user_id.lower())


def start_session(email: str) -> None:
    """Sign `email` in with a fresh session (nothing from before survives) that can be ended on the server."""
    sid, generation = service.new_session()
    session.clear()
    now = int(time.time())
    login_user(Admin(email))
    session.permanent = True
    session.update({SESSION_ID: sid, GENERATION: generation, "signed_in_at": now, "seen_at": now})


def end_session() -> None:
    """Sign out: the session ends on the server, then the cookie is emptied."""
    if getattr(current_user, "is_authenticated", False):
        service.end_session(session.get(SESSION_ID), current_user.email, actor=current_actor(), ip=client_ip())
    logout_user()
    session.clear()


def client_ip() -> str:
    return request.remote_addr or ""


def current_actor() -> str:
    """The admin's email for the audit log (or 'anonymous')."""
    return current_user.email if getattr(current_user, "is_authenticated", False) else "anonymous"


def session_expired() -> bool:
    """The signed-in session is past its idle or absolute lifetime (runtime settings)."""
    from nous.settings import service as settings

    now = time.time()
    started = session.get("signed_in_at", 0)
    seen = session.get("seen_at", started)
    idle = settings.get("auth.session_idle_minutes") * 60
    absolute = settings.get("auth.session_absolute_hours") * 3600
    return now - started > absolute or now - seen > idle


def _touch_session() -> None:
    if not request.path.startswith("/admin"):  # health, API and widget requests never read the session
        return
    if getattr(current_user, "is_authenticated", False):
        now = int(time.time())
        if now - session.get("seen_at", 0) > 30:  # rewrite the cookie at most every 30 s
            session["seen_at"] = now
    elif "_user_id" in session:
        session.clear()  # expired, ended on the server or no longer allowed: empty the cookie


def admin_required(view: F) -> F:
    """Only the signed-in admin; others get 401 JSON (APIs, HTMX) or the sign-in page."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not getattr(current_user, "is_authenticated", False):
            if wants_json() or request.headers.get("HX-Request"):
                resp = error_response(401, "Unauthorized", "Sign in as the admin first.")
                resp.headers["HX-Redirect"] = url_for("admin.login", next=request.full_path.rstrip("?"))
                return resp
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    wrapped.admin_only = True  # type: ignore[attr-defined]  # the route test finds guarded views by this
    return wrapped  # type: ignore[return-value]


def init_auth(app: Flask) -> None:
    service.init_sessions(app)
    login.init_app(app)
    login.session_protection = "basic"
    app.before_request(_touch_session)
