"""OFREP, the OpenFeature Remote Evaluation Protocol: any OpenFeature SDK's OFREP provider evaluates here.

    POST /ofrep/v1/evaluate/flags/{key}   one flag for a context (server-side providers)
    POST /ofrep/v1/evaluate/flags         every flag for a context, with ETag / If-None-Match → 304

The wire format is OFREP 0.3 (github.com/open-feature/protocol, service/openapi.yaml). A client token
authenticates as on the other client APIs (`Authorization: Bearer <token>`, raw, or OFREP's `X-API-Key`),
and flags are those of the token's environment; the rate limit is the same (`api.rate_limit`).

How a NOUS flag reads in OpenFeature (the same mapping as `nous.flags.openfeature.NousProvider`):

- a flag without variants is a boolean: its answer, reason DISABLED when switched off in the environment,
  STATIC when it is on for everyone (no condition, rollout, segment or parent; no tester override),
  TARGETING_MATCH when this context's answer is on, DEFAULT when the flag is on but not for it;
- a flag with variants gives the variant's payload — `string` and `csv` as a string, `number` as a JSON
  number, `json` as the parsed JSON — or the variant's name when it has no payload, with reason SPLIT;
  when the context gets no variant (flag off for it) the answer has no value, so the provider uses the
  caller's default (OFREP's "code default"), reason DISABLED or DEFAULT.

The targeting key is the context's userId; the attributes userId, sessionId, remoteAddress, environment,
appName and currentTime are the context's own fields and every other scalar goes to `properties`
(`openfeature.to_context`). A flag every strategy of which needs a userId (user ids, a user-id rollout)
asked without a targeting key answers TARGETING_KEY_MISSING rather than a silent off. A type mismatch is
the provider's to find: OFREP sends no type (its ADR 0003).

The bulk answer's ETag is a hash of the answer itself: it changes exactly when what this context gets
changes (a flag edited, a tester override, a date condition passing), and a matching If-None-Match is a
304 without a body.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from flask import Blueprint, Response, request
from openfeature.evaluation_context import EvaluationContext

from nous import inputs, openapi
from nous.flags import api
from nous.flags.cache import EnvironmentFlags, evaluate_all, get_variant, snapshot
from nous.flags.openfeature import to_context

bp = Blueprint("flags_ofrep", __name__, url_prefix="/ofrep/v1")

KEY_MAX = 1000
NEEDS_USER = frozenset({"userWithId", "gradualRolloutUserId"})


# --------------------------------------------------------------------------- reading a flag


class FlagFacts:
    """What the answers of one environment's flags need to know beyond the engine's answer (per flag:
    has variants, is static, needs a user id), worked out once per snapshot."""

    __slots__ = ("needs_user", "static", "variants")

    def __init__(self, here: EnvironmentFlags) -> None:
        self.variants: set[str] = set()
        self.static: set[str] = set()
        self.needs_user: set[str] = set()
        for f in here.features:
            strategies = f.get("strategies") or []
            if f.get("variants") or any(s.get("variants") for s in strategies):
                self.variants.add(f["name"])
            if not f.get("dependencies") and all(
                    s.get("name") == "default" and not s.get("constraints") and not s.get("segments")
                    for s in strategies):
                self.static.add(f["name"])
            if strategies and all(_needs_user(s) for s in strategies):
                self.needs_user.add(f["name"])


def _needs_user(strategy: Mapping[str, Any]) -> bool:
    name = strategy.get("name")
    if name in NEEDS_USER:
        return True
    params = strategy.get("parameters") or {}
    return name == "flexibleRollout" and params.get("stickiness") == "userId"


_FACTS: dict[str, tuple[EnvironmentFlags, FlagFacts]] = {}  # per environment, for its current flags: safe to lose


def facts(here: EnvironmentFlags) -> FlagFacts:
    held = _FACTS.get(here.environment)
    if held is None or held[0] is not here:
        held = _FACTS[here.environment] = (here, FlagFacts(here))
    return held[1]


class Unusable(Exception):
    """A flag that cannot be answered for this context: an OFREP error code and details."""

    def __init__(self, code: str, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


def payload_value(payload: Mapping[str, Any] | None, variant: str) -> Any:
    """A variant's value in OpenFeature: its payload by type, or its name when it has none."""
    if not payload:
        return variant
    kind, raw = payload.get("type"), payload.get("value")
    if kind == "number":
        try:
            value = json.loads(str(raw))
        except ValueError:
            value = None
        if isinstance(value, bool) or not inputs.finite(value):
            raise Unusable("PARSE_ERROR", f"the payload of variant {variant!r} is not a number")
        return value
    if kind == "json":
        try:
            return inputs.loads(str(raw))
        except ValueError:
            raise Unusable("PARSE_ERROR", f"the payload of variant {variant!r} is not JSON") from None
    return "" if raw is None else str(raw)


def answer(key: str, result: Mapping[str, Any], here: EnvironmentFlags, known: FlagFacts,
           context: Mapping[str, Any], overridden: bool) -> dict[str, Any]:
    """One flag's OFREP evaluation from the engine's `{"enabled", "variant"}` for it."""
    switched = here.flag_enabled.get(key)
    variant = result["variant"]
    if key in known.variants:
        if variant.get("enabled"):
            return {"key": key, "value": payload_value(variant.get("payload"), variant["name"]),
                    "reason": "SPLIT", "variant": variant["name"]}
        if switched and not context.get("userId") and key in known.needs_user and not overridden:
            raise Unusable("TARGETING_KEY_MISSING", f"flag {key!r} is targeted by user id: send a targetingKey")
        return {"key": key, "reason": "DEFAULT" if switched else "DISABLED", "variant": variant["name"]}
    on = bool(result["enabled"])
    if not switched and not overridden:
        reason = "DISABLED"
    elif key in known.static and not overridden:
        reason = "STATIC"
    elif on:
        reason = "TARGETING_MATCH"
    else:
        if not context.get("userId") and key in known.needs_user:
            raise Unusable("TARGETING_KEY_MISSING", f"flag {key!r} is targeted by user id: send a targetingKey")
        reason = "DEFAULT"
    return {"key": key, "value": on, "reason": reason, "variant": "on" if on else "off"}


# --------------------------------------------------------------------------- requests


def _failure(status: int, code: str, details: str, key: str | None = None) -> Response:
    body: dict[str, Any] = {"errorCode": code, "errorDetails": details}
    if key is not None:
        body = {"key": key, **body}
    resp = Response(json.dumps(body), status=status, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def api_key_as_token(view: Callable[..., Any]) -> Callable[..., Any]:
    """OFREP's `X-API-Key` header carries the client token when `Authorization` does not."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        environ = request.environ
        if not environ.get("HTTP_AUTHORIZATION") and environ.get("HTTP_X_API_KEY"):
            environ["HTTP_AUTHORIZATION"] = environ["HTTP_X_API_KEY"]
        return view(*args, **kwargs)

    return wrapped


def read_context(key: str | None = None) -> tuple[dict[str, Any] | None, Response | None]:
    """The NOUS context of the request body `{"context": {...}}` (absent: an empty one), or an OFREP 400."""
    try:
        data = inputs.json_object()
    except inputs.InputError as exc:
        return None, _failure(400, "PARSE_ERROR", f"the body is {exc.message}", key)
    raw = data.get("context", {})
    if not isinstance(raw, dict):
        return None, _failure(400, "INVALID_CONTEXT", "context must be an object", key)
    targeting = raw.get("targetingKey")
    if "targetingKey" in raw and not isinstance(targeting, str):
        return None, _failure(400, "INVALID_CONTEXT", "context.targetingKey must be a string", key)
    attributes = {str(k): v for k, v in raw.items() if k != "targetingKey"}
    context, errors = api.parse_context(to_context(EvaluationContext(targeting or None, attributes)))
    if errors:
        details = "; ".join(f"context.{'targetingKey' if f == 'userId' and targeting else f}: {m}"
                            for f, m in sorted(errors.items()))
        return None, _failure(400, "INVALID_CONTEXT", details, key)
    return context, None


def _environment() -> EnvironmentFlags:
    return snapshot().env(api._client(request.environ)[2])  # type: ignore[index] # token_required ran


@bp.post("/evaluate/flags/<path:key>")
@api_key_as_token
@api.rate_limited
@api.token_required
def evaluate_flag(key: str) -> Any:
    if len(key) > KEY_MAX:
        return _failure(404, "FLAG_NOT_FOUND", f"no flag has a key of more than {KEY_MAX} characters", key[:KEY_MAX])
    context, refused = read_context(key)
    if refused is not None:
        return refused
    here = _environment()
    if key not in here.flag_enabled:
        return _failure(404, "FLAG_NOT_FOUND", f"no flag {key!r} in environment {here.environment!r}", key)
    variant = get_variant(key, context, here.environment)
    result = {"enabled": variant["feature_enabled"], "variant": variant}
    try:
        body = answer(key, result, here, facts(here), context or {}, _overridden(key, context))
    except Unusable as exc:
        return _failure(400, exc.code, exc.details, key)
    resp = Response(json.dumps(body), mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _overridden(key: str, context: Mapping[str, Any] | None) -> bool:
    found = snapshot().overrides_for(context)
    return bool(found) and key in found  # type: ignore[operator]


def evaluate_every_flag(context: Mapping[str, Any], here: EnvironmentFlags) -> dict[str, Any]:
    """The bulk answer: every flag of the environment (key order), each an evaluation or a failure."""
    known = facts(here)
    results = evaluate_all(context, here.environment)
    overrides = snapshot().overrides_for(context) or {}
    out = []
    for key in sorted(results):
        try:
            out.append(answer(key, results[key], here, known, context, key in overrides))
        except Unusable as exc:
            out.append({"key": key, "errorCode": exc.code, "errorDetails": exc.details})
    return {"flags": out, "metadata": {"environment": here.environment}}


@bp.post("/evaluate/flags")
@api_key_as_token
@api.rate_limited
@api.token_required
def evaluate_flags() -> Any:
    context, refused = read_context()
    if refused is not None:
        return refused
    here = _environment()
    body = json.dumps(evaluate_every_flag(context or {}, here), separators=(",", ":")).encode()
    etag = hashlib.sha256(body).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
    else:
        resp = Response(body, mimetype="application/json")
    resp.set_etag(etag)
    resp.headers["Cache-Control"] = "no-cache"
    return resp


# --------------------------------------------------------------------------- /openapi.json

_VALUE = {"description": "Absent when the context gets no value: the provider then uses the caller's default.",
          "anyOf": [{"type": "boolean"}, {"type": "string"}, {"type": "number"}, {"type": "object"},
                    {"type": "array"}]}
SUCCESS = {
    "type": "object", "required": ["key", "reason"],
    "properties": {
        "key": {"type": "string"}, "value": _VALUE,
        "reason": {"enum": ["STATIC", "TARGETING_MATCH", "SPLIT", "DISABLED", "DEFAULT"]},
        "variant": {"type": "string"},
        "metadata": {"type": "object", "additionalProperties": {"type": ["boolean", "string", "number"]}},
    },
}
FAILURE = {
    "type": "object", "required": ["errorCode"],
    "properties": {"key": {"type": "string"},
                   "errorCode": {"enum": ["PARSE_ERROR", "TARGETING_KEY_MISSING", "INVALID_CONTEXT", "GENERAL",
                                          "FLAG_NOT_FOUND"]},
                   "errorDetails": {"type": "string"}},
}
REQUEST = {
    "type": "object",
    "properties": {"context": {
        "type": "object", "description": "targetingKey is the userId; userId, sessionId, remoteAddress, environment, "
                                         "appName and currentTime are the context's fields, other scalars its "
                                         "properties.",
        "properties": {"targetingKey": {"type": "string", "maxLength": api.TEXT_MAX}}}},
}
BULK = {
    "type": "object", "required": ["flags"],
    "properties": {"flags": {"type": "array", "items": {"anyOf": [{"$ref": "#/components/schemas/OfrepEvaluation"},
                                                                   {"$ref": "#/components/schemas/OfrepFailure"}]}},
                   "metadata": {"type": "object"}},
}
_FAIL = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/OfrepFailure"}}}}
_SECURITY = [{"flagsClientToken": []}]  # OFREP's X-API-Key header is also read (said in the summaries)
_COMMON = {
    "400": {"description": "PARSE_ERROR (the body), INVALID_CONTEXT or TARGETING_KEY_MISSING.", **_FAIL},
    "401": api._COMMON["401"],
    "413": api._COMMON["413"],
    "429": api._COMMON["429"],
}
_BODY = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OfrepRequest"}}}}

openapi.register(
    {
        "/ofrep/v1/evaluate/flags/{key}": {"post": {
            "summary": "OFREP: one flag for a context, in the token's environment (token also as X-API-Key).",
            "operationId": "ofrepEvaluateFlag", "tags": ["flags"], "security": _SECURITY,
            "parameters": [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}],
            "requestBody": _BODY,
            "responses": {
                "200": {"description": "The flag's value, reason and variant.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OfrepEvaluation"}}}},
                "404": {"description": "FLAG_NOT_FOUND: no such flag in this environment (a key no route takes, "
                                       "such as one with a line break, gets the site's own 404).",
                        "content": {"application/json": {"schema": {"anyOf": [
                            {"$ref": "#/components/schemas/OfrepFailure"}, {"$ref": "#/components/schemas/Error"}]}}}},
                **_COMMON,
            },
        }},
        "/ofrep/v1/evaluate/flags": {"post": {
            "summary": "OFREP: every flag for a context, in the token's environment (ETag / If-None-Match; token also "
                       "as X-API-Key).",
            "operationId": "ofrepEvaluateFlags", "tags": ["flags"], "security": _SECURITY,
            "parameters": [{"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
                            "description": "An earlier answer's ETag: 304 when this context's answer is the same."}],
            "requestBody": _BODY,
            "responses": {
                "200": {"description": "Every flag, in key order.", "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/OfrepBulk"}}}},
                "304": {"description": "The same answer as the ETag sent.",
                        "headers": {"ETag": {"schema": {"type": "string"}}}},
                **_COMMON,
            },
        }},
    },
    schemas={"OfrepEvaluation": SUCCESS, "OfrepFailure": FAILURE, "OfrepRequest": REQUEST, "OfrepBulk": BULK},
)
