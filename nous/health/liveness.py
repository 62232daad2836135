"""`GET /healthz` answered in front of Flask (nous.front).

Balancers ask for liveness every few seconds from every node, and the answer never depends on
anything: no I/O, no session, no logging, no metrics. So it is answered before Flask builds a request
context and runs the hooks every other request needs, and costs about what a bare WSGI hello-world
costs; the front layer adds the security headers and the `X-Request-ID` echo every response has.
Other methods on the path (HEAD aside) go to Flask's route (405).
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from nous.front import Answer

BODY = b'{"status":"pass"}\n'
ANSWER = Answer(200, [("Content-Type", "application/json"), ("Cache-Control", "no-store")], BODY)


def healthz(_app: Flask, _environ: dict[str, Any]) -> Answer:
    return ANSWER
