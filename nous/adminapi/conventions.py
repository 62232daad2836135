"""What every admin API endpoint has in common, and how an endpoint declares itself.

An endpoint module of `nous.adminapi` writes each handler once, with `@endpoint`:

    @endpoint("PATCH", "/testers/<uuid:tester_id>", scope="testers:write", tag="testers",
              summary="Change a tester's role or notes", body="TesterUpdate", response="Tester",
              if_match=True, errors=(404, 409, 412))
    def update_tester(tester_id): ...

`endpoint` registers the Flask route on the blueprint (`bp`, under /api/admin/v1; `nous.adminapi.aliases`
serves some handlers at the seeds' paths too, on `aliases_bp`), wraps the handler in the token check
(`nous.adminapi.auth.require_scope(scope)`), the per-token rate limit and, with `idempotent=True`, the
`Idempotency-Key` replay; and it adds the operation to /openapi.json: path and query parameters
(`query=[param(...)]`), request body and answer schemas (names of schemas registered with `schemas()`,
or inline schemas), the required scope, the `If-Match`/`Idempotency-Key` headers and the problem answers
(`errors=`: the statuses beyond the ones every operation can answer). Nothing else is needed for an
operation to be documented, fuzzed and shown on /api/docs.

Conventions a client relies on, each implemented once here:

- errors: RFC 9457 `application/problem+json` `{type, title, status, detail, errors}` (`errors` maps each
  field to its message, `{}` when no field is at fault) for everything under the API's paths, routing and
  server errors included (`render_problem`, installed through `nous.errors.RENDERERS`); raise `Problem`;
- bodies: JSON objects only (`body()`; 415 for another content type), read through `nous.inputs`;
- times: RFC 3339 in UTC with a `Z` (`rfc3339`);
- versions: `ETag` is the object's version from its service (`version_of`), `If-Match` hands it back to
  the service's own check (the console's), which refuses a stale one: 412 (`if_match()`, or
  `if_match_version()` where the ETag is a version number; `stale()`);
- lists: a keyset cursor (opaque; `encode_cursor`/`decode_cursor`, `id_cursor` for a list by number),
  `limit` 1–200, a stable order, the next page in `next_cursor` and a `Link: <…>; rel="next"` header (`page()`);
- creating POSTs: `Idempotency-Key` (first answer kept 24 h per token, key, method and path; the same key
  with another body, query or content type is 422; while the first is running, 409);
- a rate limit per token (`adminapi.rate_limit`), Flask-Limiter's: 429 with `Retry-After`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from functools import wraps
from http import HTTPStatus
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, request, stream_with_context
from werkzeug.exceptions import HTTPException, UnsupportedMediaType
from werkzeug.routing import BaseConverter

from nous import idempotency, inputs, openapi
from nous.adminapi.auth import require_scope
from nous.clock import rfc3339 as rfc3339  # re-exported: the endpoint modules take their times from here
from nous.exports import csv_response
from nous.extensions import get_redis, limiter
from nous.settings import service as settings

log = logging.getLogger("nous.adminapi")

PREFIX = "/api/admin/v1"
PROBLEM_MIME = "application/problem+json"
bp = Blueprint("adminapi", __name__, url_prefix=PREFIX)
aliases_bp = Blueprint("adminapi_aliases", __name__)  # the seeds' paths: same handlers, other rules

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


# --------------------------------------------------------------------------- problems


class Problem(HTTPException):
    """An RFC 9457 problem: `Problem(409, "…", errors={"field": "…"}, headers={…})`."""

    def __init__(self, status: int, detail: str, errors: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description=detail)
        self.code = status
        self.errors = errors or {}
        self.extra_headers = headers or {}


def render_problem(status: int, title: str, detail: str, errors: dict[str, str] | None = None) -> Response:
    body = {"type": "about:blank", "title": title or HTTPStatus(status).phrase, "status": status,
            "detail": detail, "errors": errors or {}}
    if request.path:
        body["instance"] = request.path
    return Response(json.dumps(body), status=status, mimetype=PROBLEM_MIME)


def _problem_handler(exc: Problem) -> Response:
    resp = render_problem(exc.code or 400, HTTPStatus(exc.code or 400).phrase, exc.description or "", exc.errors)
    resp.headers.update(exc.extra_headers)
    return resp


def field_errors(exc: Exception, default_field: str = "body") -> dict[str, str]:
    """The per-field messages a service's error carries (`errors`, or `field`/`key` and `message`)."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, dict) and errors:
        return {str(k): str(v) for k, v in errors.items()}
    field = getattr(exc, "field", None) or getattr(exc, "key", None) or default_field
    return {str(field): str(getattr(exc, "message", None) or exc)}


def invalid(exc: Exception, default_field: str = "body", status: int = 422) -> Problem:
    """A service's refusal of what the client sent, as a problem naming the fields."""
    return Problem(status, str(getattr(exc, "message", None) or exc) or "The request is not valid.",
                   field_errors(exc, default_field))


def refused(exc: Exception, default_field: str = "body") -> Problem:
    """A service error (TesterError, FeedbackError, SettingError…) as a problem: its `status` when it has
    one, a 400 of the service (it read the request and found a value it cannot use) as 422."""
    status = int(getattr(exc, "status", 422) or 422)
    if status == 400:
        status = 422
    if status == 404:
        return Problem(404, str(getattr(exc, "message", None) or exc))
    return invalid(exc, default_field, status)


def not_found(what: str) -> Problem:
    return Problem(404, f"No {what} has this id.")


# --------------------------------------------------------------------------- reading and writing


def body(max_bytes: int = inputs.MAX_JSON_BYTES) -> dict[str, Any]:
    """The request's JSON object; 415 unless it was sent as JSON, 413 over `max_bytes` (a view taking more than
    the app's MAX_CONTENT_LENGTH says so with web.body_limit)."""
    mime = request.mimetype or ""
    if mime and mime != "application/json" and not mime.endswith("+json"):
        raise UnsupportedMediaType("Send the body as application/json.")
    return inputs.json_object(max_bytes)


def actor() -> str:
    """Who the audit log names for this call: `token:<the token's name>`."""
    return f"token:{g.api_token}"


def client_ip() -> str:
    return request.remote_addr or ""


def respond(data: Any, status: int = 200, *, version: str | None = None, location: str | None = None) -> Response:
    resp = Response(json.dumps(data, default=str), status=status, mimetype="application/json")
    if version is not None:
        resp.headers["ETag"] = f'"{version}"'
    if location:
        resp.headers["Location"] = location
    return resp


EXPORT_FORMATS = ("csv", "jsonl")
EXPORT_MEDIA = ("text/csv", "application/x-ndjson")  # what `export` answers, for `endpoint(media=…)`


def export_format() -> str:
    return inputs.arg_choice("format", EXPORT_FORMATS, "csv")


def export(fmt: str, filename: str, header: list[str], rows: Iterable[Iterable[Any]],
           objects: Iterable[dict[str, Any]]) -> Response:
    """A streamed export: CSV (`rows` under `header`, safe to open in a spreadsheet) or JSON lines (one
    object of `objects` a line). Only the chosen iterable is consumed."""
    if fmt == "csv":
        return csv_response(f"{filename}.csv", header, rows)
    lines = (json.dumps(obj, default=str) + "\n" for obj in objects)
    return Response(stream_with_context(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{filename}.jsonl"'})


def flag(name: str, value: Any, default: bool = False) -> bool:
    """A boolean of a JSON body (true/false), or 400 naming it."""
    if value is None:
        return default
    if not isinstance(value, bool):
        raise inputs.InputError(name, "must be true or false")
    return value


def text(name: str, value: Any, *, required: bool = False, max_length: int = 100_000) -> str | None:
    """A string of a JSON body (None when absent and not required), or 400 naming it."""
    if value is None:
        if required:
            raise inputs.InputError(name, "is required")
        return None
    if not isinstance(value, str):
        raise inputs.InputError(name, "must be a string")
    if len(value) > max_length:
        raise inputs.InputError(name, f"must be at most {max_length} characters")
    return value


# --------------------------------------------------------------------------- versions


def if_match() -> str | None:
    """The version the client last saw (`If-Match`), or None when it sent none (or `*`): hand it to the
    service's update as its expected version; the service refuses a stale one (then raise `stale()`)."""
    raw = (request.headers.get("If-Match") or "").strip()
    if not raw or raw == "*":
        return None
    first = raw.split(",")[0].strip()
    if first.startswith("W/"):
        first = first[2:]
    value = first.strip('"')
    if not value or len(value) > 200:
        raise Problem(400, "If-Match must be an ETag this API sent.", {"If-Match": "not an ETag"})
    return value


def if_match_version() -> int | None:
    """`if_match()` for an object whose ETag is its version number (a flag, a workflow): that number, or None
    when none was sent; one that cannot be a version (not ASCII digits, or past 64 bits) is stale."""
    sent = if_match()
    if sent is None:
        return None
    if not (sent.isascii() and sent.isdigit()) or len(sent) > 18:  # "¹" is a digit to isdigit, not to int
        raise stale()
    return int(sent)


def stale(exc: Exception | None = None, current: str | None = None) -> Problem:
    detail = "The object changed since you read it: read it again (GET) and send the new ETag in If-Match."
    headers = {"ETag": f'"{current}"'} if current else {}
    return Problem(412, detail, {"If-Match": str(exc) if exc else "stale"}, headers)


# --------------------------------------------------------------------------- pagination


def encode_cursor(*parts: Any) -> str:
    raw = json.dumps([p.isoformat() if isinstance(p, datetime) else p for p in parts], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(raw: str | None, arity: int) -> list[Any] | None:
    """The parts of a cursor this API made, or 400 naming `cursor`; None when there is none."""
    if not raw:
        return None
    try:
        parts = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except (ValueError, binascii.Error):
        parts = None
    if not isinstance(parts, list) or len(parts) != arity or not all(isinstance(p, (str, int)) for p in parts):
        raise inputs.InputError("cursor", "is not a cursor this API gave out")
    return parts


def id_cursor(maximum: int = inputs.INT64_MAX) -> int | None:
    """The number the `cursor` argument holds, for a list ordered by an id or a version (newest first): None on
    the first page; 400 naming `cursor` for anything else (a string, a number no row can have)."""
    cursor = decode_cursor(request.args.get("cursor"), 1)
    if cursor is None:
        return None
    value = cursor[0]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= maximum:
        raise inputs.InputError("cursor", "is not a cursor this API gave out")
    return value


def limit_arg() -> int:
    return inputs.arg_int("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT


def page(items: list[Any], next_cursor: str | None, **extra: Any) -> Response:
    """A page of a list: `{items, next_cursor, …}` and, with a next page, its `Link`."""
    resp = respond({"items": items, "next_cursor": next_cursor, **extra})
    if next_cursor:
        args = request.args.to_dict()
        args["cursor"] = next_cursor
        resp.headers["Link"] = f'<{request.base_url}?{urlencode(args)}>; rel="next"'
    return resp


# --------------------------------------------------------------------------- idempotency


def _idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """The first answer to a creating POST with an `Idempotency-Key` is kept; a retry gets it back
    (nous.idempotency)."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get(idempotency.HEADER)
        if key is None:
            return view(*args, **kwargs)
        if not idempotency.valid_key(key):
            raise Problem(400, f"Idempotency-Key must be {idempotency.KEY_RULE}.",
                          {"Idempotency-Key": idempotency.KEY_RULE})
        fingerprint = request_fingerprint(request.query_string, request.mimetype, request.get_data(cache=True))
        try:
            claim = idempotency.Claim.take(get_redis(), "nous:adminapi:idem:",
                                           f"{g.api_token}\n{key}\n{request.method}\n{request.path}", fingerprint)
        except idempotency.Reused:
            raise Problem(422, "This Idempotency-Key was used with another body; use a new key for a new request.",
                          {"Idempotency-Key": "already used with another body"}) from None
        except idempotency.InProgress:
            raise Problem(409, "A request with this Idempotency-Key is still running; retry in a moment.",
                          {"Idempotency-Key": "in progress"}) from None
        if claim.kept:
            resp = Response(claim.kept["body"], status=claim.kept["status"], headers=claim.kept["headers"])
            resp.headers[idempotency.REPLAYED_HEADER] = "true"
            return resp
        try:
            resp = current_app.make_response(view(*args, **kwargs))
        except Exception:
            claim.forget()
            raise
        if resp.status_code >= 500 or resp.status_code in (409, 429) or resp.is_streamed:
            claim.forget()
            return resp
        claim.keep({"status": resp.status_code, "body": resp.get_data(as_text=True),
                    "headers": {h: resp.headers[h] for h in ("Content-Type", "Location", "ETag") if h in resp.headers}})
        return resp

    return wrapper


def request_fingerprint(query: bytes, mimetype: str, data: bytes) -> str:
    """What a request asked for, to tell a retry from another request under the same key: its query (import's
    `invite`, say) and content type as well as its body."""
    return idempotency.fingerprint(query, mimetype.encode(), data)


# --------------------------------------------------------------------------- rate limit


def _rate_limit() -> str:
    return str(settings.get("adminapi.rate_limit"))


def _token_key() -> str:
    return "adminapi:" + str(getattr(g, "api_token", None) or request.remote_addr)


_per_token = limiter.shared_limit(_rate_limit, scope="adminapi", key_func=_token_key)


# --------------------------------------------------------------------------- declaring an endpoint


INT32_MAX = 2**31 - 1


class IdConverter(BaseConverter):
    """`<int:…>` (a 32-bit id column) or `<bigint:…>` (a 64-bit one) in an admin API rule: any run of ASCII
    digits matches, so the operation asked for answers (404 for an id past what its column holds, read as 0,
    which no row has: the database is never asked about a number it cannot store) instead of another rule
    on the same path (a 405 for a method it lacks)."""

    regex = r"[0-9]{1,400}"
    weight = 50

    def __init__(self, map: Any, max: int = INT32_MAX) -> None:
        super().__init__(map)
        self.max = max

    def to_python(self, value: str) -> int:
        return int(value) if len(value) <= 19 and int(value) <= self.max else 0

    def to_url(self, value: Any) -> str:
        return str(int(value))


CONVERTERS = {"adminapi_id": IdConverter}

_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PARAM_SCHEMAS = {"int": {"type": "integer", "minimum": 0, "maximum": INT32_MAX},
                  "bigint": {"type": "integer", "minimum": 0, "maximum": inputs.INT64_MAX},
                  "uuid": {"type": "string", "format": "uuid"},
                  "path": {"type": "string"}, None: {"type": "string"}, "string": {"type": "string"}}
# Answers every operation can give, and the ones an option adds.
_COMMON_ERRORS = (400, 401, 403, 429, 503)
_STATUS_TEXT = {400: "bad input: `errors` names each field", 401: "no token, or an unknown, expired or revoked one",
                403: "the token lacks the scope named in `detail`", 404: "no such object",
                409: "conflicts with the current state", 412: "stale `If-Match`: read the object again",
                413: "body too large", 415: "the body must be JSON",
                422: "refused as invalid: `errors` names each field",
                429: "rate limit reached: see `Retry-After`",
                503: "the database (or, for an `Idempotency-Key`, Redis) is unreachable: retry after `Retry-After`"}


def param(name: str, schema: dict[str, Any] | None = None, description: str = "", *, where: str = "query",
          required: bool = False, example: Any = None) -> dict[str, Any]:
    """An OpenAPI parameter object (query by default)."""
    out: dict[str, Any] = {"name": name, "in": where, "required": required, "schema": schema or {"type": "string"}}
    if description:
        out["description"] = description
    if example is not None:
        out["example"] = example
    return out


def ref(schema: str | dict[str, Any]) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema


def schemas(**named: dict[str, Any]) -> None:
    """Register components/schemas of /openapi.json."""
    openapi.register({}, schemas=named)


CURSOR_PARAMS = [
    param("cursor", {"type": "string", "maxLength": 1000}, "The `next_cursor` of the previous page."),
    param("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
          "Items per page."),
]


def list_of(item: str | dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "required": ["items", "next_cursor"],
            "properties": {"items": {"type": "array", "items": ref(item)},
                           "next_cursor": {"type": ["string", "null"]}}}


def rule_with_ids(rule: str) -> str:
    """A rule whose `<int:…>`/`<bigint:…>` are the admin API's id converters (`IdConverter`)."""
    return rule.replace("<int:", "<adminapi_id:").replace("<bigint:", f"<adminapi_id(max={inputs.INT64_MAX}):")


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = [param(name, dict(_PARAM_SCHEMAS.get(conv, {"type": "string"})), where="path", required=True)
              for conv, name in _CONVERTER.findall(rule)]
    return _CONVERTER.sub(r"{\2}", rule), params


def _responses(status: int, response: Any, media: str | Sequence[str], errors: Iterable[int],
               headers: dict[str, Any]) -> dict[str, Any]:
    problem = {PROBLEM_MIME: {"schema": ref("Problem")}}
    ok: dict[str, Any] = {"description": HTTPStatus(status).phrase}
    if response is not None and status != 204:
        ok["content"] = {m: {"schema": ref(response)} for m in ((media,) if isinstance(media, str) else media)}
    if headers:
        ok["headers"] = headers
    out = {str(status): ok}
    for code in sorted(set(_COMMON_ERRORS) | set(errors)):
        out[str(code)] = {"description": _STATUS_TEXT.get(code, HTTPStatus(code).phrase), "content": problem}
    return out


def endpoint(method: str, rule: str, *, scope: str, tag: str, summary: str, description: str = "",
             query: Sequence[dict[str, Any]] = (), body: str | dict[str, Any] | None = None,
             body_media: Sequence[str] = ("application/json",), response: Any = None, status: int = 200,
             media: str | Sequence[str] = "application/json", errors: Iterable[int] = (), if_match: bool = False,
             etag: bool = False, paginated: bool = False, idempotent: bool = False, example: Any = None,
             links: dict[str, dict[str, str]] | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a handler as an admin API operation (see the module's docstring). `links` ({name: {operation
    id: {parameter: runtime expression}}}, e.g. `{"get_tester": {"tester_id": "$response.body#/id"}}`)
    become OpenAPI links of the answer: what a client (and the stateful fuzzer) can call next with it."""

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        wrapped = _idempotent(view) if idempotent else view
        wrapped = require_scope(scope)(_per_token(wrapped))
        bp.add_url_rule(rule_with_ids(rule), endpoint=view.__name__, view_func=wrapped, methods=[method])
        _document(method, PREFIX + rule, view, locals_=dict(
            scope=scope, tag=tag, summary=summary, description=description, query=query, body=body,
            body_media=body_media, response=response, status=status, media=media, errors=errors,
            if_match=if_match, etag=etag, paginated=paginated, idempotent=idempotent, example=example,
            links=links))
        return wrapped

    return register


def _document(method: str, rule: str, view: Callable[..., Any], locals_: dict[str, Any]) -> None:
    o = locals_
    headers: dict[str, Any] = {}
    extra_params: list[dict[str, Any]] = list(o["query"])
    errors = set(o["errors"])
    if o["paginated"]:
        extra_params += CURSOR_PARAMS
        headers["Link"] = {"description": 'The next page: `<url>; rel="next"`', "schema": {"type": "string"}}
    if o["etag"] or o["if_match"]:
        headers["ETag"] = {"description": "The object's version, for If-Match", "schema": {"type": "string"}}
    if o["if_match"]:
        extra_params.append(param("If-Match", {"type": "string"}, "The ETag last read; stale: 412.", where="header"))
        errors |= {412}
    if o["idempotent"]:
        extra_params.append(param("Idempotency-Key", {"type": "string", "minLength": 1, "maxLength": 255,
                                                      "pattern": "^[\\x21-\\x7e]+$"},
                                  "Retrying with the same key returns the first answer.", where="header"))
        errors |= {409, 422}
    if o["body"] is not None:
        errors |= {413, 415, 422}
    path, path_params = _openapi_path(rule)
    if path_params:
        errors |= {404}
    op: dict[str, Any] = {
        "operationId": view.__name__,
        "summary": o["summary"], "tags": [openapi.ADMIN_TAG_PREFIX + o["tag"]],
        "description": (o["description"] + "\n\n" if o["description"] else "") + f"Scope: `{o['scope']}`.",
        "security": [{"adminToken": [o["scope"]]}], "x-scopes": [o["scope"]],
        "parameters": path_params + extra_params,
        "responses": _responses(o["status"], o["response"], o["media"], errors, headers),
    }
    if o["body"] is not None:
        op["requestBody"] = {"required": True, "content": {m: {"schema": ref(o["body"])} for m in o["body_media"]}}
    if o["links"]:
        op["responses"][str(o["status"])]["links"] = {
            target: {"operationId": target, "parameters": params} for target, params in o["links"].items()}
    if o["example"] is not None and o["response"] is not None:
        for content in op["responses"][str(o["status"])]["content"].values():
            content["example"] = o["example"]
    openapi.register({path: {method.lower(): op}})


PROBLEM_SCHEMA = {
    "type": "object", "required": ["type", "title", "status", "detail", "errors"],
    "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "One message per field at fault (a body field, a parameter or a header)."},
    },
    "example": {"type": "about:blank", "title": "Unprocessable Content", "status": 422,
                "detail": "email is not a valid email address", "errors": {"email": "not a valid email address"}},
}
openapi.register({}, schemas={"Problem": PROBLEM_SCHEMA}, security_schemes={"adminToken": {
    "type": "http", "scheme": "bearer",
    "description": "An admin API token (`flask nous tokens create NAME --scope SCOPE`, or the console's Tokens "
                   "page), sent as `Authorization: Bearer <token>`. Scopes: testers, feedback, flags, jobs, "
                   "workflows and settings each `:read` or `:write`; `system:read`; `audit:read`; `admin` (all)."}})


def _no_cookies(response: Response) -> Response:
    """Nothing here is tied to a browser: never a cookie, whatever set one."""
    response.headers.remove("Set-Cookie")
    return response


for _bp in (bp, aliases_bp):
    _bp.register_error_handler(Problem, _problem_handler)
    _bp.after_request(_no_cookies)
