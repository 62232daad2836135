"""The client APIs: `POST /api/flags/evaluate` and the Unleash client API that the official SDKs use.

    POST /api/flags/evaluate      a context in, every flag's answer out
    GET  /api/client/features     flags and segments in Unleash's client-API format (ETag / 304)
    POST /api/client/register     an SDK says hello (202)
    POST /api/client/metrics      an SDK's yes/no and variant counts, kept per environment beside ours (202)

All need a client token (created in the console or with `flask nous flags tokens create`) in the
`Authorization` header, raw as the Unleash SDKs send it or as `Bearer <token>`. Tokens are checked
against the in-memory snapshot, so a request does no SQL at all. Limits: the setting
`api.rate_limit`, per token (per IP without a valid token), shared by every process through quota
leased from Redis in blocks (`nous.flags.limits`), so most requests make no Redis call at all.

A successful evaluation is answered in front of Flask (`evaluate_in_front`, through `nous.front`): it
needs no session, CSRF check or sign-in, and Flask's per-request machinery cost several times the
evaluation of twenty flags. Every other outcome is left to the Flask route, which says what is wrong.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable
from datetime import datetime
from functools import partial, wraps
from operator import getitem
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.http import parse_etags

from nous import inputs, openapi
from nous.errors import error_response
from nous.extensions import get_redis
from nous.flags import api_bp
from nous.flags import service as flags
from nous.flags.cache import EVALS, EnvironmentFlags, evaluate_all_json, snapshot
from nous.flags.limits import LIMITER
from nous.front import Answer, accepts_gzip
from nous.settings import service as settings

TEXT_MAX = 1000
PROPERTIES_MAX = 200
PROPERTY_NAME_MAX = 200
TOGGLES_MAX = 10_000
VARIANTS_MAX = 100
COUNT_MAX = 10**12
INTERVAL_MAX = 2**31 - 1  # an SDK's refresh interval in ms: the longest a JavaScript timer can wait (24.8 days)
CONTEXT_FIELDS = ("userId", "sessionId", "remoteAddress", "environment", "appName")
_BODY_FIELDS = frozenset({*CONTEXT_FIELDS, "currentTime", "properties"})
# RFC 3339 date-time, as JSON Schema's "date-time" format (leap seconds and lower-case t/z included)
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


# --------------------------------------------------------------------------- tokens and limits


def _presented_token(environ: dict[str, Any]) -> str:
    raw = environ.get("HTTP_AUTHORIZATION", "").strip()
    if raw[:7].lower() == "bearer ":
        raw = raw[7:].strip()
    return raw


def _client(environ: dict[str, Any], app: Flask | None = None) -> tuple[int, str, str] | None:
    """The (id, name, environment) of the valid token sent with this request, or None (remembered per request).
    `app`: the app answering in front of Flask, outside its context (else the current app)."""
    if "nous.flags.client" not in environ:
        raw = _presented_token(environ)
        environ["nous.flags.client"] = snapshot(app).client(raw) if raw and len(raw) <= 512 else None
    return environ["nous.flags.client"]


def _refusal(environ: dict[str, Any], app: Flask | None = None) -> tuple[int, str] | None:
    """Count this request against the setting `api.rate_limit`, per token (per IP without a valid one),
    once, whether it is answered in front of Flask or by it: None when allowed, else (Retry-After, limit)."""
    if "nous.flags.limit" not in environ:
        client = _client(environ, app)
        key = f"flags-token:{client[0]}" if client else f"flags-ip:{environ.get('REMOTE_ADDR') or '127.0.0.1'}"
        conn = get_redis if app is None else partial(getitem, app.extensions, "nous.redis")
        environ["nous.flags.limit"] = LIMITER.hit(conn, key, settings.get("api.rate_limit", app))
    return environ["nous.flags.limit"]


def rate_limited(view: Callable[..., Any]) -> Callable[..., Any]:
    """The setting `api.rate_limit` per token (per IP without a valid token): 429 with Retry-After."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        refused = _refusal(request.environ)
        if refused is not None:
            retry_after, limit = refused
            resp = error_response(429, "Too Many Requests",
                                  f"The rate limit of {limit} is used up; try again in {retry_after} s.")
            resp.headers["Retry-After"] = str(retry_after)
            return resp
        return view(*args, **kwargs)

    return wrapped


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        client = _client(request.environ)
        if client is None:
            resp = error_response(401, "Unauthorized", "Send a client token in the Authorization header "
                                                       "(create one in the console under Feature flags → Tokens).")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="nous-flags"'
            return resp
        EVALS.token_used(client[0])
        return view(*args, **kwargs)

    return wrapped


def _invalid(errors: dict[str, str], message: str = "Some fields need attention.") -> tuple[Response, int]:
    return jsonify({"error": "Bad Request", "message": message, "errors": errors}), 400


# --------------------------------------------------------------------------- validation


_ABSENT = object()


def _text(value: Any, where: str, errors: dict[str, str], required: bool = False) -> str | None:
    """A string field; `_ABSENT` when not sent (an explicit null is not a string)."""
    if value is _ABSENT:
        if required:
            errors[where] = "required"
        return None
    if not isinstance(value, str):
        errors[where] = "must be a string"
        return None
    if len(value) > TEXT_MAX:
        errors[where] = f"at most {TEXT_MAX} characters"
        return None
    if required and not value:
        errors[where] = "required"
    return value


def parse_context(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """A context from a request body: the spec's fields, checked; unknown fields are refused."""
    errors: dict[str, str] = {}
    ctx: dict[str, Any] = {}
    for name in data:
        if name not in _BODY_FIELDS:
            errors[str(name)[:100]] = "unknown context field; put your own fields in properties"
    for name in CONTEXT_FIELDS:
        value = data.get(name, _ABSENT)
        if value.__class__ is str and len(value) <= TEXT_MAX:  # the common case, as _text would have it
            ctx[name] = value
        elif value is not _ABSENT:
            value = _text(value, name, errors)
            if value is not None:
                ctx[name] = value
    when = data.get("currentTime", _ABSENT)
    if when is not _ABSENT:
        if not isinstance(when, str) or not _DATE_TIME.match(when):
            errors["currentTime"] = "expected an RFC 3339 date-time like 2026-12-01T09:00:00Z"
        else:
            text = when.upper().replace(" ", "T").replace("Z", "+00:00")
            if text[17:19] == "60":  # a leap second (RFC 3339 allows :60) counts as the second before it
                text = text[:17] + "59" + text[19:]
            try:
                ctx["currentTime"] = datetime.fromisoformat(text)
            except ValueError:  # an hour, minute or day the calendar lacks (99:99:99, 02-30)
                errors["currentTime"] = "not a real date and time (hours 00-23, minutes and seconds 00-59)"
    props = data.get("properties", _ABSENT)
    if props is not _ABSENT:
        if not isinstance(props, dict):
            errors["properties"] = "must be an object"
        elif len(props) > PROPERTIES_MAX:
            errors["properties"] = f"at most {PROPERTIES_MAX} properties"
        else:
            clean: dict[str, Any] = {}
            for k, v in props.items():
                if len(k) <= PROPERTY_NAME_MAX and v.__class__ is str and len(v) <= TEXT_MAX:
                    clean[k] = v  # the common case, checked in one line
                    continue
                where = f"properties.{k}"[:200]
                if len(k) > PROPERTY_NAME_MAX:
                    errors[where] = f"property names have at most {PROPERTY_NAME_MAX} characters"
                elif isinstance(v, bool) or inputs.finite(v):
                    clean[k] = v
                elif isinstance(v, str):
                    if len(v) > TEXT_MAX:
                        errors[where] = f"at most {TEXT_MAX} characters"
                    else:
                        clean[k] = v
                else:
                    errors[where] = "must be a string, number or boolean"
            ctx["properties"] = clean
    return ctx, errors


def _count(value: Any, where: str, errors: dict[str, str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= COUNT_MAX:
        errors[where] = f"a whole number from 0 to {COUNT_MAX}"
        return 0
    return value


def parse_metrics(data: dict[str, Any]) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
    """The toggles of an SDK's metrics report: {flag: {yes, no, variants: {name: count}}}."""
    errors: dict[str, str] = {}
    _text(data.get("appName", _ABSENT), "appName", errors, required=True)
    _text(data.get("instanceId", _ABSENT), "instanceId", errors)
    bucket = data.get("bucket")
    toggles: dict[str, dict[str, int]] = {}
    if not isinstance(bucket, dict):
        errors["bucket"] = "required object with start, stop and toggles"
        return toggles, errors
    for name in ("start", "stop"):
        if name in bucket and not isinstance(bucket[name], str):
            errors[f"bucket.{name}"] = "must be a date-time string"
    raw = bucket.get("toggles")
    if not isinstance(raw, dict):
        errors["bucket.toggles"] = "required object {flag: {yes, no}}"
        return toggles, errors
    if len(raw) > TOGGLES_MAX:
        errors["bucket.toggles"] = f"at most {TOGGLES_MAX} flags per report"
        return toggles, errors
    for key, counts in raw.items():
        where = f"bucket.toggles.{key}"[:200]
        if not isinstance(counts, dict):
            errors[where] = "must be an object {yes, no}"
            continue
        yes = _count(counts.get("yes", 0), f"{where}.yes", errors)
        no = _count(counts.get("no", 0), f"{where}.no", errors)
        variants = counts.get("variants", {})
        if not isinstance(variants, dict) or len(variants) > VARIANTS_MAX or not all(
                len(name) <= TEXT_MAX and not isinstance(n, bool) and isinstance(n, int) and 0 <= n <= COUNT_MAX
                for name, n in variants.items()):
            errors[f"{where}.variants"] = (f"must be an object {{variant: count}} of at most {VARIANTS_MAX} variants "
                                           f"with names of at most {TEXT_MAX} characters")
            variants = {}
        toggles[key] = {"yes": yes, "no": no, "variants": variants}
    return toggles, errors


def parse_registration(data: dict[str, Any]) -> dict[str, str]:
    errors: dict[str, str] = {}
    _text(data.get("appName", _ABSENT), "appName", errors, required=True)
    for name in ("instanceId", "sdkVersion", "environment", "started", "connectionId"):
        _text(data.get(name, _ABSENT), name, errors)
    strategies = data.get("strategies", _ABSENT)
    if strategies is not _ABSENT and (not isinstance(strategies, list) or not all(
            isinstance(s, str) and len(s) <= TEXT_MAX for s in strategies) or len(strategies) > 1000):
        errors["strategies"] = "must be a list of strategy names"
    interval = data.get("interval", _ABSENT)
    if interval is not _ABSENT and (isinstance(interval, bool) or not isinstance(interval, (int, float))
                                 or not math.isfinite(interval) or not 0 <= interval <= INTERVAL_MAX):
        errors["interval"] = f"must be a number of milliseconds from 0 to {INTERVAL_MAX}"
    return errors


# --------------------------------------------------------------------------- routes


def _evaluation(context: dict[str, Any], environment: str, app: Flask | None = None) -> bytes:
    # the engine writes the JSON from pieces made when the flags were loaded (no dicts, no encoding)
    return ('{"flags":' + evaluate_all_json(context, environment, app) + "}").encode()


@api_bp.post("/api/flags/evaluate")
@rate_limited
@token_required
def evaluate() -> Any:
    data = inputs.json_object()  # 400 naming the body when it is not a JSON object within the limits
    context, errors = parse_context(data)
    if errors:
        return _invalid(errors)
    return Response(_evaluation(context, _client(request.environ)[2]),  # type: ignore[index]
                    mimetype="application/json", headers={"Cache-Control": "no-store"})


EVALUATION_HEADERS = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
FRONT_BODY_MAX = 64 * 1024


def evaluate_in_front(app: Flask, environ: dict[str, Any]) -> Answer | None:
    """`POST /api/flags/evaluate` before Flask (nous.front) when the answer is the evaluation: a valid
    token under its limit and a valid context in a body of known length. Anything else goes on to
    `evaluate` above, which says what is wrong (the token and the limit are not counted twice)."""
    client = _client(environ, app)
    if client is None or _refusal(environ, app) is not None:
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= FRONT_BODY_MAX:
        return None
    body = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(body)  # Flask reads it again if it answers instead
    try:
        data = inputs.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    context, errors = parse_context(data)
    if errors:
        return None
    EVALS.token_used(client[0])
    return Answer(200, EVALUATION_HEADERS, _evaluation(context, client[2], app))


@api_bp.get("/api/client/features")
@rate_limited
@token_required
def client_features() -> Any:
    prefix = request.args.get("namePrefix", "")
    if len(prefix) > 200:
        return _invalid({"namePrefix": "at most 200 characters"})
    environment = _client(request.environ)[2]  # type: ignore[index]
    here = snapshot().env(environment)
    projects = [p for p in request.args.getlist("project") if p]
    if not prefix and not projects:
        answer = _features_answer(request.environ, here)
        return Response(answer.body, status=answer.status, headers=answer.headers)
    etag = flags.token_hash(f"{here.etag}|{prefix}|{','.join(sorted(projects))}")[:32]
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
        resp.set_etag(etag)
        return resp
    features = here.features
    if prefix:
        features = [f for f in features if f["name"].startswith(prefix)]
    if projects and "default" not in projects:
        features = []
    query: dict[str, Any] = {}
    if prefix:
        query["namePrefix"] = prefix
    if projects:
        query["project"] = projects
    resp = jsonify(here.client_document(features, etag, query))
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _features_answer(environ: dict[str, Any], here: EnvironmentFlags) -> Answer:
    """Every flag of `here` for an SDK: 304 when it holds them (If-None-Match, in either encoding), else the
    bytes made once per snapshot, gzip-compressed when the client accepts it. The gzip bytes have an ETag of
    their own (`<etag>-gz`): a strong ETag names one representation."""
    compressed = accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
    etag = f"{here.etag}-gz" if compressed else here.etag
    headers = [("ETag", f'"{etag}"'), ("Cache-Control", "no-cache"), ("Vary", "Accept-Encoding")]
    held = parse_etags(environ.get("HTTP_IF_NONE_MATCH"))
    if held.contains_weak(here.etag) or held.contains_weak(f"{here.etag}-gz"):
        return Answer(304, headers, b"")
    headers.append(("Content-Type", "application/json"))
    if compressed:
        headers.append(("Content-Encoding", "gzip"))
    return Answer(200, headers, here.client_answer(compressed))


def client_features_in_front(app: Flask, environ: dict[str, Any]) -> Answer | None:
    """`GET /api/client/features` before Flask (nous.front) in the SDKs' common case: a valid token under
    its limit and no query. Anything else goes on to `client_features` above."""
    if environ.get("QUERY_STRING"):
        return None
    client = _client(environ, app)
    if client is None or _refusal(environ, app) is not None:
        return None
    EVALS.token_used(client[0])
    return _features_answer(environ, snapshot(app).env(client[2]))


@api_bp.post("/api/client/register")
@rate_limited
@token_required
def client_register() -> Any:
    data = inputs.json_object()  # 400 naming the body when it is not a JSON object within the limits
    errors = parse_registration(data)
    if errors:
        return _invalid(errors)
    token_id, name, environment = _client(request.environ)  # type: ignore[misc]
    flags.record_client(data, name, environment, token_id=token_id)
    return Response(status=202)


@api_bp.post("/api/client/metrics")
@rate_limited
@token_required
def client_metrics() -> Any:
    data = inputs.json_object()  # 400 naming the body when it is not a JSON object within the limits
    toggles, errors = parse_metrics(data)
    if errors:
        return _invalid(errors)
    environment = _client(request.environ)[2]  # type: ignore[index]
    flags.record_metrics(toggles, snapshot().env(environment).variants, environment=environment,
                         app_name=data["appName"], instance_id=str(data.get("instanceId") or ""),
                         sdk=flags.sdk_name(request.headers.get("Unleash-SDK", ""), data))
    return Response(status=202)


# --------------------------------------------------------------------------- /openapi.json

_TEXT = {"type": "string", "maxLength": TEXT_MAX}
CONTEXT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "description": "Who is asking. Tester overrides apply when userId is a tester's id or email.",
    "properties": {
        "userId": _TEXT, "sessionId": _TEXT, "remoteAddress": _TEXT, "environment": _TEXT, "appName": _TEXT,
        "currentTime": {"type": "string", "format": "date-time",
                        "description": "RFC 3339; the server's clock when absent."},
        "properties": {"type": "object", "maxProperties": PROPERTIES_MAX,
                       "propertyNames": {"maxLength": PROPERTY_NAME_MAX},
                       "additionalProperties": {"anyOf": [_TEXT, {"type": "number"}, {"type": "boolean"}]}},
    },
}
PAYLOAD = {"type": "object", "required": ["type", "value"],
           "properties": {"type": {"enum": ["string", "json", "csv", "number"]}, "value": {"type": "string"}}}
VARIANT = {
    "type": "object", "required": ["name", "enabled", "feature_enabled", "payload"],
    "properties": {"name": {"type": "string"}, "enabled": {"type": "boolean"},
                   "feature_enabled": {"type": "boolean"},
                   "payload": {"anyOf": [{"$ref": "#/components/schemas/FlagVariantPayload"}, {"type": "null"}]}},
}
EVALUATION = {
    "type": "object", "required": ["flags"], "additionalProperties": False,
    "properties": {"flags": {"type": "object", "additionalProperties": {
        "type": "object", "required": ["enabled", "variant"], "additionalProperties": False,
        "properties": {"enabled": {"type": "boolean"}, "variant": {"$ref": "#/components/schemas/FlagVariant"}}}}},
}
_CONSTRAINT = {"type": "object", "required": ["contextName", "operator"],
               "properties": {"contextName": {"type": "string"}, "operator": {"type": "string"},
                              "values": {"type": "array", "items": {"type": "string"}}, "value": {"type": "string"},
                              "inverted": {"type": "boolean"}, "caseInsensitive": {"type": "boolean"}}}
CLIENT_FEATURES = {
    "type": "object", "required": ["version", "features", "segments"],
    "properties": {
        "version": {"const": 2},
        "features": {"type": "array", "items": {
            "type": "object", "required": ["name", "type", "enabled", "stale", "strategies", "variants"],
            "properties": {
                "name": {"type": "string"}, "type": {"type": "string"}, "description": {"type": "string"},
                "enabled": {"type": "boolean"}, "stale": {"type": "boolean"}, "impressionData": {"type": "boolean"},
                "project": {"type": "string"},
                "strategies": {"type": "array", "items": {
                    "type": "object", "required": ["name", "parameters", "constraints"],
                    "properties": {"name": {"type": "string"}, "parameters": {"type": "object"},
                                   "constraints": {"type": "array", "items": _CONSTRAINT},
                                   "segments": {"type": "array", "items": {"type": ["integer", "string"]}},
                                   "variants": {"type": "array", "items": {"type": "object"}}}}},
                "variants": {"type": "array", "items": {"type": "object", "required": ["name", "weight"],
                                                        "properties": {"name": {"type": "string"},
                                                                       "weight": {"type": "integer"}}}},
                "dependencies": {"type": "array", "items": {
                    "type": "object", "required": ["feature"],
                    "properties": {"feature": {"type": "string"}, "enabled": {"type": "boolean"},
                                   "variants": {"type": "array", "items": {"type": "string"}}}}},
            }}},
        "segments": {"type": "array", "items": {
            "type": "object", "required": ["id", "constraints"],
            "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                           "constraints": {"type": "array", "items": _CONSTRAINT}}}},
        "query": {"type": "object"},
        "meta": {"type": "object"},
    },
}
_NAME = {"type": "string", "minLength": 1, "maxLength": TEXT_MAX}
REGISTRATION = {
    "type": "object", "required": ["appName"],
    "description": "What the Unleash SDKs send when they start; other fields are accepted and ignored.",
    "properties": {"appName": _NAME, "instanceId": _TEXT, "connectionId": _TEXT, "sdkVersion": _TEXT,
                   "environment": _TEXT, "started": _TEXT,
                   "strategies": {"type": "array", "maxItems": 1000, "items": _TEXT},
                   "interval": {"type": "number", "minimum": 0, "maximum": INTERVAL_MAX,
                                "description": "Milliseconds."}},
}
_COUNT = {"type": "integer", "minimum": 0, "maximum": COUNT_MAX}
METRICS = {
    "type": "object", "required": ["appName", "bucket"],
    "description": "An Unleash SDK's counts since its last report; other fields are accepted and ignored.",
    "properties": {
        "appName": _NAME, "instanceId": _TEXT,
        "bucket": {"type": "object", "required": ["toggles"], "properties": {
            "start": {"type": "string"}, "stop": {"type": "string"},
            "toggles": {"type": "object", "maxProperties": TOGGLES_MAX, "additionalProperties": {
                "type": "object", "properties": {
                    "yes": _COUNT, "no": _COUNT,
                    "variants": {"type": "object", "maxProperties": VARIANTS_MAX,
                                 "propertyNames": {"maxLength": TEXT_MAX}, "additionalProperties": _COUNT}}}}}},
    },
}
VALIDATION_ERROR = {
    "type": "object", "required": ["error", "message", "errors"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "One message per field (a dotted path) that needs attention."}},
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


_SECURITY = [{"flagsClientToken": []}]
_COMMON = {
    "400": {"description": "One message per field that needs attention.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/FlagValidationError"}}}},
    "401": _error("No client token, or not a valid one.", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
    "413": _error("The body is too large."),
    "429": _error("Too many requests for this token (the setting api.rate_limit); try again later.", {
        "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer", "minimum": 0}}}),
}


def _json_body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


openapi.register(
    {
        "/api/flags/evaluate": {"post": {
            "summary": "Every flag's answer for one context (tester overrides included). No SQL per request.",
            "operationId": "evaluateFlags", "tags": ["flags"], "security": _SECURITY,
            "requestBody": _json_body("FlagContext"),
            "responses": {"200": {"description": "One entry per flag that is not archived.",
                                  "content": {"application/json": {"schema": {
                                      "$ref": "#/components/schemas/FlagEvaluation"}}}}, **_COMMON},
        }},
        "/api/client/features": {"get": {
            "summary": "Flags and segments in Unleash's client-API format, for the official Unleash SDKs.",
            "operationId": "clientFeatures", "tags": ["flags"], "security": _SECURITY,
            "parameters": [
                {"name": "namePrefix", "in": "query", "required": False,
                 "schema": {"type": "string", "maxLength": 200}, "description": "Only flags whose name starts so."},
                {"name": "project", "in": "query", "required": False, "schema": {"type": "string"},
                 "description": "Every flag is in the project `default`."},
                {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                 "description": "The ETag of the copy the client has: 304 when nothing changed."},
            ],
            "responses": {
                "200": {"description": "The flags.", "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ClientFeatures"}}}},
                "304": {"description": "Not modified since the ETag sent in If-None-Match.",
                        "headers": {"ETag": {"schema": {"type": "string"}}}},
                "400": _COMMON["400"], "401": _COMMON["401"], "429": _COMMON["429"],
            },
        }},
        "/api/client/register": {"post": {
            "summary": "An Unleash SDK registers when it starts (shown on the console's tokens page).",
            "operationId": "clientRegister", "tags": ["flags"], "security": _SECURITY,
            "requestBody": _json_body("ClientRegistration"),
            "responses": {"202": {"description": "Accepted."}, **_COMMON},
        }},
        "/api/client/metrics": {"post": {
            "summary": "An Unleash SDK's yes/no and variant counts per flag, kept for the token's environment "
                       "beside NOUS's own.",
            "operationId": "clientMetrics", "tags": ["flags"], "security": _SECURITY,
            "requestBody": _json_body("ClientMetrics"),
            "responses": {"202": {"description": "Accepted."}, **_COMMON},
        }},
    },
    schemas={"FlagContext": CONTEXT, "FlagVariantPayload": PAYLOAD, "FlagVariant": VARIANT,
             "FlagEvaluation": EVALUATION, "ClientFeatures": CLIENT_FEATURES, "ClientRegistration": REGISTRATION,
             "ClientMetrics": METRICS, "FlagValidationError": VALIDATION_ERROR},
    security_schemes={"flagsClientToken": {
        "type": "apiKey", "in": "header", "name": "Authorization",
        "description": "A client token, raw (as the Unleash SDKs send it) or as `Bearer <token>`."}},
)
