"""Who is signed in: the admin session (flask-login). The guard every page uses is nous.auth's.

The session cookie holds the admin's email, the time of sign-in and of the last request, a random
session id and the session generation at sign-in; the absolute and idle lifetimes come from the
runtime settings. Signing out ends the session on the server: the loader below refuses a cookie whose
session was ended or whose generation is older than the last "sign out everywhere", so a copy of the
cookie is worth nothing afterwards — on pages, APIs and /ws/live alike. No database read per request
(the sign-outs are followed per process, nous.admin.service.session_live).
"""

from __future__ import annotations

import time

from flask import Flask, current_app, request, session
from flask_login import UserMixin, current_user, login_user, logout_user

from nous.admin import service
from nous.auth import client_ip, current_actor
from nous.extensions import login
from nous.settings import service as settings

__all__ = ["GENERATION", "SESSION_ID", "Admin", "end_session", "init_auth", "session_expired", "start_session"]


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


def session_expired() -> bool:
    """The signed-in session is past its idle or absolute lifetime (runtime settings)."""
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


def init_auth(app: Flask) -> None:
    service.init_sessions(app)
    login.init_app(app)
    login.session_protection = "basic"
    app.before_request(_touch_session)
