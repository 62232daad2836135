"""/api/admin/v1/testers: list and search, read, add, change, invite, deactivate, delete, import, export —
through nous.testers.service, as the console's Testers page and `flask nous testers` do."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    EXPORT_MEDIA,
    actor,
    body,
    client_ip,
    decode_cursor,
    encode_cursor,
    endpoint,
    export,
    export_format,
    flag,
    limit_arg,
    not_found,
    page,
    param,
    refused,
    respond,
    rfc3339,
    schemas,
    stale,
    text,
)
from nous.adminapi.conventions import if_match as sent_version
from nous.testers import service as testers
from nous.testers.models import ROLES, BetaUser

TIMES = ("created_at", "invited_at", "joined_at", "last_seen_at")


def tester_json(user: BetaUser) -> dict[str, Any]:
    out = user.as_dict()
    out.update({name: rfc3339(getattr(user, name)) for name in TIMES})
    return out


def _answer(user: BetaUser, status: int = 200, location: str | None = None) -> Response:
    return respond(tester_json(user), status, version=testers.version_of(user), location=location)


def _require(tester_id: Any) -> BetaUser:
    user = testers.get(tester_id)
    if user is None:
        raise not_found("tester")
    return user


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A testers service call, its refusals as problems (a stale If-Match: 412 with the current ETag)."""
    try:
        return fn(*args, **kwargs)
    except testers.TesterConflict as exc:
        raise stale(exc, testers.version_of(exc.current)) from None
    except testers.TesterError as exc:
        raise refused(exc) from None


_FILTERS = [
    param("q", {"type": "string", "maxLength": 200}, "Words in the email or the notes."),
    param("role", {"enum": list(ROLES)}),
    param("state", {"enum": list(testers.STATES)}),
]


def _filters() -> dict[str, str]:
    return {"q": request.args.get("q", ""), "role": inputs.arg_choice("role", ROLES),
            "state": inputs.arg_choice("state", testers.STATES)}


@endpoint("GET", "/testers", scope="testers:read", tag="testers", summary="List testers",
          description="Ordered by email (case-insensitive), with the console's filters and search. "
                      "`total=true` adds how many match in all (one more pass over them).",
          query=[*_FILTERS, param("total", {"enum": ["true", "false"], "default": "false"})],
          response="TesterPage", paginated=True,
          links={"get_tester": {"tester_id": "$response.body#/items/0/id"}})
def list_testers() -> Response:
    cursor = decode_cursor(request.args.get("cursor"), 1)
    count = inputs.arg_choice("total", ("true", "false"), "false") == "true"
    found = testers.search(**_filters(), after=str(cursor[0]) if cursor else "", limit=limit_arg(), count=count)
    next_cursor = encode_cursor(found.next_after.lower()) if found.next_after else None
    extra = {"total": found.total} if count else {}
    return page([tester_json(u) for u in found.users], next_cursor, **extra)


@endpoint("POST", "/testers", scope="testers:write", tag="testers", summary="Add a tester",
          description="Not invited unless `invite` is true. 409 when the address is already a tester.",
          body="TesterCreate", response="Tester", status=201, idempotent=True, errors=(409,),
          links={name: {"tester_id": "$response.body#/id"} for name in (
              "get_tester", "update_tester", "invite_tester", "deactivate_tester", "reactivate_tester",
              "delete_tester")})
def create_tester() -> Response:
    data = body()
    send_invite = flag("invite", data.get("invite"))
    user = _call(testers.add, data.get("email"), actor=actor(), ip=client_ip(), role=data.get("role") or "TESTER",
                 notes=text("notes", data.get("notes")) or "", source="admin")
    if send_invite:
        user = _call(testers.invite, user.id, actor=actor(), ip=client_ip())
    return _answer(user, 201, url_for("adminapi.get_tester", tester_id=user.id))


@endpoint("GET", "/testers/<uuid:tester_id>", scope="testers:read", tag="testers", summary="Read a tester",
          response="Tester", etag=True)
def get_tester(tester_id: Any) -> Response:
    return _answer(_require(tester_id))


@endpoint("PATCH", "/testers/<uuid:tester_id>", scope="testers:write", tag="testers",
          summary="Change a tester's role or notes", body="TesterUpdate", response="Tester", if_match=True)
def update_tester(tester_id: Any) -> Response:
    data = body()
    user = _call(testers.update, tester_id, actor=actor(), ip=client_ip(), role=text("role", data.get("role")),
                 notes=text("notes", data.get("notes")), expected_version=sent_version())
    return _answer(user)


@endpoint("POST", "/testers/<uuid:tester_id>/invite", scope="testers:write", tag="testers",
          summary="Send the invite email, or send it again",
          description="409 when the tester is deactivated or has joined; 503 when email cannot be queued.",
          response="Tester", errors=(409,))
def invite_tester(tester_id: Any) -> Response:
    return _answer(_call(testers.invite, tester_id, actor=actor(), ip=client_ip()))


def _set_active(tester_id: Any, active: bool) -> Response:
    return _answer(_call(testers.set_active, tester_id, active, actor=actor(), ip=client_ip(),
                         expected_version=sent_version()))


@endpoint("POST", "/testers/<uuid:tester_id>/deactivate", scope="testers:write", tag="testers",
          summary="Deactivate a tester", description="Asking again changes nothing.", response="Tester",
          if_match=True)
def deactivate_tester(tester_id: Any) -> Response:
    return _set_active(tester_id, False)


@endpoint("POST", "/testers/<uuid:tester_id>/reactivate", scope="testers:write", tag="testers",
          summary="Reactivate a tester", description="Asking again changes nothing.", response="Tester",
          if_match=True)
def reactivate_tester(tester_id: Any) -> Response:
    return _set_active(tester_id, True)


@endpoint("DELETE", "/testers/<uuid:tester_id>", scope="testers:write", tag="testers", summary="Delete a tester",
          description="Their feedback stays, no longer linked to them.", status=204)
def delete_tester(tester_id: Any) -> Response:
    _call(testers.remove, tester_id, actor=actor(), ip=client_ip())
    return Response(status=204)


def _json_rows() -> tuple[list[tuple[int, dict[str, str]]], bool]:
    """(item number, {email, role, notes}) pairs of a JSON body's `testers` list, and its `invite`."""
    data = body()
    items = data.get("testers")
    if not isinstance(items, list):
        raise inputs.InputError("testers", "must be a list of objects with an email")
    rows = []
    for n, item in enumerate(items, start=1):
        item = item if isinstance(item, dict) else {"email": item}
        rows.append((n, {k: "" if item.get(k) is None else str(item.get(k)) for k in ("email", "role", "notes")}))
    return rows, flag("invite", data.get("invite"))


@endpoint("POST", "/testers/import", scope="testers:write", tag="testers", summary="Import testers",
          description="A CSV (`text/csv`: an `email` column and optional `role`, `notes`, or one address a "
                      "line; `?invite=true` invites the added) or JSON (`{testers: [{email, role, notes}], "
                      "invite}`). Every valid new address is added in one transaction; each line is reported "
                      "as added or skipped, with why.",
          body="TesterImport", body_media=("application/json", "text/csv"), response="ImportReport",
          query=[param("invite", {"enum": ["true", "false"]}, "CSV only: invite the testers added.")],
          idempotent=True, errors=(409,))
def import_testers() -> Response:
    if request.mimetype in ("text/csv", "text/plain"):
        csv_text = testers.decode_upload(request.get_data(cache=True))
        report = _call(testers.import_text, csv_text, actor=actor(), ip=client_ip(),
                       invite_added=request.args.get("invite") == "true")
    else:
        rows, invite_added = _json_rows()
        report = _call(testers.import_rows, rows, actor=actor(), ip=client_ip(), invite_added=invite_added)
    return respond(report.as_dict())


@endpoint("GET", "/testers/export", scope="testers:read", tag="testers", summary="Export testers",
          description="Streamed, with the list's filters: CSV (a spreadsheet-safe table) or JSON lines.",
          query=[*_FILTERS, param("format", {"enum": ["csv", "jsonl"], "default": "csv"})],
          response={"type": "string"}, media=EXPORT_MEDIA)
def export_testers() -> Response:
    fmt, filters = export_format(), _filters()
    return export(fmt, "nous-testers", testers.EXPORT_HEADER, testers.export_rows(**filters),
                  (tester_json(u) for u in testers.iter_filtered(**filters)))


_TIME = {"type": ["string", "null"], "format": "date-time"}
schemas(
    Tester={"type": "object", "required": ["id", "email", "role", "is_active", "invite_state"], "properties": {
        "id": {"type": "string", "format": "uuid"}, "email": {"type": "string", "format": "email"},
        "role": {"enum": list(ROLES)}, "is_active": {"type": "boolean"},
        "invite_state": {"enum": ["joined", "invited", "not invited"]}, "source": {"type": "string"},
        "created_at": _TIME, "invited_at": _TIME, "invite_sent_count": {"type": "integer"}, "joined_at": _TIME,
        "last_seen_at": _TIME, "notes": {"type": "string"},
        "flag_set": {"type": "object", "additionalProperties": {"type": "boolean"}}},
        "example": {"id": "9b2f6c1e-8d4a-4c4e-9a57-2f1d3c1b7a10", "email": "ada@example.com", "role": "TESTER",
                    "is_active": True, "invite_state": "invited", "source": "admin",
                    "created_at": "2026-12-01T09:00:00.000Z", "invited_at": "2026-12-01T09:05:00.000Z",
                    "invite_sent_count": 1, "joined_at": None, "last_seen_at": None, "notes": "", "flag_set": {}}},
    TesterPage={"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Tester"}},
        "next_cursor": {"type": ["string", "null"]}, "total": {"type": "integer"}}},
    TesterCreate={"type": "object", "required": ["email"], "properties": {
        "email": {"type": "string", "format": "email", "maxLength": 320}, "role": {"enum": list(ROLES)},
        "notes": {"type": "string", "maxLength": testers.MAX_NOTES}, "invite": {"type": "boolean"}},
        "example": {"email": "ada@example.com", "role": "TESTER", "notes": "from the sign-up form", "invite": True}},
    TesterUpdate={"type": "object", "properties": {
        "role": {"enum": list(ROLES)}, "notes": {"type": "string", "maxLength": testers.MAX_NOTES}},
        "example": {"notes": "prefers email"}},
    TesterImport={"oneOf": [
        {"type": "object", "required": ["testers"], "properties": {
            "testers": {"type": "array", "maxItems": testers.MAX_IMPORT_ROWS, "items": {
                "type": "object", "required": ["email"], "properties": {
                    "email": {"type": "string"}, "role": {"type": "string"}, "notes": {"type": "string"}}}},
            "invite": {"type": "boolean"}}},
        {"type": "string", "description": "CSV text"}],
        "example": {"testers": [{"email": "ada@example.com"}, {"email": "grace@example.com", "role": "ADMIN"}],
                    "invite": False}},
    ImportReport={"type": "object", "required": ["added", "skipped", "rows"], "properties": {
        "added": {"type": "integer"}, "skipped": {"type": "integer"},
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "line": {"type": "integer"}, "email": {"type": "string"}, "result": {"enum": ["added", "skipped"]},
            "reason": {"type": "string"}}}}}},
)
