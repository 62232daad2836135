"""/api/admin/v1/settings: read all or one, change one (validated, applied by every process within a second),
history, validate without saving, import and export — through nous.settings.service, as the console's
Settings page and `flask nous settings` do."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, request

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    endpoint,
    invalid,
    param,
    respond,
    rfc3339,
    schemas,
    stale,
)
from nous.adminapi.conventions import if_match as sent_version
from nous.settings import registry
from nous.settings import service as settings

FORMATS = ("json", "yaml")
_KEY = {"type": "string", "enum": sorted(registry.DEFINITIONS)}


def _definition(key: str) -> registry.Definition:
    definition = registry.DEFINITIONS.get(key)
    if definition is None:
        raise Problem(404, f"There is no setting {key[:100]!r}.")
    return definition


def setting_json(key: str, value: Any) -> dict[str, Any]:
    d = registry.DEFINITIONS[key]
    return {"key": key, "value": value, "default": d.default, "kind": d.kind, "label": d.label or key,
            "help": d.help, "unit": d.unit or None, "minimum": d.minimum, "maximum": d.maximum,
            "version": settings.version_of(value)}


def _time(raw: Any) -> str | None:
    try:
        return rfc3339(datetime.fromisoformat(raw)) if isinstance(raw, str) else None
    except ValueError:
        return raw


@endpoint("GET", "/settings", scope="settings:read", tag="settings", summary="Every setting",
          description="Each with its value, default, kind, bounds and version (the ETag of its object).",
          response="SettingList", links={"get_setting": {"key": "$response.body#/items/0/key"}})
def list_settings() -> Response:
    values = settings.all_values()
    return respond({"items": [setting_json(k, values[k]) for k in sorted(values)]})


@endpoint("GET", "/settings/<key>", scope="settings:read", tag="settings", summary="One setting",
          response="Setting", etag=True, links={"update_setting": {"key": "$response.body#/key"}})
def get_setting(key: str) -> Response:
    _definition(key)
    value = settings.get(key)
    return respond(setting_json(key, value), version=settings.version_of(value))


@endpoint("PUT", "/settings/<key>", scope="settings:write", tag="settings", summary="Change one setting",
          description="Validated as on the console; every process uses the new value within a second.",
          body="SettingUpdate", response="Setting", if_match=True)
def update_setting(key: str) -> Response:
    _definition(key)
    data = body()
    if "value" not in data:
        raise inputs.InputError("value", "is required")
    try:
        value = settings.set_value(key, data["value"], actor(), client_ip(), expected_version=sent_version())
    except settings.SettingConflict as exc:
        raise stale(exc, settings.version_of(exc.current)) from None
    except registry.SettingError as exc:
        raise Problem(422, exc.message, {"value": exc.message}) from None
    return respond(setting_json(key, value), version=settings.version_of(value))


@endpoint("GET", "/settings/history", scope="settings:read", tag="settings", summary="Changes of the settings",
          description="Newest first: who changed what, from which value to which.",
          query=[param("key", _KEY, "Only this setting."),
                 param("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50})],
          response="SettingHistory")
def settings_history() -> Response:
    key = inputs.arg_choice("key", registry.DEFINITIONS)
    items = settings.history(key, limit=inputs.arg_int("limit", 50, 1, 500) or 50)
    return respond({"items": [{**e, "at": _time(e.get("at"))} for e in items]})


@endpoint("POST", "/settings/validate", scope="settings:read", tag="settings",
          summary="Validate values without saving",
          description="`valid` is true when every value would be accepted; `errors` names each refused key; "
                      "`values` is each accepted value as it would be stored.",
          body="SettingValues", response="SettingValidation")
def validate_settings() -> Response:
    data = body()
    values = data.get("values")
    if not isinstance(values, dict):
        raise inputs.InputError("values", "must map setting keys to values")
    accepted, errors = {}, {}
    for key, raw in values.items():
        try:
            accepted[key] = registry.parse(str(key), raw)
        except registry.SettingError as exc:
            errors[str(key)] = exc.message
    return respond({"valid": not errors, "values": accepted, "errors": errors})


@endpoint("GET", "/settings/export", scope="settings:read", tag="settings", summary="Export every setting",
          description="As JSON or YAML, the document `POST /settings/import` takes.",
          query=[param("format", {"enum": list(FORMATS), "default": "json"})],
          response={"type": "object"}, media=("application/json", "application/yaml"))
def export_settings() -> Response:
    fmt = inputs.arg_choice("format", FORMATS, "json")
    mime = "application/json" if fmt == "json" else "application/yaml"
    return Response(settings.export(fmt), mimetype=mime,
                    headers={"Content-Disposition": f'attachment; filename="nous-settings.{fmt}"'})


@endpoint("POST", "/settings/import", scope="settings:write", tag="settings", summary="Import settings",
          description="A JSON object (or a YAML document, `application/yaml`) of keys and values. All are "
                      "validated first: either every one is saved or none (422 naming the first bad key).",
          body={"type": "object", "additionalProperties": True},
          body_media=("application/json", "application/yaml"), response="SettingImport", errors=(422,))
def import_settings() -> Response:
    if request.mimetype in ("application/yaml", "application/x-yaml", "text/yaml"):
        fmt, text = "yaml", request.get_data(as_text=True)
    else:
        body()  # refused as 400/415 when it is not a JSON object
        fmt, text = "json", request.get_data(as_text=True)
    try:
        changes = settings.import_text(text, fmt, actor(), client_ip())
    except registry.SettingError as exc:
        raise Problem(422, exc.message, {exc.key: exc.message}) from None
    except ValueError as exc:
        raise invalid(exc) from None
    return respond({"changed": {k: {"before": old, "after": new} for k, (old, new) in changes.items()}})


schemas(
    Setting={"type": "object", "required": ["key", "value", "default", "kind", "version"], "properties": {
        "key": {"type": "string"}, "value": {}, "default": {}, "kind": {"type": "string"},
        "label": {"type": "string"}, "help": {"type": "string"}, "unit": {"type": ["string", "null"]},
        "minimum": {"type": ["number", "null"]}, "maximum": {"type": ["number", "null"]},
        "version": {"type": "string"}},
        "example": {"key": "feedback.rate_limit", "value": "10/minute;100/hour", "default": "10/minute;100/hour",
                    "kind": "rate", "label": "Feedback rate limit", "help": "Feedback submissions allowed per "
                    "client IP, such as 10/minute;100/hour.", "unit": None, "minimum": None, "maximum": None,
                    "version": "3f1c0a9e5b7d2c41"}},
    SettingList={"type": "object", "required": ["items"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Setting"}}}},
    SettingUpdate={"type": "object", "required": ["value"], "properties": {"value": {}},
                   "example": {"value": "20/minute;200/hour"}},
    SettingHistory={"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
        "type": "object", "properties": {"id": {"type": "integer"}, "at": {"type": ["string", "null"]},
                                         "actor": {"type": "string"}, "target": {"type": "string"},
                                         "before": {}, "after": {}}}}}},
    SettingValues={"type": "object", "required": ["values"], "properties": {
        "values": {"type": "object"}}, "example": {"values": {"alerts.error_rate": 0.1}}},
    SettingValidation={"type": "object", "required": ["valid", "values", "errors"], "properties": {
        "valid": {"type": "boolean"}, "values": {"type": "object"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}}}},
    SettingImport={"type": "object", "required": ["changed"], "properties": {"changed": {"type": "object"}}},
)
