"""`/openapi.json`: the OpenAPI 3.1 document of the public, client and admin APIs, and `/api/docs`, the
reference page people read it on (Redoc, vendored in static/vendor/ by scripts/vendor).

Each area registers the paths it serves (`register(...)`) next to its routes; a test checks that
every documented path is a route and every public API route is documented. The admin API's modules
declare each operation once with `nous.adminapi.conventions.endpoint`, which registers it here.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Blueprint, Response, json, render_template

from nous import __version__
from nous.web import CSP

bp = Blueprint("openapi", __name__)

_paths: dict[str, dict[str, Any]] = {}
_schemas: dict[str, Any] = {}
_security: dict[str, Any] = {}


def register(paths: dict[str, dict[str, Any]], schemas: dict[str, Any] | None = None,
             security_schemes: dict[str, Any] | None = None) -> None:
    for path, ops in paths.items():
        _paths.setdefault(path, {}).update(ops)
    _schemas.update(schemas or {})
    _security.update(security_schemes or {})


DESCRIPTION = """Health, feedback, feature-flag and admin APIs of the NOUS closed beta.

**Admin API** (`/api/admin/v1/…`): everything the console does, for scripts and NOUS's other services.

- *Tokens*: `flask nous tokens create NAME --scope testers:read --scope feedback:write` (or the console's
  API tokens page) prints a token once; send it as `Authorization: Bearer <token>`. Each operation names
  the scope it needs; `admin` holds them all, `area:write` also holds `area:read`. Cookies are never
  accepted. Every change is in the audit log with the actor `token:<name>`.
- *Errors*: RFC 9457 `application/problem+json` with `errors`, one message per field at fault.
  401: no token, or an unknown, expired or revoked one; 403: the scope named in `detail` is missing.
- *Versions*: objects that change carry an `ETag`; send it back in `If-Match` on an update, and a stale
  one is refused with 412 (nothing changed) and the current `ETag`.
- *Lists*: `limit` (1–200) and `cursor`, the `next_cursor` of the previous page (also in the `Link`
  header, `rel="next"`); the order is stable, so rows added meanwhile never repeat or hide others.
- *Creating*: send an `Idempotency-Key` and a retry returns the first answer (`Idempotent-Replayed:
  true`), never a second object; the same key with another body or query is 422.
- *Rate limit*: per token (setting `adminapi.rate_limit`); past it, 429 with `Retry-After`.
- *Times*: RFC 3339, UTC (`2026-12-06T07:15:00.123Z`).
"""


ADMIN_TAG_PREFIX = "Admin: "  # the admin API's operations, grouped apart from the public and client APIs


def _tag_groups() -> list[dict[str, Any]]:
    tags = sorted({t for ops in _paths.values() for op in ops.values() for t in op.get("tags", [])})
    admin = [t for t in tags if t.startswith(ADMIN_TAG_PREFIX)]
    return [{"name": "Public and client APIs", "tags": [t for t in tags if t not in admin]},
            {"name": "Admin API", "tags": admin}]


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "NOUS Beta Console API",
            "version": __version__,
            "description": DESCRIPTION,
        },
        "paths": dict(sorted(_paths.items())),
        "x-tagGroups": _tag_groups(),
        "components": {"schemas": dict(sorted(_schemas.items())), "securitySchemes": _security},
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return Response(json.dumps(document()), mimetype="application/json")


@bp.get("/api/docs")
def reference() -> Response:
    """The API reference for people: the document above, rendered in the browser by Redoc
    (static/vendor/redoc-<version>.standalone.js, loaded by static/js/api-docs.js). The console's policy,
    plus this answer's nonce for the style elements Redoc writes (it reads it from a meta tag)."""
    nonce = secrets.token_urlsafe(16)
    resp = Response(render_template("adminapi/docs.html", nonce=nonce))
    resp.headers["Content-Security-Policy"] = (CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")
                                               .replace("font-src 'self'", "font-src 'self' data:"))
    resp.headers["Cache-Control"] = "no-store"  # the nonce is for this answer only
    return resp


_HEALTH_CHECK = {
    "type": "object",
    "required": ["status"],
    "properties": {
        "status": {"enum": ["pass", "warn", "fail"]},
        "version": {"type": "string"},
        "releaseId": {"type": "string"},
        "serviceId": {"type": "string"},
        "description": {"type": "string"},
        "checks": {
            "type": "object",
            "additionalProperties": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["status", "time"],
                    "properties": {
                        "componentType": {"type": "string"},
                        "componentId": {"type": "string"},
                        "observedValue": {},
                        "observedUnit": {"type": "string"},
                        "status": {"enum": ["pass", "warn", "fail"]},
                        "time": {"type": "string", "format": "date-time"},
                        "output": {"type": "string"},
                    },
                },
            },
        },
    },
}
_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
_BEARER = [{}, {"healthToken": []}]

register(
    {
        "/healthz": {"get": {
            "summary": "Liveness: the process answers. Never touches the database.",
            "operationId": "healthz", "tags": ["health"],
            "responses": {"200": {"description": "alive", "content": {"application/json": {"schema": {
                "type": "object", "required": ["status"], "properties": {"status": {"const": "pass"}}}}}}},
        }},
        "/readyz": {"get": {
            "summary": "Readiness: database and Redis reachable and the process not draining.",
            "operationId": "readyz", "tags": ["health"],
            "parameters": [{"name": "verbose", "in": "query", "required": False, "allowEmptyValue": True,
                            "schema": {"type": "string"}, "description": "One line per check, as text."}],
            "responses": {
                "200": {"description": "ready", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"status": {"const": "pass"}}}},
                    "text/plain": {"schema": {"type": "string"}}}},
                "503": {"description": "not ready", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {"status": {"const": "fail"}}}},
                    "text/plain": {"schema": {"type": "string"}}}},
            },
        }},
        "/health/detailed": {"get": {
            "summary": "Every check in the IETF health-check format; details for the admin or the health token.",
            "operationId": "healthDetailed", "tags": ["health"], "security": _BEARER,
            "responses": {
                "200": {"description": "pass or warn", "content": {"application/health+json": {
                    "schema": {"$ref": "#/components/schemas/HealthCheck"}}}},
                "503": {"description": "fail", "content": {"application/health+json": {
                    "schema": {"$ref": "#/components/schemas/HealthCheck"}}}},
            },
        }},
        "/health/metrics": {"get": {
            "summary": "Request, database and queue figures aggregated across every web process.",
            "operationId": "healthMetrics", "tags": ["health"], "security": _BEARER,
            "parameters": [{"name": "window", "in": "query", "required": False,
                            "schema": {"type": "integer", "minimum": 10, "maximum": 3600}}],
            "responses": {
                "200": {"description": "figures", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "window is not a number of seconds from 10 to 3600",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                "403": {"description": "no token", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
                "503": {"description": "Redis down", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }},
        "/metrics": {"get": {
            "summary": "Prometheus exposition.",
            "operationId": "prometheusMetrics", "tags": ["health"], "security": _BEARER,
            "responses": {
                "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}},
                "403": {"description": "no token", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}},
            },
        }},
    },
    schemas={"HealthCheck": _HEALTH_CHECK, "Error": _ERROR},
    security_schemes={"healthToken": {"type": "http", "scheme": "bearer", "description": "HEALTH_TOKEN"}},
)
