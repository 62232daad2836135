"""The layer in front of Flask: handlers answer their (method, path) or pass the request on to Flask."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from flask import current_app, has_app_context

from nous import front
from nous.telemetry.requests import STATS, summary
from nous.web import HSTS, SECURITY_HEADERS

PATH = "/front-probe"


class Probe:
    """A handler whose next answer the test sets (an Answer, None, or an exception to raise); each call
    records whether it ran inside the app context."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.answer: Any = None
        self.in_app_context: list[bool] = []

    def __call__(self, app: Any, _environ: dict[str, Any]) -> front.Answer | None:
        assert app is self.app  # the app the layer is in front of, given as an argument
        self.in_app_context.append(has_app_context() and current_app._get_current_object() is self.app)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.fixture
def probe(app) -> Iterator[Probe]:
    """The probe on GET and HEAD /front-probe, a path Flask has no route for."""
    handler = Probe(app)
    for method in ("GET", "HEAD"):
        front.route(app, method, PATH, handler)
    yield handler
    for method in ("GET", "HEAD"):
        app.extensions[front.EXTENSION].routes.pop((method, PATH))


def _answer(body: bytes = b"hello") -> front.Answer:
    return front.Answer(200, [("Content-Type", "text/plain")], body)


def test_a_handler_answers_with_the_headers_every_response_carries(client, probe) -> None:
    probe.answer = _answer()
    resp = client.get(PATH, headers={"X-Request-ID": "probe-1"})
    assert resp.status_code == 200 and resp.data == b"hello"
    assert resp.headers["Content-Type"] == "text/plain" and resp.headers["Content-Length"] == "5"
    for name, value in SECURITY_HEADERS:
        assert resp.headers[name] == value
    assert resp.headers["X-Request-ID"] == "probe-1"
    assert HSTS[0] not in resp.headers  # plain HTTP
    head = client.head(PATH)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == "5"


def test_over_https_the_answer_carries_hsts(client, probe) -> None:
    probe.answer = _answer()
    resp = client.get(PATH, base_url="https://localhost")
    assert resp.headers[HSTS[0]] == HSTS[1]


def test_a_handler_that_declines_leaves_the_request_to_flask(app, client, probe) -> None:
    probe.answer = None
    seen: list[str] = []
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks.append(lambda: seen.append("flask"))
    try:
        resp = client.get(PATH)
    finally:
        hooks.pop()
    assert resp.status_code == 404 and seen == ["flask"]  # Flask has no such route: its own 404 page


def test_a_handler_that_raises_leaves_the_request_to_flask_and_is_logged(client, probe, caplog) -> None:
    probe.answer = RuntimeError("broken handler")
    logger = logging.getLogger("nous")
    logger.addHandler(caplog.handler)  # the `nous` loggers do not propagate to the root
    try:
        resp = client.get(PATH)
    finally:
        logger.removeHandler(caplog.handler)
    assert resp.status_code == 404
    assert any("front handler failed" in r.getMessage() and r.exc_info for r in caplog.records)


def test_handlers_without_an_endpoint_run_outside_the_app_context_and_are_not_counted(app, probe) -> None:
    probe.answer = _answer()
    STATS.reset()
    assert app.test_client().get(PATH).status_code == 200
    assert not STATS._take()  # nothing counted since the reset
    assert probe.in_app_context == [False]


def test_handlers_with_an_endpoint_are_counted_like_flask_requests_outside_the_app_context(app, redis_conn) -> None:
    handler = Probe(app)
    handler.answer = front.Answer(202, [("Content-Type", "text/plain")], b"")
    front.route(app, "POST", PATH, handler, endpoint="probe.counted")
    STATS.reset()
    try:
        resp = app.test_client().post(PATH)
    finally:
        app.extensions[front.EXTENSION].routes.pop(("POST", PATH))
    assert resp.status_code == 202 and handler.in_app_context == [False]
    STATS.flush(redis_conn)  # (the request may have flushed its count already)
    assert summary(redis_conn)["endpoints"]["probe.counted"]["by_status"] == {"2xx": 1}


def test_behind_a_trusted_proxy_the_layer_sees_the_scheme_the_client_used(app) -> None:
    """The layer sits inside ProxyFix: an answer given in front of Flask is marked HTTPS-only (HSTS)
    when the proxy says the client came over HTTPS."""
    from nous import create_app
    from nous.flags.cache import install

    proxied = create_app({"PROXY_COUNT": 1})
    try:
        client = proxied.test_client()
        assert client.get("/healthz", headers={"X-Forwarded-Proto": "https"}).headers[HSTS[0]] == HSTS[1]
        assert HSTS[0] not in client.get("/healthz").headers
    finally:
        install(app)  # the session's app is again the one set up last
