"""Requests answered in front of Flask, for the few endpoints machines call thousands of times a second.

Liveness probes (`GET /healthz`) and flag evaluations (`POST /api/flags/evaluate`) need nothing of
what Flask does per request for the console — request context, session, CSRF, sign-in, templates —
and that machinery costs several times the work they do. An area registers a handler for a method and
a path (`route`); the handler gets the app and the WSGI environ and returns an `Answer`, or None to pass
the request on to Flask as usual. So Flask's route stays the one authority for everything a handler does
not take on (errors above all: 400, 401, 413, 429 and their messages), and a handler only takes the
common case.

Every answer carries what every Flask response carries: the security headers (HSTS over HTTPS) and
the `X-Request-ID` echo. A handler registered with an `endpoint` name is counted, logged and timed
under that name exactly like a request Flask answered (telemetry); one without is not (liveness: no
I/O, nothing to count). A handler that raises passes the request on to Flask, which answers it in its
own way.

Handlers run outside the app context: pushing and popping one (its signals, the database session's
teardown) on every request is work none of them needs. So a handler reads what it needs
from the app it is given — its Redis, its caches by name — and the caches that load from the database
push the app's context themselves when a load is due (nous.versioned).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, NamedTuple

from flask import Flask

from nous.telemetry import maybe_flush
from nous.telemetry.requests import observe, request_id
from nous.web import HSTS, SECURITY_HEADERS

log = logging.getLogger("nous.front")

EXTENSION = "nous.front"
_NO_BODY = frozenset({204, 304})
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}


class Answer(NamedTuple):
    status: int
    headers: list[tuple[str, str]]  # without Content-Length, security headers and X-Request-ID
    body: bytes


Handler = Callable[[Flask, dict[str, Any]], Answer | None]


class _Route(NamedTuple):
    handler: Handler
    endpoint: str | None


class Front:
    """WSGI middleware: registered (method, path) pairs are offered to their handler first."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.flask = app
        self.app = wsgi_app  # Flask's own WSGI callable: what every request not answered here goes to
        self.routes: dict[tuple[str, str], _Route] = {}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        route = self.routes.get((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        if route is not None:
            started = time.perf_counter()
            answer = _ask(route.handler, self.flask, environ)
            if answer is not None:
                return self._send(environ, start_response, answer, route.endpoint, started)
        return self.app(environ, start_response)

    def _send(self, environ: dict[str, Any], start_response: Callable[..., Any], answer: Answer,
              endpoint: str | None, started: float) -> Iterable[bytes]:
        rid = request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        length = [] if answer.status in _NO_BODY else [("Content-Length", str(len(answer.body)))]
        headers = [*answer.headers, *length, *SECURITY_HEADERS, ("X-Request-ID", rid)]
        if environ.get("wsgi.url_scheme") == "https":
            headers.append(HSTS)
        start_response(_STATUS_LINES[answer.status], headers)
        if endpoint is not None:
            observe(environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", ""), endpoint, answer.status,
                    (time.perf_counter() - started) * 1000, rid)
            maybe_flush(self.flask.extensions["nous.redis"])
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]


def _ask(handler: Handler, app: Flask, environ: dict[str, Any]) -> Answer | None:
    try:
        return handler(app, environ)
    except Exception:
        log.exception("front handler failed; passing the request to Flask", extra={"path": environ.get("PATH_INFO")})
        return None


def init_app(app: Flask) -> Front:
    """Put the front layer directly around Flask (inside ProxyFix, so handlers see the client's scheme)."""
    front = Front(app, app.wsgi_app)
    app.wsgi_app = front  # type: ignore[method-assign]
    app.extensions[EXTENSION] = front
    return front


def route(app: Flask, method: str, path: str, handler: Handler, endpoint: str | None = None) -> None:
    """Offer `method path` requests to `handler` before Flask; `endpoint` names them in telemetry."""
    app.extensions[EXTENSION].routes[(method, path)] = _Route(handler, endpoint)


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header accepts gzip (by name or `*`, with a q-value above 0). A named gzip
    decides whatever `*` says (`gzip;q=0, *` refuses it), which werkzeug's Accept, ordered by quality, does
    not."""
    wanted = False
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if name not in {"gzip", "x-gzip", "*"}:
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if name == "*":
            wanted = wanted or q > 0
            continue
        return q > 0  # a named gzip decides, whatever `*` says
    return wanted
