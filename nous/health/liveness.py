"""`GET /healthz` answered in front of Flask.

Balancers ask for liveness every few seconds from every node, and the answer never depends on
anything: no I/O, no session, no logging, no metrics. So it is written out here, before Flask builds a
request context and runs the hooks every other request needs, and costs about what a bare WSGI
hello-world costs. It keeps what callers see of every response: the security headers and the
`X-Request-ID` echo. Other methods on the path (HEAD aside) fall through to Flask's route (405).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from nous.telemetry.requests import request_id
from nous.web import SECURITY_HEADERS

PATH = "/healthz"
BODY = b'{"status":"pass"}\n'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY))),
           ("Cache-Control", "no-store"), *SECURITY_HEADERS]


class Liveness:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            start_response("200 OK", [*HEADERS, ("X-Request-ID", request_id(environ.get("HTTP_X_REQUEST_ID", "")))])
            return [BODY] if environ["REQUEST_METHOD"] == "GET" else []
        return self.app(environ, start_response)
