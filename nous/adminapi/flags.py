"""/api/admin/v1/flags: list, read, create, change (the full model, or the console's simple form), switch,
roll out, copy one environment's rules to another, archive and bring back, the history with restoring a
version, a preview for a context, and the per-tester overrides — through nous.flags.service, as the
console's flag pages and `flask nous flags` do. Segments, client tokens, environments and import/export
are in `flag_resources`.

A flag's ETag is its version; `If-Match` hands it to the service's own check (the console's), and a
stale one is answered 412 with the current ETag."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    decode_cursor,
    encode_cursor,
    endpoint,
    flag,
    id_cursor,
    if_match_version,
    limit_arg,
    page,
    param,
    refused,
    respond,
    rfc3339,
    schemas,
    stale,
    text,
)
from nous.flags import service as flags
from nous.flags.api import parse_context
from nous.flags.models import FLAG_TYPES, FlagIn, FlagVersion
from nous.flags.service.validation import DESCRIPTION_MAX

_TIME = {"type": ["string", "null"], "format": "date-time"}
_LIST = {"type": "array", "items": {"type": "object"}}
_DEFINITION = {
    "description": {"type": "string", "maxLength": DESCRIPTION_MAX}, "type": {"enum": list(FLAG_TYPES)},
    "enabled": {"type": "boolean"},
    "strategies": {**_LIST, "description": "Unleash activation strategies, in order."},
    "variants": _LIST, "dependencies": {**_LIST, "description": "Parent flags: [{feature, enabled, variants}]."},
    "impression_data": {"type": "boolean", "description": "Whether the SDKs send impression events for it."},
    "enable_at": _TIME, "disable_at": _TIME,
}
_SIMPLE = {"type": "object", "properties": {
    "enabled": {"type": "boolean"},
    "rollout": {"type": "integer", "minimum": 0, "maximum": 100, "description": "Per cent of everyone else."},
    "user_ids": {"type": "array", "items": {"type": "string"}, "description": "Testers who always get it."},
    "conditions": {**_LIST, "description": "Constraints on the rollout: [{contextName, operator, values}]."}}}
schemas(
    Flag={"type": "object", "required": ["key", "version", "enabled", "archived"], "properties": {
        "key": {"type": "string"}, **_DEFINITION, "archived": {"type": "boolean"},
        "environment": {"type": "string", "description": "Whose switch, strategies and schedule these are."},
        "version": {"type": "integer", "description": "Also the ETag."}, "created_at": _TIME,
        "updated_at": _TIME, "updated_by": {"type": "string"}, "stale": {"type": "boolean"},
        "rollout_summary": {"type": "string", "description": "Who gets it, in words."},
        "simple": {"oneOf": [_SIMPLE, {"type": "null"}],
                   "description": "The simple form of its strategies; null when only the full model says it."}}},
    FlagCreate={"type": "object", "required": ["key"], "additionalProperties": False, "properties": {
        "key": {"type": "string", "minLength": 1, "maxLength": 200, "example": "checkout.new-flow"},
        **_DEFINITION}},
    FlagUpdate={"type": "object", "additionalProperties": False, "properties": _DEFINITION},
    FlagSimple=_SIMPLE,
    FlagVersion={"type": "object", "required": ["key", "version", "action"], "properties": {
        "key": {"type": "string"}, "version": {"type": "integer"}, "action": {"type": "string"},
        "environment": {"type": "string"},
        "note": {"type": "string"}, "actor": {"type": "string"}, "at": _TIME,
        "diff": {**_LIST, "description": "[{path, op: added|removed|changed, before, after}]"},
        "before": {"type": ["object", "null"]}, "after": {"type": "object"}}},
    FlagOverride={"type": "object", "required": ["tester_id", "email", "on"], "properties": {
        "tester_id": {"type": "string", "format": "uuid"}, "email": {"type": "string"}, "on": {"type": "boolean"}}},
)
KEY = "<key>"
ENVIRONMENT = param("environment", {"type": "string", "maxLength": 100},
                    "The flag environment whose switch, strategies and schedule are read or changed "
                    "(the key, description, type, variants and parents are shared); when absent, the setting "
                    "flags.environment (production at first, by its name now if it was renamed).")
FLAG_PAGE = {"type": "object", "required": ["items", "next_cursor"], "properties": {
    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Flag"}},
    "next_cursor": {"type": ["string", "null"]}}}


def flag_json(f: FlagIn) -> dict[str, Any]:
    model = flags.simple_model(f)
    return {**f.state(), "version": f.version, "enable_at": rfc3339(f.enable_at), "disable_at": rfc3339(f.disable_at),
            "created_at": rfc3339(f.created_at), "updated_at": rfc3339(f.updated_at), "updated_by": f.updated_by,
            "stale": flags.flag_is_stale(f), "rollout_summary": flags.rollout_summary(f),
            "simple": None if model is None else {"enabled": bool(f.enabled), "rollout": model.rollout,
                                                  "user_ids": model.user_ids, "conditions": model.conditions}}


def version_json(v: FlagVersion) -> dict[str, Any]:
    return {**v.as_dict(), "at": rfc3339(v.created_at)}


def _answer(f: FlagIn, status: int = 200, location: str | None = None) -> Response:
    return respond(flag_json(f), status, version=str(f.version), location=location)


def flags_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A flags service call, its refusals as problems: a stale If-Match 412 with the current ETag, an
    unknown flag 404, anything else the service refuses with its status and field messages."""
    try:
        return fn(*args, **kwargs)
    except flags.FlagConflict as exc:
        if exc.current is None:
            raise refused(exc) from None
        raise stale(exc, str(exc.current.version)) from None
    except flags.FlagError as exc:
        raise refused(exc) from None


def environment_value(raw: Any, *, status: int = 400) -> str:
    """An `environment` a request sends, in its query (`status` 400) or its body (422): one of the
    environments, else a problem naming the field `environment` and the environments there are."""
    try:
        return flags.check_environment(raw)
    except flags.FlagError as exc:
        raise Problem(status, exc.message, exc.errors) from None


def _environment() -> str:
    """The `environment` query parameter (the default environment when absent); an unknown one is a 400."""
    return environment_value(request.args.get("environment"))


def _flag(key: str) -> FlagIn:
    return flags_call(flags.get_flag, key, environment=_environment())


def _change(fn: Any, key: str, *args: Any, **kwargs: Any) -> Response:
    """A change by the token, checked against the version its If-Match names; the flag as it is now (in
    the environment asked about)."""
    flags_call(fn, key, *args, actor=actor(), ip=client_ip(), expected_version=if_match_version(), **kwargs)
    return _answer(_flag(key))


@endpoint("GET", "/flags", scope="flags:read", tag="flags", summary="List flags",
          description="By key, with the console's search; archived ones only with `archived=true`.",
          query=[param("q", {"type": "string", "maxLength": 200}, "Words in the key or description."),
                 param("archived", {"type": "boolean", "default": False}), ENVIRONMENT],
          response=FLAG_PAGE, paginated=True, links={"get_flag": {"key": "$response.body#/items/0/key"}})
def list_flags() -> Response:
    cursor = decode_cursor(request.args.get("cursor"), 1)
    archived = inputs.arg_choice("archived", ("true", "false"), "false") == "true"
    rows = flags.list_flags(request.args.get("q", "")[:200], archived=archived, environment=_environment())
    after = str(cursor[0]) if cursor else None
    rows = [f for f in rows if after is None or f.key > after]
    limit = limit_arg()
    more = len(rows) > limit
    rows = rows[:limit]
    return page([flag_json(f) for f in rows], encode_cursor(rows[-1].key) if more and rows else None)


@endpoint("POST", "/flags", scope="flags:write", tag="flags", query=[ENVIRONMENT], summary="Create a flag",
          description="Off and for everyone once enabled, unless the body says otherwise. 409 when the key "
                      "is taken.", body="FlagCreate", response="Flag", status=201, idempotent=True, errors=(409,),
          links={name: {"key": "$response.body#/key"} for name in (
              "get_flag", "update_flag", "update_flag_simple", "enable_flag", "disable_flag", "set_rollout",
              "archive_flag", "unarchive_flag", "flag_history", "preview_flag", "list_flag_overrides")})
def create_flag() -> Response:
    f = flags_call(flags.create_flag, body(), actor=actor(), ip=client_ip(), environment=_environment())
    return _answer(f, 201, url_for("adminapi.get_flag", key=f.key))


@endpoint("GET", f"/flags/{KEY}", scope="flags:read", tag="flags", summary="Read a flag", response="Flag",
          query=[ENVIRONMENT],
          etag=True)
def get_flag(key: str) -> Response:
    return _answer(_flag(key))


@endpoint("PATCH", f"/flags/{KEY}", scope="flags:write", tag="flags", summary="Change a flag (the full model)",
          query=[ENVIRONMENT],
          description="Any of the definition's fields; checked as a whole, stored as a new version (none when "
                      "nothing changed). 409 when it would switch an archived flag on or change its strategies "
                      "or schedule.", body="FlagUpdate", response="Flag", if_match=True, errors=(409,))
def update_flag(key: str) -> Response:
    _flag(key)
    return _change(flags.update_flag, key, body(), environment=_environment())


@endpoint("PUT", f"/flags/{KEY}/simple", scope="flags:write", tag="flags", summary="Change a flag (the simple form)",
          query=[ENVIRONMENT],
          description="The console's simple form: the listed testers always get it, a per cent of everyone else "
                      "does, optionally only where the conditions hold. Replaces the flag's strategies. 409 on an "
                      "archived flag.", body="FlagSimple", response="Flag", if_match=True, errors=(409,))
def update_flag_simple(key: str) -> Response:
    f = _flag(key)
    data = body()
    users, conditions = data.get("user_ids", []), data.get("conditions", [])
    if not isinstance(users, list) or not all(isinstance(u, str) for u in users):
        raise Problem(422, "user_ids is a list of tester ids or emails.", {"user_ids": "a list of strings"})
    if not isinstance(conditions, list) or not all(isinstance(c, dict) for c in conditions):
        raise Problem(422, "conditions is a list of constraints.", {"conditions": "a list of objects"})
    strategies = flags_call(flags.strategies_from_simple, key, data.get("rollout", 100), users, conditions)
    changes = {"strategies": strategies, "enabled": flag("enabled", data.get("enabled"), bool(f.enabled))}
    return _change(flags.update_flag, key, changes, environment=_environment())


def _switch(key: str, on: bool) -> Response:
    _flag(key)
    return _change(flags.set_enabled, key, on, environment=_environment())


@endpoint("POST", f"/flags/{KEY}/enable", scope="flags:write", tag="flags", summary="Switch a flag on",
          query=[ENVIRONMENT],
          description="Asking for the state it has changes nothing, whatever If-Match says. 409 on an archived "
                      "flag.", response="Flag", if_match=True, errors=(409,))
def enable_flag(key: str) -> Response:
    return _switch(key, True)


@endpoint("POST", f"/flags/{KEY}/disable", scope="flags:write", tag="flags", summary="Switch a flag off",
          query=[ENVIRONMENT],
          description="The kill switch. Asking for the state it has changes nothing.", response="Flag",
          if_match=True)
def disable_flag(key: str) -> Response:
    return _switch(key, False)


@endpoint("PUT", f"/flags/{KEY}/rollout", scope="flags:write", tag="flags", summary="Set the rollout percentage",
          query=[ENVIRONMENT],
          description="Of the flag's first gradual rollout (one is added when it has none). 409 on an archived "
                      "flag.", errors=(409,),
          body={"type": "object", "required": ["rollout"], "properties": {
              "rollout": {"type": "integer", "minimum": 0, "maximum": 100, "example": 25}}},
          response="Flag", if_match=True)
def set_rollout(key: str) -> Response:
    _flag(key)
    pct = body().get("rollout")
    if isinstance(pct, bool) or not isinstance(pct, int | float):
        raise Problem(422, "Send the rollout: a whole number from 0 to 100.",
                      {"rollout": "a whole number from 0 to 100"})
    return _change(flags.set_rollout, key, pct, environment=_environment())


@endpoint("POST", f"/flags/{KEY}/copy", scope="flags:write", tag="flags", query=[ENVIRONMENT],
          summary="Copy one environment's strategies to another",
          description="The strategies of `environment` (the setting flags.environment when absent), with their "
                      "conditions, segments and variants, replace those of `to`; the switch and schedule of `to` "
                      "stay. The answer is the flag in `to`. 409 on an archived flag.", errors=(409,),
          body={"type": "object", "required": ["to"], "properties": {
              "to": {"type": "string", "maxLength": 100, "example": "production"}}},
          response="Flag", if_match=True)
def copy_flag_rules(key: str) -> Response:
    source = _flag(key).environment
    target = environment_value(text("to", body().get("to"), required=True, max_length=1000), status=422)
    flags_call(flags.copy_rules, key, source, target, actor=actor(), ip=client_ip(),
               expected_version=if_match_version())
    return _answer(flags_call(flags.get_flag, key, environment=target))


@endpoint("POST", f"/flags/{KEY}/archive", scope="flags:write", tag="flags", summary="Archive a flag",
          query=[ENVIRONMENT],
          description="Off everywhere and hidden from clients; its history stays. 409 while other flags depend "
                      "on it.", response="Flag", if_match=True, errors=(409,))
def archive_flag(key: str) -> Response:
    _flag(key)
    return _change(flags.archive_flag, key)


@endpoint("POST", f"/flags/{KEY}/unarchive", scope="flags:write", tag="flags", query=[ENVIRONMENT],
          summary="Bring a flag back from the archive", description="Switched off (it may be long out of date).",
          response="Flag", if_match=True)
def unarchive_flag(key: str) -> Response:
    _flag(key)
    return _change(flags.unarchive_flag, key)


@endpoint("GET", f"/flags/{KEY}/versions", scope="flags:read", tag="flags", summary="A flag's history",
          description="Every change as a version, newest first, with its diff.",
          response={"type": "object", "required": ["items", "next_cursor"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/FlagVersion"}},
              "next_cursor": {"type": ["string", "null"]}}}, paginated=True)
def flag_history(key: str) -> Response:
    f = _flag(key)
    before = id_cursor() or f.version + 1
    limit = limit_arg()
    rows = [v for v in flags_call(flags.history, key, limit=f.version) if v.version < before][:limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    return page([version_json(v) for v in rows], encode_cursor(rows[-1].version) if more and rows else None)


@endpoint("GET", f"/flags/{KEY}/versions/<int:version>", scope="flags:read", tag="flags",
          summary="One version of a flag", response="FlagVersion")
def get_flag_version(key: str, version: int) -> Response:
    return respond(version_json(flags_call(flags.get_version, key, version)))


@endpoint("POST", f"/flags/{KEY}/versions/<int:version>/restore", scope="flags:write", tag="flags", query=[ENVIRONMENT],
          summary="Restore a version", description="The flag becomes what it was after that version, as a new "
                                                   "version (history only grows). 422 when that definition is "
                                                   "no longer valid here.", response="Flag", if_match=True)
def restore_flag_version(key: str, version: int) -> Response:
    return _change(flags.restore_version, key, version)


@endpoint("POST", f"/flags/{KEY}/preview", scope="flags:read", tag="flags", summary="Would this context get it?",
          query=[ENVIRONMENT],
          description="The engine's answer and why, over the stored flags and the tester's overrides.",
          body={"type": "object", "description": "An evaluation context: userId, sessionId, remoteAddress, "
                                                 "environment, appName, currentTime, properties."},
          response={"type": "object", "properties": {"enabled": {"type": "boolean"}, "reason": {"type": "string"},
                                                     "variant": {"type": "object"}}})
def preview_flag(key: str) -> Response:
    _flag(key)
    context, errors = parse_context(body())
    if errors:
        raise Problem(422, "The context is not valid.", errors)
    return respond(flags.preview(key, context, environment=_environment()))


@endpoint("GET", f"/flags/{KEY}/overrides", scope="flags:read", tag="flags",
          summary="Testers for whom the flag is forced on or off",
          response={"type": "object", "required": ["items"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/FlagOverride"}}}})
def list_flag_overrides(key: str) -> Response:
    _flag(key)
    return respond({"items": [{"tester_id": str(t["id"]), "email": t["email"], "on": t["on"]}
                              for t in flags.overriding_testers(key)]})


@endpoint("PUT", f"/flags/{KEY}/overrides/<uuid:tester_id>", scope="flags:write", tag="flags",
          summary="Force the flag on or off for one tester",
          description="Whatever the strategies say, also while the flag is off; every process applies it within "
                      "a second. Only an active flag can be forced.",
          body={"type": "object", "required": ["on"], "properties": {"on": {"type": "boolean"}}},
          response="FlagOverride")
def set_flag_override(key: str, tester_id: Any) -> Response:
    on = flag("on", body().get("on"), None)  # type: ignore[arg-type]
    if on is None:
        raise Problem(422, "Say whether the flag is forced on or off.", {"on": "required: true or false"})
    flags_call(flags.set_tester_override, tester_id, key, "on" if on else "off", actor=actor(), ip=client_ip())
    tester = flags.get_tester(tester_id)
    return respond({"tester_id": str(tester_id), "email": tester.email if tester else "", "on": on})


@endpoint("DELETE", f"/flags/{KEY}/overrides/<uuid:tester_id>", scope="flags:write", tag="flags",
          summary="Clear a tester's override", description="Clearing one that is not there changes nothing.",
          status=204, errors=(422,))
def clear_flag_override(key: str, tester_id: Any) -> Response:
    flags_call(flags.set_tester_override, tester_id, key, "clear", actor=actor(), ip=client_ip())
    return Response(status=204)
