"""Every registered route, anonymous and signed in, with hostile values in every input it reads.

The routes come from `app.url_map`, so a route added later is walked without touching this file. Each
one gets hostile values in its path parameters, in the query and form names its module reads (and a
list of common ones), and — for the JSON APIs — in every field of a body and as the body itself:
Unicode digits, integers past 64 bits, 1e309, deep nesting, NUL and control characters, invalid
UTF-8, dates out of range, very long strings, hostile uploads. Whatever the answer, it is never a
5xx, never a traceback, nothing is logged as an unhandled error, a refused request (4xx) stores no
row, and a success carries no Retry-After.
"""

from __future__ import annotations

import inspect
import io
import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text
from werkzeug.routing import Rule
from werkzeug.test import run_wsgi_app
from werkzeug.wsgi import get_current_url

ROOT = Path(__file__).resolve().parent.parent

# Text values for paths, queries and forms.
HOSTILE = [
    "²", "٣", str(2**31), str(2**63), str(2**64), "1" + "0" * 400, "-1", "NaN", "9999-12-31T23:59:59-23:59",
    "0000-00-00",
    "2026-12-01T99:99:99Z", "a\x00b", "\x1b[31m\x07\x7f\u202e", "A" * 5000, "9" * 5000, "[" * 5000,
    '{"a": NaN, "b": 1e999}', "<script>x</script>{{7*7}}", "",
]
# The sharpest of them, sent one name at a time (a name refused first cannot hide another).
SHARP = ["²", "1" + "0" * 400, "9999-12-31T23:59:59-23:59"]
INVALID_UTF8 = "%FF%FE%C0%AF"
# Uploads (fields read with files.get): binary, invalid UTF-8, deep JSON and YAML, impossible dates, NULs.
HOSTILE_FILES = [b"\x89PNG\r\n\x1a\n\x00\x00", b"\xff\xfe\x00g\x00a", b"[" * 5000, b"a:\n" + b"  - [" * 3000,
                 b"a: 0000-00-00\nb: 2026-02-30", b'{"version": 1, "features": ' + b"[" * 1000 + b"}",
                 b"email\nx\x00y@example.com\n" * 50, b"A" * (3 * 1024 * 1024)]
# Names many routes read through helpers and filters (feedback, testers, audit) besides their own.
COMMON_QUERY = ["since", "until", "rating", "category", "feature", "tag", "email", "tester", "actor", "action",
                "target", "id", "page", "verbose", "sort", "type", "key", "code", "state"]
# JSON values (raw JSON text) put in every field of a body.
HOSTILE_JSON = [
    "1e309", "-1e309", "1" + "0" * 400, str(2**64), "NaN", "Infinity", "-1", "0", "1.5", "null", "true", "[]", "{}",
    '"²"', '"\\u0000"', '"\\u0000\\u0001\\u001b"', '"\\ud800"', '"9999-12-31"', '"2026-12-01T99:99:99Z"',
    json.dumps("x" * 100_000), "[" * 200 + "]" * 200, '{"a":' * 200 + "1" + "}" * 200,
]
DEEP_BODIES = ["[" * 5000 + "]" * 5000, '{"a":' * 1100 + "1" + "}" * 1100, "[" * 100_000]
# A body each JSON API accepts, whose every field is then made hostile in turn.
JSON_BASES: dict[str, dict[str, Any]] = {
    "/api/feedback": {"rating": 5, "message": "walker", "category": "bug", "feature": "f", "email": "w@example.com",
                      "page_url": "https://example.com/", "viewport": "10x10", "app_version": "1",
                      "tester_id": "00000000-0000-0000-0000-000000000000", "elapsed_ms": 5000, "website": ""},
    "/api/flags/evaluate": {"userId": "u", "sessionId": "s", "remoteAddress": "10.0.0.1", "environment": "e",
                            "appName": "a", "currentTime": "2026-12-01T09:00:00Z", "properties": {"plan": "pro"}},
    "/api/client/metrics": {"appName": "a", "instanceId": "i", "bucket": {
        "start": "2026-12-01T09:00:00Z", "stop": "2026-12-01T09:01:00Z",
        "toggles": {"walker.flag": {"yes": 1, "no": 2, "variants": {"a": 1}}}}},
    "/api/client/register": {"appName": "a", "instanceId": "i", "sdkVersion": "s", "strategies": ["default"],
                             "started": "2026-12-01T09:00:00Z", "interval": 1000},
}
# Tables a refused request may still write: the audit trail of refusals, the query and request monitors.
MAY_GROW = {"audit_events", "slow_queries", "system_metrics", "system_metrics_hourly", "alembic_version"}
# Ending the walker's own session would leave the rest of the walk anonymous.
NOT_SIGNED_IN = {"admin.logout", "admin.logout_all"}
# 503 is their answer when a part is down or not configured (OpenID Connect sign-in, here)
SERVER_ERROR_OK = {"health.readyz", "health.health_detailed", "admin.login_start"}
TRACEBACK = re.compile(rb"Traceback \(most recent call last\)|File \"/[^\"]+\.py\", line \d+")


def _names(pattern: str, *sources: str) -> set[str]:
    found: set[str] = set()
    for src in sources:
        found.update(re.findall(pattern + r'\(\s*"([^"]+)"', src))
    return found


QUERY_READERS = r"(?:args\.get|args\.getlist|arg_int|arg_choice)"
FORM_READERS = r"(?:form\.get|form\.getlist|form_int|form_ints|files\.get)"


@dataclass
class Walk:
    """What one walk sent and what went wrong."""

    sent: int = 0
    problems: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def problem(self, what: str) -> None:
        if what not in self.seen and len(self.problems) < 200:
            self.seen.add(what)
            self.problems.append(what)


class ErrorLog(logging.Handler):
    """Records logged as unhandled errors (the error handler's and the front layer's)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or record.getMessage() == "unhandled error":
            self.records.append(record)


class WalkerClient(FlaskClient):
    """The test client with its cookies matched on the URL less its query: werkzeug's client rebuilds the
    whole URL, query unquoted, twice a request to match cookies by host and path, which for the walk's
    long hostile queries was a third of its time. The app gets every request as before."""

    def run_wsgi_app(self, environ: dict[str, Any], buffered: bool = False) -> Any:
        query = environ.pop("QUERY_STRING", None)
        self._add_cookies_to_wsgi(environ)
        url = urlsplit(get_current_url(environ))
        if query is not None:
            environ["QUERY_STRING"] = query
        rv = run_wsgi_app(self.application, environ, buffered=buffered)
        self._update_cookies_from_response(url.hostname or "localhost", url.path, rv[2].getlist("Set-Cookie"))
        return rv


@pytest.fixture
def walker_clients(app) -> Iterator[None]:
    """Clients made while it is in use (`client`, `admin_client`) are WalkerClients."""
    plain, app.test_client_class = app.test_client_class, WalkerClient
    try:
        yield
    finally:
        app.test_client_class = plain


@pytest.fixture
def walker(app, ctx) -> Iterator[dict[str, Any]]:
    from nous.extensions import limiter
    from nous.flags import service as flags
    from nous.settings import service as settings

    for key in ("feedback.rate_limit", "api.rate_limit", "auth.rate_limit"):
        settings.set_value(key, "1000000/minute", actor="test")
    token_row, token = flags.create_token("walker", actor="test")
    handler = ErrorLog()
    logging.getLogger("nous").addHandler(handler)  # the app's loggers do not propagate to the root
    try:
        yield {"token": token, "errors": handler, "limiter": limiter, "ids": _seed(token_row.id)}
    finally:
        logging.getLogger("nous").removeHandler(handler)


def _seed(token_id: int) -> dict[str, str]:
    """One row of each kind a path names, so the walk reaches past "not found" into each route's parsing.
    Returns the path parameter values that name them."""
    from nous.email.service import queue_email
    from nous.extensions import db
    from nous.feedback import service as feedback
    from nous.flags import service as flags
    from nous.testers import service as testers
    from nous.workflows import service as workflows

    flags.create_flag({"key": "walker.flag", "enabled": True}, actor="test")
    flags.update_flag("walker.flag", {"description": "second version"}, actor="test")
    segment = flags.save_segment(None, "walker", [], actor="test")
    tester = testers.add("walker@example.com", actor="test")
    fb = feedback.submit({"rating": 3, "message": "walker", "category": "bug", "email": "walker@example.com"})
    outbox = queue_email("walker@example.com", "job_failed", {"task": "t.x", "job_id": "j1", "error": "E"})
    wf = workflows.create(WORKFLOW, "test")
    run = workflows.start_run(wf, {"text": "walker"})
    db.session.commit()
    return {"key": "walker.flag", "version": "1", "segment_id": str(segment.id), "token_id": str(token_id),
            "user_id": str(tester.id), "feedback_id": str(fb.id), "outbox_id": str(outbox), "workflow_id": str(wf.id),
            "run_id": str(run), "fmt": "csv"}


WORKFLOW = """\
name: Walker
trigger: manual
steps:
  - id: classify
    uses: feedback.classify
    with: {text: "${{ text }}"}
"""


def _counts(app) -> dict[str, int]:
    from nous.extensions import db

    tables = [t.name for t in db.metadata.sorted_tables if t.name not in MAY_GROW]
    sql = "SELECT " + ", ".join(f'(SELECT COUNT(*) FROM "{t}")' for t in tables)
    with db.engine.connect() as conn:
        return dict(zip(tables, conn.execute(text(sql)).one(), strict=True))


def _path(rule: Rule, values: dict[str, str]) -> str:
    """The rule's path with raw (already URL-encoded) text in its parameters."""
    return re.sub(r"<(?:[^<>]*:)?([^<>:]+)>", lambda m: values.get(m.group(1), "1"), rule.rule)


def _defaults(rule: Rule, ids: dict[str, str]) -> dict[str, str]:
    """Each path parameter as a seeded row's id (or a harmless value where none is seeded)."""
    return {arg: ids.get(arg, "1") for arg in rule.arguments}


def _encode(value: str) -> str:
    return quote(value, safe="")


def _check(walk: Walk, app, resp: Any, what: str, before: dict[str, int] | None, errors: ErrorLog,
           endpoint: str) -> None:
    walk.sent += 1
    status = resp.status_code
    body = resp.get_data()
    if status >= 500 and not (status == 503 and endpoint in SERVER_ERROR_OK):
        walk.problem(f"{status} {what}: {body[:200]!r}")
    if TRACEBACK.search(body):
        walk.problem(f"traceback in the body: {what}")
    if status < 300 and "Retry-After" in resp.headers:
        walk.problem(f"{status} with Retry-After (only refusals say when to come back): {what}")
    if errors.records:
        rec = errors.records[0]
        kind = rec.exc_info[0].__name__ if rec.exc_info and rec.exc_info[0] else rec.getMessage()
        walk.problem(f"logged {kind} ({status}): {what}")
        errors.records.clear()
    if before is not None and 400 <= status < 500:
        after = _counts(app)
        grown = {t: after[t] - before[t] for t in after if after[t] != before[t]}
        if grown:
            walk.problem(f"{status} but stored {grown}: {what}")


def _source(view: Any) -> str:
    """The source of a view and of the functions of its module it calls (one level: `_filters()`…),
    and of its area's service when it hands the whole query or form over (`parse_filter(request.args)`)."""
    view = inspect.unwrap(view)
    module = sys.modules[view.__module__]
    try:
        texts = [inspect.getsource(view)]
    except (OSError, TypeError):
        return ""
    for name in set(re.findall(r"\b(\w+)\(", texts[0])):
        helper = getattr(module, name, None)
        if inspect.isfunction(helper) and helper.__module__ == module.__name__ and helper is not view:
            texts.append(inspect.getsource(helper))
    joined = "\n".join(texts)
    service = ROOT / (module.__name__.rsplit(".", 1)[0].replace(".", "/") + "/service.py")
    if re.search(r"request\.(args|form)\)", joined) and service.exists():
        texts.append(service.read_text())
    return "\n".join(texts)


def _routes(app) -> list[tuple[Rule, str]]:
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.append((rule, method))
    return out


def _walk(app, client: Any, walker: dict[str, Any], signed_in: bool) -> Walk:
    walk = Walk()
    for rule, method in _routes(app):
        if signed_in and rule.endpoint in NOT_SIGNED_IN:
            continue
        walker["limiter"].reset()
        _walk_route(walk, app, client, walker, rule, method, signed_in)
    return walk


def _walk_route(walk: Walk, app, client: Any, walker: dict[str, Any], rule: Rule, method: str,
                signed_in: bool) -> None:
    errors: ErrorLog = walker["errors"]
    headers = {"Authorization": walker["token"]}
    src = _source(app.view_functions[rule.endpoint])
    queries = sorted(_names(QUERY_READERS, src))
    forms = sorted(_names(FORM_READERS, src)) if method != "GET" else []
    all_queries = sorted(set(queries) | set(COMMON_QUERY))
    defaults = _defaults(rule, walker["ids"])
    base = _path(rule, defaults)

    def go(url: str, what: str, **kwargs: Any) -> None:
        before = _counts(app) if method != "GET" else None
        resp = client.open(url, method=method, headers=headers, **kwargs)
        _check(walk, app, resp, f"{method} {what}", before, errors, rule.endpoint)

    # every parameter of the path, one at a time
    for arg in rule.arguments:
        for value in [*HOSTILE, INVALID_UTF8]:
            raw = value if value == INVALID_UTF8 else _encode(value)
            url = _path(rule, {**defaults, arg: raw})
            go(url, f"{rule.rule} {arg}={value[:30]!r}")
    # every query and form name at once, for each value (a few where the view reads neither)
    for value in [*HOSTILE, INVALID_UTF8] if queries or forms else [*SHARP, INVALID_UTF8]:
        raw = value if value == INVALID_UTF8 else _encode(value)
        query = "&".join(f"{name}={raw}" for name in all_queries)
        if forms:
            body = "&".join(f"{name}={raw}" for name in forms).encode()
            go(f"{base}?{query}", f"{rule.rule} query+form={value[:30]!r}", data=body,
               content_type="application/x-www-form-urlencoded")
        else:
            go(f"{base}?{query}", f"{rule.rule} query={value[:30]!r}")
    # one name at a time (a name refused first cannot hide another)
    if signed_in or rule.rule.startswith("/api/"):
        for name in queries:
            for value in SHARP:
                go(f"{base}?{name}={_encode(value)}", f"{rule.rule} ?{name}={value[:30]!r}")
        for name in forms:
            for value in SHARP:
                go(base, f"{rule.rule} form {name}={value[:30]!r}", data={name: value})
    # uploads, for the forms that take a file
    for name in (n for n in forms if n == "file"):
        for content in HOSTILE_FILES:
            go(base, f"{rule.rule} upload {content[:30]!r}", data={name: (io.BytesIO(content), "upload.txt")},
               content_type="multipart/form-data")
    # JSON bodies: deep ones, and every field of an accepted body made hostile in turn
    if method == "POST" and rule.rule in JSON_BASES:
        for raw_body in [*DEEP_BODIES, *_field_bodies(JSON_BASES[rule.rule])]:
            go(base, f"{rule.rule} json {raw_body[:60]!r}", data=raw_body.encode("utf-8", "surrogatepass"),
               content_type="application/json")
        go(base, f"{rule.rule} json invalid UTF-8", data=b'{"message": "\xff\xfe", "appName": "\xc0\xaf"}',
           content_type="application/json")


def _leaves(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))


def _field_bodies(base: dict[str, Any]) -> Iterator[str]:
    """`base` as JSON text with one field (at any depth, the whole body too) replaced by each hostile value."""
    marker = "\x01HOSTILE\x01"
    for path in _leaves(base):
        if not path:
            continue
        doc = json.loads(json.dumps(base))
        node = doc
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = marker
        skeleton = json.dumps(doc)
        for raw in HOSTILE_JSON:
            yield skeleton.replace(json.dumps(marker), raw)


def _report(walk: Walk, started: float) -> str:
    return (f"{walk.sent} requests in {time.monotonic() - started:.1f} s; {len(walk.problems)} problems:\n"
            + "\n".join(walk.problems))


def test_every_route_survives_hostile_input_anonymously(app, walker_clients, client, walker) -> None:
    started = time.monotonic()
    walk = _walk(app, client, walker, signed_in=False)
    assert not walk.problems, _report(walk, started)
    assert walk.sent > 1000


def test_every_route_survives_hostile_input_signed_in(app, walker_clients, admin_client, walker) -> None:
    assert admin_client.get("/admin/beta/").status_code == 200  # signed in indeed
    started = time.monotonic()
    walk = _walk(app, admin_client, walker, signed_in=True)
    assert admin_client.get("/admin/beta/").status_code == 200  # and still, after the walk
    assert not walk.problems, _report(walk, started)
    assert walk.sent > 3000
