"""Shared web plumbing: page-or-fragment rendering, CSRF, security headers, safe `next` paths."""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, render_template, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from jinja2_fragments.flask import render_block

from nous import humanize

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
F = TypeVar("F", bound=Callable[..., Any])
# Public endpoints that take no cookies, so they cannot be forged across sites.
CSRF_EXEMPT_PREFIXES = ("/api/", "/ofrep/")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'"
)


def is_fragment_request() -> bool:
    """An HTMX request that wants a fragment (not a boosted navigation, not a history restore)."""
    h = request.headers
    return (h.get("HX-Request") == "true" and h.get("HX-Boosted") != "true"
            and h.get("HX-History-Restore-Request") != "true")


def render(page: str, fragment: str | None = None, *, block: str | None = None, **context: Any) -> str:
    """The fragment for HTMX, the whole page otherwise: every fragment URL also works as a page. The
    fragment is one `{% block %}` of the page (`block`, rendered alone by jinja2-fragments) or, where a
    page has not been made so yet, a template of its own (`fragment`)."""
    if is_fragment_request():
        if block:
            return render_block(page, block, **context)
        if fragment:
            return render_template(fragment, **context)
    return render_template(page, **context)


TRIGGER = "HX-Trigger"


def toast(resp: Response, message: str, kind: str = "success", refresh: str = "") -> Response:
    """Show `message` as a toast (the console's app.js listens for the `toast` event) and, with `refresh`,
    trigger that event too; events the answer already triggers are kept."""
    current = resp.headers.get(TRIGGER, "").strip()
    if current.startswith("{"):
        events: dict[str, Any] = json.loads(current)
    else:  # htmx also takes a comma-separated list of event names
        events = {name.strip(): True for name in current.split(",") if name.strip()}
    events["toast"] = {"message": message, "kind": kind}
    if refresh:
        events[refresh] = True
    resp.headers[TRIGGER] = json.dumps(events)
    return resp


def args_with(**overrides: Any) -> dict[str, Any]:
    """The current query arguments with some replaced (None removes one): for pagination links."""
    args = request.args.to_dict()
    for key, value in overrides.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return args


def csrf_token() -> str:
    token = session.get("_csrf")
    if not token:
        token = session["_csrf"] = secrets.token_urlsafe(32)
    return token


def body_limit(max_bytes: int) -> Callable[[F], F]:
    """A view that takes bodies larger than the app's MAX_CONTENT_LENGTH (a file upload): the limit applies
    from the start of the request, as the CSRF check reads the form before the view. Put it next to the route."""
    def mark(view: F) -> F:
        view.max_content_length = max_bytes  # type: ignore[attr-defined]
        return view
    return mark


def _apply_body_limit() -> None:
    view = current_app.view_functions.get(request.endpoint or "")
    limit = getattr(view, "max_content_length", None)
    # A console view's larger body is read for the signed-in admin only: the CSRF check reads the form before
    # the view's guard, so anyone else keeps the app's limit (`admin_only` marks a view admin_required guards).
    if limit and (not getattr(view, "admin_only", False) or current_user.is_authenticated):
        request.max_content_length = limit


def _check_csrf() -> None:
    if request.method in SAFE_METHODS or request.path.startswith(CSRF_EXEMPT_PREFIXES):
        return
    if request.routing_exception is not None:  # 404/405 answer for themselves
        return
    if request.endpoint and request.endpoint.startswith("health."):
        return
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD, "")
    expected = session.get("_csrf", "")
    if not expected or not sent or not hmac.compare_digest(sent, expected):
        abort(400, description="The form's security token is missing or out of date. Reload the page and try again.")


def safe_next(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default` (no open redirects)."""
    if not target:
        return default
    target = target.strip().replace("\\", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    if any(ord(c) < 32 for c in target):
        return default
    return target


SECURITY_HEADERS = (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")  # added over HTTPS


def _security_headers(response: Response) -> Response:
    h = response.headers
    if "Content-Security-Policy" in h:  # a route that set its own policy keeps it
        for key, value in SECURITY_HEADERS[1:]:
            h.setdefault(key, value)
    else:
        h.extend(SECURITY_HEADERS)
    if request.is_secure:
        h.setdefault(*HSTS)
    return response


# Paths served without a session: probes, the public API, the widget and static files never need one.
SESSIONLESS_PREFIXES = ("/healthz", "/readyz", "/api/", "/ofrep/", "/widget.js", "/static/")


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure whenever the request came over HTTPS."""

    def open_session(self, app: Flask, request: Any) -> Any:
        if request.path.startswith(SESSIONLESS_PREFIXES):
            return None  # Flask then uses a null session: nothing read, nothing written
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or request.is_secure)


def init_app(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.config.update(
        SESSION_COOKIE_NAME="nous_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=app.config["SYSTEM_BASE_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),  # the real limits are checked per request (auth)
        # The cookie is written only when the session changed: answers to background requests (panels that
        # refresh themselves) would otherwise put back an older cookie over a newer one, losing its message.
        SESSION_REFRESH_EACH_REQUEST=False,
    )
    app.before_request(_apply_body_limit)
    app.before_request(_check_csrf)
    app.after_request(_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["is_fragment_request"] = is_fragment_request
    app.jinja_env.globals["args_with"] = args_with
    app.jinja_env.filters.update(humanize.FILTERS)
