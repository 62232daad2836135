"""What the flags share: segments (/flag-segments), client tokens for the SDKs (/flag-client-tokens), the
environments (/flag-environments: list, add, rename, move, remove) and the import/export of every flag in
the Unleash format (/flag-export, /flag-import) — through nous.flags.service, as the console's segment,
token, environments and transfer pages do. (Their own collections, so
no flag key can hide them.)

Tokens, the export and the import name an environment as the flag operations do (`environment`, in the
query, or in the body of a token's creation; an unknown one is a problem naming the field); the export
and the import also take `*`, every environment, in Unleash's full export."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    endpoint,
    param,
    refused,
    respond,
    rfc3339,
    schemas,
    stale,
    text,
)
from nous.adminapi.conventions import if_match as sent_version
from nous.adminapi.flags import environment_value, flags_call
from nous.flags import service as flags
from nous.flags.models import Segment
from nous.web import body_limit

_TIME = {"type": ["string", "null"], "format": "date-time"}
_OBJECTS = {"type": "array", "items": {"type": "object"}}
schemas(
    FlagSegment={"type": "object", "required": ["id", "name", "constraints"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"}, "description": {"type": "string"},
        "constraints": {"type": "array", "items": {"type": "object"},
                        "description": "Unleash constraints: [{contextName, operator, values}]."}}},
    FlagSegmentWrite={"type": "object", "required": ["name", "constraints"], "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "example": "staff"},
        "description": {"type": "string"},
        "constraints": {"type": "array", "items": {"type": "object"}, "example": [
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@nous.example"]}]}}},
    FlagClientToken={"type": "object", "required": ["id", "name", "prefix", "environment"], "properties": {
        "id": {"type": "integer"}, "name": {"type": "string"},
        "prefix": {"type": "string", "description": "How the token begins: `default:<environment>.<8 hex>`."},
        "environment": {"type": "string", "description": "The environment whose flags the token answers with."},
        "created_at": _TIME, "created_by": {"type": "string"}, "revoked_at": _TIME, "last_used_at": _TIME,
        "token": {"type": "string", "description": "Only in the answer to its creation."}}},
    FlagDocument={"type": "object", "required": ["features"], "properties": {
        "version": {"enum": [1, 2, 3, 4]}, "environment": {"type": "string"}, "features": _OBJECTS,
        "segments": _OBJECTS, "environments": _OBJECTS, "featureEnvironments": _OBJECTS,
        "featureStrategies": _OBJECTS, "dependencies": _OBJECTS},
        "description": "Unleash's export formats: one environment's (version 2: `environment`, and `features` "
                       "with their `enabled`, `strategies`, `enableAt`, `disableAt`), or every environment's "
                       "(version 4, Unleash's full export: `environments`, `features`, each environment's switch "
                       "in `featureEnvironments` [{featureName, environment, enabled, variants}], its strategies "
                       "in `featureStrategies` [{featureName, environment, name, parameters, constraints, "
                       "sortOrder…}], parents in `dependencies`); both with `segments`."},
    FlagImportReport={"type": "object", "required": ["mode"], "properties": {
        "mode": {"enum": ["merge", "replace"]}, "segments": {"type": "integer"},
        "environments": {"type": "array", "items": {"type": "string"},
                         "description": "The environments whose switches and strategies the import set."},
        "ignored": {"type": "array", "items": {"type": "string"},
                    "description": "Parts of the document NOUS has no place for (tags, context field definitions…)."},
        **{k: {"type": "array", "items": {"type": "string"}} for k in ("created", "updated", "unchanged",
                                                                       "archived")}}},
)


def _items(ref: str) -> dict[str, Any]:
    return {"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}}}


# --------------------------------------------------------------------------- segments


def _segment_version(s: Segment) -> str:
    return hashlib.sha256(json.dumps(s.as_dict(), sort_keys=True, default=str).encode()).hexdigest()[:16]


def _segment(segment_id: int) -> Segment:
    found = next((s for s in flags.list_segments() if s.id == segment_id), None)
    if found is None:
        raise Problem(404, f"No segment {segment_id}.")
    return found


def _segment_answer(s: Segment, status: int = 200, location: str | None = None) -> Response:
    return respond(s.as_dict(), status, version=_segment_version(s), location=location)


@endpoint("GET", "/flag-segments", scope="flags:read", tag="flags", summary="List segments",
          description="Named lists of constraints that strategies use by id.", response=_items("FlagSegment"))
def list_segments() -> Response:
    return respond({"items": [s.as_dict() for s in flags.list_segments()]})


@endpoint("POST", "/flag-segments", scope="flags:write", tag="flags", summary="Create a segment",
          body="FlagSegmentWrite", response="FlagSegment", status=201, idempotent=True, errors=(409,),
          links={name: {"segment_id": "$response.body#/id"} for name in ("get_segment", "update_segment",
                                                                         "delete_segment")})
def create_segment() -> Response:
    data = body()
    s = flags_call(flags.save_segment, None, data.get("name"), data.get("constraints"),
              description=data.get("description", ""), actor=actor(), ip=client_ip())
    return _segment_answer(s, 201, url_for("adminapi.get_segment", segment_id=s.id))


@endpoint("GET", "/flag-segments/<int:segment_id>", scope="flags:read", tag="flags", summary="Read a segment",
          response="FlagSegment", etag=True)
def get_segment(segment_id: int) -> Response:
    return _segment_answer(_segment(segment_id))


@endpoint("PUT", "/flag-segments/<int:segment_id>", scope="flags:write", tag="flags", summary="Change a segment",
          description="Every flag using it follows within a second.", body="FlagSegmentWrite",
          response="FlagSegment", if_match=True, errors=(409,))
def update_segment(segment_id: int) -> Response:
    current = _segment(segment_id)
    sent = sent_version()
    if sent is not None and sent != _segment_version(current):
        raise stale(None, _segment_version(current))
    data = body()
    s = flags_call(flags.save_segment, segment_id, data.get("name"), data.get("constraints"),
              description=data.get("description", ""), actor=actor(), ip=client_ip())
    return _segment_answer(s)


@endpoint("DELETE", "/flag-segments/<int:segment_id>", scope="flags:write", tag="flags", summary="Delete a segment",
          description="409 while a flag uses it.", status=204, errors=(409,))
def delete_segment(segment_id: int) -> Response:
    flags_call(flags.delete_segment, segment_id, actor=actor(), ip=client_ip())
    return Response(status=204)


# --------------------------------------------------------------------------- client tokens


def _when(value: str | None) -> str | None:
    return rfc3339(datetime.fromisoformat(value)) if value else None


def client_token_json(t: dict[str, Any]) -> dict[str, Any]:
    return {**t, **{k: _when(t.get(k)) for k in ("created_at", "revoked_at", "last_used_at")}}


@endpoint("GET", "/flag-client-tokens", scope="flags:read", tag="flags",
          summary="List the client tokens (for the SDKs and /api/flags/evaluate)",
          description="Active ones first. Never includes a token itself.", response=_items("FlagClientToken"))
def list_client_tokens() -> Response:
    return respond({"items": [client_token_json(t) for t in flags.list_tokens()]})


@endpoint("POST", "/flag-client-tokens", scope="flags:write", tag="flags", summary="Create a client token",
          description="The answer holds the token itself, this once: only its hash is stored.",
          body={"type": "object", "required": ["name"], "properties": {
              "name": {"type": "string", "minLength": 1, "maxLength": 100, "example": "nous-web production"},
              "environment": {"type": "string", "maxLength": 100, "example": "staging",
                              "description": "The environment whose flags the token answers with; its text "
                                             "then starts `default:<environment>.` (when absent, the setting "
                                             "flags.environment: production at first)"}}},
          response="FlagClientToken", status=201, idempotent=True,
          links={"revoke_client_token": {"token_id": "$response.body#/id"}})
def create_client_token() -> Response:
    data = body()
    name = text("name", data.get("name"), required=True, max_length=1000)
    environment = environment_value(data.get("environment"), status=422)
    row, raw = flags_call(flags.create_token, name, actor=actor(), ip=client_ip(), environment=environment)
    resp = respond({**client_token_json({**row.as_dict(), "last_used_at": None}), "token": raw}, 201)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@endpoint("POST", "/flag-client-tokens/<int:token_id>/revoke", scope="flags:write", tag="flags",
          summary="Revoke a client token", description="Clients using it get 401 within a second.",
          response="FlagClientToken")
def revoke_client_token(token_id: int) -> Response:
    row = flags_call(flags.revoke_token, token_id, actor=actor(), ip=client_ip())
    return respond(client_token_json({**row.as_dict(), "last_used_at": None}))


# --------------------------------------------------------------------------- environments


ENVIRONMENT_NAME = "<environment_name>"
_ENVIRONMENT_NAME = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": "^[a-z0-9][a-z0-9_-]*$",
                     "example": "qa"}
schemas(FlagEnvironment={"type": "object", "required": ["name", "position", "flags_on", "tokens"], "properties": {
    "name": {"type": "string"}, "position": {"type": "integer", "description": "Its place in the list, from 0."},
    "flags_on": {"type": "integer", "description": "Flags (not archived) switched on there."},
    "tokens": {"type": "integer", "description": "Client tokens (not revoked) that answer with its flags."},
    "counts_moved": {"type": "boolean", "description": "After a rename: false when Redis could not take its "
                                                       "evaluation counts and SDK metrics along (they stay under "
                                                       "the old name)."}}})


def _environment_json(name: str, names: list[str] | None = None) -> dict[str, Any]:
    names = names if names is not None else flags.environment_names()
    return {"name": name, "position": names.index(name), **flags.environment_use(name)}


def _environments_json() -> dict[str, Any]:
    names = flags.environment_names()  # once for the list, not once per environment
    return {"items": [_environment_json(name, names) for name in names]}


def _environment_name(data: dict[str, Any], field: str = "name") -> str:
    return text(field, data.get(field), required=True, max_length=100)


@endpoint("GET", "/flag-environments", scope="flags:read", tag="flags", summary="List the flag environments",
          description="In the admin's order (the console's columns). Every flag has its own switch, strategies "
                      "and schedule in each; a client token answers with one environment's flags.",
          response=_items("FlagEnvironment"))
def list_environments() -> Response:
    return respond(_environments_json())


@endpoint("POST", "/flag-environments", scope="flags:write", tag="flags", summary="Add a flag environment",
          description="At the end of the list; every flag is off there until switched on.",
          body={"type": "object", "required": ["name"], "properties": {"name": _ENVIRONMENT_NAME}},
          response="FlagEnvironment", status=201, errors=(409,))
def add_environment() -> Response:
    row = flags_call(flags.add_environment, _environment_name(body()), actor=actor(), ip=client_ip())
    return respond(_environment_json(row.name), 201)


@endpoint("PATCH", f"/flag-environments/{ENVIRONMENT_NAME}", scope="flags:write", tag="flags",
          summary="Rename a flag environment",
          description="Its flag states, client tokens and versions follow (tokens made before keep working: their "
                      "text keeps the old name); open flag streams go on under the new name.",
          body={"type": "object", "required": ["name"], "properties": {"name": _ENVIRONMENT_NAME}},
          response="FlagEnvironment", errors=(409,))
def rename_environment(environment_name: str) -> Response:
    row = flags_call(flags.rename_environment, environment_name, _environment_name(body()), actor=actor(),
                     ip=client_ip())
    return respond({**_environment_json(row.name), "counts_moved": row.counts_moved})


@endpoint("POST", f"/flag-environments/{ENVIRONMENT_NAME}/move", scope="flags:write", tag="flags",
          summary="Move a flag environment one place up or down the list",
          body={"type": "object", "required": ["direction"], "properties": {"direction": {"enum": ["up", "down"]}}},
          response=_items("FlagEnvironment"))
def move_environment(environment_name: str) -> Response:
    direction = inputs.parse_choice(text("direction", body().get("direction"), required=True), "direction",
                                    ("up", "down"))
    flags_call(flags.move_environment, environment_name, -1 if direction == "up" else 1, actor=actor(),
               ip=client_ip())
    return respond(_environments_json())


@endpoint("DELETE", f"/flag-environments/{ENVIRONMENT_NAME}", scope="flags:write", tag="flags",
          summary="Remove a flag environment",
          description="Only an unused one: 409 while a flag is on there, a client token answers for it, it is the "
                      "only one or NOUS's own code evaluates in it (the setting flags.environment).",
          status=204, errors=(409,))
def remove_environment(environment_name: str) -> Response:
    flags_call(flags.remove_environment, environment_name, actor=actor(), ip=client_ip())
    return Response(status=204)


# --------------------------------------------------------------------------- import / export


def _transfer_environment(default: str | None) -> str | None:
    """The export's or import's `environment` query parameter: None for `*` (every environment)."""
    try:
        return flags.transfer_environment(request.args.get("environment"), default)
    except flags.FlagError as exc:
        raise Problem(400, exc.message, exc.errors) from None


@endpoint("GET", "/flag-export", scope="flags:read", tag="flags", summary="Export every flag (Unleash format)",
          description="Flags and segments as Unleash exports them; `POST /flag-import` takes it back. One "
                      "environment's switches and strategies (`environment`; when absent, the setting "
                      "flags.environment: production at first), "
                      "or with `environment=*` every environment's, in Unleash's full export.",
          query=[param("archived", {"type": "boolean", "default": False}, "Include archived flags."),
                 param("environment", {"type": "string", "maxLength": 100},
                       "The environment whose switches and strategies are exported, or `*` for every one "
                       "(when absent, the setting flags.environment).",
                       example="staging")],
          response="FlagDocument")
def export_flags() -> Response:
    archived = inputs.arg_choice("archived", ("true", "false"), "false") == "true"
    environment = _transfer_environment(flags.default_environment())
    resp = respond(flags.export_document(include_archived=archived, environment=environment))
    resp.headers["Content-Disposition"] = 'attachment; filename="nous-flags.json"'
    return resp


@endpoint("POST", "/flag-import", scope="flags:write", tag="flags", summary="Import flags (Unleash format)",
          description="`merge` creates and updates the flags in the document and leaves the others; `replace` "
                      "also archives the flags it does not name and deletes the segments it does not have, so it "
                      "needs a document of every environment (422 naming `mode` otherwise). Everything is "
                      "checked first: any invalid part "
                      "refuses the whole document (422, each problem named), nothing half-done. Without "
                      "`environment` (or with `*`) each environment the document has is set: a one-environment "
                      "document's, else the default one (the setting flags.environment); each of a full "
                      "export's, by name (an environment this server "
                      "lacks refuses it: 422 naming it). With `environment` the document's only environment (or "
                      "its part of that name) goes there. Documents up to 5 MB (413 above).",
          query=[param("mode", {"enum": ["merge", "replace"], "default": "merge"}),
                 param("environment", {"type": "string", "maxLength": 100},
                       "The environment to import into; absent or `*`: as the document says.", example="staging")],
          body="FlagDocument", response="FlagImportReport")
@body_limit(flags.IMPORT_MAX_BYTES)
def import_flags() -> Response:
    mode = inputs.arg_choice("mode", ("merge", "replace"), "merge")
    environment = _transfer_environment(None)
    try:
        report = flags.import_document(body(flags.IMPORT_MAX_BYTES), mode=mode, actor=actor(), ip=client_ip(),
                                       environment=environment)
    except flags.FlagError as exc:
        raise refused(exc, "document") from None
    return respond(report.as_dict())
