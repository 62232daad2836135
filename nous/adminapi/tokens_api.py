"""/api/admin/v1/tokens: the admin API tokens themselves (scope `admin`), as on the console's page."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Response, url_for

from nous.adminapi import tokens
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    encode_cursor,
    endpoint,
    id_cursor,
    invalid,
    limit_arg,
    page,
    respond,
    schemas,
)

TIME = {"type": ["string", "null"], "format": "date-time"}
schemas(
    AdminToken={
        "type": "object", "required": ["id", "name", "scopes", "state", "created_at"],
        "properties": {
            "id": {"type": "integer"}, "name": {"type": "string"},
            "prefix": {"type": "string", "description": "The token's first characters, to recognise it."},
            "scopes": {"type": "array", "items": {"enum": list(tokens.SCOPES)}},
            "state": {"enum": ["active", "expired", "revoked"]},
            "created_at": {"type": "string", "format": "date-time"}, "created_by": {"type": "string"},
            "expires_at": TIME, "last_used_at": TIME, "last_used_ip": {"type": ["string", "null"]},
            "revoked_at": TIME,
        },
    },
    AdminTokenCreate={
        "type": "object", "required": ["name", "scopes"], "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": tokens.NAME_MAX, "example": "signup-service"},
            "scopes": {"type": "array", "minItems": 1, "items": {"enum": list(tokens.SCOPES)},
                       "example": ["testers:write"]},
            "expires_in_days": {"type": ["integer", "null"], "minimum": 1, "maximum": tokens.MAX_EXPIRY_DAYS},
        },
    },
    AdminTokenCreated={
        "allOf": [{"$ref": "#/components/schemas/AdminToken"}, {
            "type": "object", "required": ["token"],
            "properties": {"token": {"type": "string", "description": "The token itself: shown this once."}}}],
    },
)
NAME = "<name>"


def _version(data: dict[str, Any]) -> str:
    """A token's ETag: what can change about it (its state, expiry, scopes)."""
    return hashlib.sha256(json.dumps([data["state"], data["expires_at"], data["scopes"], data["revoked_at"]])
                          .encode()).hexdigest()[:16]


def _token(name: str) -> Any:
    try:
        return tokens.get(name)
    except tokens.TokenError:
        raise Problem(404, f"No token is named {name}.") from None


@endpoint("GET", "/tokens", scope="admin", tag="tokens", summary="List the admin API tokens",
          description="Newest first. Never includes a token itself, only its first characters.",
          response={"type": "object", "required": ["items", "next_cursor"],
                    "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/AdminToken"}},
                                   "next_cursor": {"type": ["string", "null"]}}},
          paginated=True)
def list_tokens() -> Response:
    before, limit = id_cursor(), limit_arg()
    rows = tokens.page_tokens(before_id=before, limit=limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return page(rows, encode_cursor(rows[-1]["id"]) if more and rows else None)


@endpoint("POST", "/tokens", scope="admin", tag="tokens", summary="Create an admin API token",
          description="The answer holds the token itself, this once: only its SHA-256 is stored.",
          body="AdminTokenCreate", response="AdminTokenCreated", status=201, errors=(409,), idempotent=True,
          links={name: {"name": "$response.body#/name"} for name in ("get_token", "revoke_token")})
def create_token() -> Response:
    data = body()
    try:
        row, raw = tokens.create(data.get("name"), data.get("scopes"), expires_in_days=data.get("expires_in_days"),
                                 actor=actor(), ip=client_ip())
    except tokens.TokenError as exc:
        raise invalid(exc, "name", status=exc.status) from None
    resp = respond({**row.as_dict(), "token": raw}, 201,
                   location=url_for("adminapi.get_token", name=row.name))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@endpoint("GET", f"/tokens/{NAME}", scope="admin", tag="tokens", summary="One admin API token",
          response="AdminToken", etag=True)
def get_token(name: str) -> Response:
    data = _token(name).as_dict()
    return respond(data, version=_version(data))


@endpoint("POST", f"/tokens/{NAME}/revoke", scope="admin", tag="tokens", summary="Revoke an admin API token",
          description="Requests with it are refused (401) by every process within a second. Revoking a revoked "
                      "token changes nothing.", response="AdminToken")
def revoke_token(name: str) -> Response:
    _token(name)
    return respond(tokens.revoke(name, actor=actor(), ip=client_ip()).as_dict())
