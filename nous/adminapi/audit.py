"""/api/admin/v1/audit: the audit log, newest first, with the console's filters, and its streamed export."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from flask import Response, request

from nous import inputs
from nous.adminapi.conventions import (
    EXPORT_MEDIA,
    INT32_MAX,
    encode_cursor,
    endpoint,
    export,
    export_format,
    id_cursor,
    limit_arg,
    page,
    param,
    rfc3339,
    schemas,
)
from nous.audit import service as audit
from nous.audit.models import AuditEvent

HEADER = ["id", "at", "actor", "action", "target", "before", "after", "ip"]
_FILTERS = [
    param("actor", {"type": "string", "maxLength": 200}, "Part of the actor (an email, `token:<name>`, `cli:…`)."),
    param("action", {"type": "string", "maxLength": 200}, "The action or its start (`testers.` for every one)."),
    param("target", {"type": "string", "maxLength": 200}, "Part of the target."),
    param("since", {"type": "string"}, "From this date or date-time (RFC 3339; UTC when no zone)."),
    param("until", {"type": "string"}, "Before this date-time; a date includes that whole day."),
]


def _filters() -> dict[str, Any]:
    out: dict[str, Any] = {k: request.args.get(k, "").strip()[:200] for k in ("actor", "action", "target")}
    for name in ("since", "until"):
        raw = request.args.get(name, "").strip()
        when: datetime | None = inputs.parse_datetime(raw, name)
        if when is not None:
            out[name] = when + (timedelta(days=1) if name == "until" and len(raw) == 10 else timedelta(0))
    return out


def event_json(e: AuditEvent) -> dict[str, Any]:
    return {"id": e.id, "at": rfc3339(e.at), "actor": e.actor, "action": e.action, "target": e.target,
            "before": e.before, "after": e.after, "ip": e.ip}


@endpoint("GET", "/audit", scope="audit:read", tag="audit", summary="The audit log",
          description="Every change, newest first: who (an admin's email or `token:<name>`), what, before "
                      "and after.", query=_FILTERS, response="AuditPage", paginated=True)
def list_audit() -> Response:
    before = id_cursor(INT32_MAX)
    limit = limit_arg()
    events = audit.query(before_id=before, limit=limit + 1, **_filters())
    more = len(events) > limit
    events = events[:limit]
    return page([event_json(e) for e in events], encode_cursor(events[-1].id) if more and events else None)


def _cell(value: Any) -> str:
    return "" if value is None else json.dumps(value, default=str)


@endpoint("GET", "/audit/export", scope="audit:read", tag="audit", summary="Export the audit log",
          description="Streamed, with the list's filters: CSV or JSON lines.",
          query=[*_FILTERS, param("format", {"enum": ["csv", "jsonl"], "default": "csv"})],
          response={"type": "string"}, media=EXPORT_MEDIA)
def export_audit() -> Response:
    fmt, filters = export_format(), _filters()
    rows = ((e.id, rfc3339(e.at), e.actor, e.action, e.target, _cell(e.before), _cell(e.after), e.ip)
            for e in audit.iter_all(**filters))
    return export(fmt, "nous-audit", HEADER, rows, (event_json(e) for e in audit.iter_all(**filters)))


schemas(
    AuditEvent={"type": "object", "required": ["id", "at", "actor", "action", "target"], "properties": {
        "id": {"type": "integer"}, "at": {"type": ["string", "null"], "format": "date-time"},
        "actor": {"type": "string"}, "action": {"type": "string"}, "target": {"type": "string"},
        "before": {}, "after": {}, "ip": {"type": ["string", "null"]}},
        "example": {"id": 981, "at": "2026-12-06T07:01:02.003Z", "actor": "token:signup-service",
                    "action": "testers.add", "target": "ada@example.com", "before": None,
                    "after": {"email": "ada@example.com", "role": "TESTER"}, "ip": "10.0.0.7"}},
    AuditPage={"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditEvent"}},
        "next_cursor": {"type": ["string", "null"]}}},
)
