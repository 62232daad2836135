"""/api/admin/v1/feedback: the triage list with every console filter, one feedback with its replies, status
and tags (one or many), replies by email, streamed export, statistics and chart series — through
nous.feedback.service, as the console's Feedback page does."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    EXPORT_MEDIA,
    Problem,
    actor,
    body,
    client_ip,
    decode_cursor,
    encode_cursor,
    endpoint,
    export,
    export_format,
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
from nous.feedback import service as feedback
from nous.feedback.models import Feedback, FeedbackAttachment, FeedbackReply

STATUS_FILTER = (*feedback.STATUSES, "all")
MAX_BULK = 200
# What a file download can be: the types the attachments service stores (text always as UTF-8).
_FILE_MEDIA = ("image/png", "image/jpeg", "image/webp", "text/plain")

_FILTERS = [
    param("q", {"type": "string", "maxLength": 200}, "Words in the message."),
    param("rating", {"type": "integer", "minimum": 1, "maximum": 5}),
    param("feature", {"type": "string", "maxLength": 100}),
    param("category", {"enum": list(feedback.CATEGORIES)}),
    param("status", {"enum": list(STATUS_FILTER)}, "Absent: everything but spam; `all`: everything."),
    param("tag", {"type": "string", "maxLength": 50}),
    param("email", {"type": "string", "maxLength": 320}),
    param("tester", {"type": "string", "format": "uuid"}, "A tester's id."),
    param("since", {"type": "string", "format": "date"}, "From this day (UTC)."),
    param("until", {"type": "string", "format": "date"}, "To this day (UTC), included."),
    param("flag", {"type": "string", "maxLength": feedback.FLAG_KEY_MAX},
          "Feedback whose tester had this flag recorded when sending it (see `flag_state`, `variant`)."),
    param("flag_env", {"type": "string", "maxLength": feedback.ENVIRONMENT_MAX},
          "…recorded in this flag environment (any when absent); needs `flag`."),
    param("flag_state", {"enum": list(feedback.FLAG_STATES)}, "…on or off (either when absent); needs `flag`."),
    param("variant", {"type": "string", "maxLength": feedback.VARIANT_MAX},
          "…with this variant (so on: not with `flag_state=off`); needs `flag`."),
]


def _filter() -> feedback.Filter:
    """The console's filter, each value checked first: a value no filter can mean is 400 naming it."""
    inputs.arg_int("rating", None, 1, 5)
    inputs.arg_choice("category", feedback.CATEGORIES)
    inputs.arg_choice("status", STATUS_FILTER)
    inputs.parse_date(request.args.get("since"), "since")
    inputs.parse_date(request.args.get("until"), "until")
    inputs.arg_choice("flag_state", feedback.FLAG_STATES)
    for name, limit in (("flag", feedback.FLAG_KEY_MAX), ("flag_env", feedback.ENVIRONMENT_MAX),
                        ("variant", feedback.VARIANT_MAX)):
        if len(request.args.get(name, "")) > limit:
            raise inputs.InputError(name, f"must be at most {limit} characters")
    feedback.check_flag_filter(request.args)
    tester = request.args.get("tester", "").strip()
    if tester:
        try:
            uuid.UUID(tester)
        except ValueError:
            raise inputs.InputError("tester", "must be a tester's id (a UUID)") from None
    return feedback.parse_filter(request.args)


def feedback_json(row: Feedback, tags: list[str]) -> dict[str, Any]:
    out = row.as_dict(tags)
    out["created_at"] = rfc3339(row.created_at)
    out["updated_at"] = rfc3339(row.updated_at)
    return out


def reply_json(r: FeedbackReply) -> dict[str, Any]:
    return {"id": r.id, "created_at": rfc3339(r.created_at), "sent_by": r.sent_by, "to": r.to_email,
            "body": r.body, "email_id": r.email_id}


def attachment_json(a: FeedbackAttachment) -> dict[str, Any]:
    """A file as the API shows it (no bytes: those are at its download URL); `text_note` says why there is no
    text yet (still being read, no OCR here…) and is left out when there is nothing to say."""
    out = {"id": a.id, "filename": a.filename, "content_type": a.content_type, "kind": a.kind, "size": a.size,
           "width": a.width, "height": a.height, "sha256": a.sha256, "text": a.text, "text_status": a.text_status,
           "created_at": rfc3339(a.created_at)}
    if a.text_note:
        out["text_note"] = a.text_note
    return out


def _require(feedback_id: int) -> Feedback:
    row = feedback.get(feedback_id)
    if row is None:
        raise not_found("feedback")
    return row


def _answer(row: Feedback, status: int = 200) -> Response:
    data = feedback_json(row, feedback.tags_for([row.id])[row.id])
    data["replies"] = [reply_json(r) for r in feedback.replies(row.id)]
    data["attachments"] = [attachment_json(a) for a in feedback.attachments.for_feedback(row.id)]
    return respond(data, status, version=feedback.version_of(row))


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except feedback.FeedbackConflict as exc:
        raise stale(exc, feedback.version_of(exc.current)) from None
    except feedback.BulkConflict as exc:
        raise Problem(412, str(exc.message), {"versions": ", ".join(f"#{r.id}" for r in exc.rows[:50])}) from None
    except feedback.FeedbackError as exc:
        raise refused(exc) from None


@endpoint("GET", "/feedback", scope="feedback:read", tag="feedback", summary="List feedback",
          query=_FILTERS, response="FeedbackPage", paginated=True,
          description="Newest first, with every filter of the console. Spam is left out unless `status` asks. "
                      "Each item lists its files in short (`id`, `filename`, `kind`, `width`, `height`); reading "
                      "one feedback gives them in full.",
          links={name: {"feedback_id": "$response.body#/items/0/id"} for name in (
              "get_feedback", "update_feedback", "reply_to_feedback")})
def list_feedback() -> Response:
    f = _filter()
    cursor = decode_cursor(request.args.get("cursor"), 1)
    if cursor and feedback.parse_cursor(str(cursor[0])) is None:
        raise inputs.InputError("cursor", "is not a cursor this API gave out")
    found = feedback.list_page(f, before=str(cursor[0]) if cursor else None, limit=limit_arg())
    files = feedback.attachments.thumbnails_for([r.id for r in found.items])  # one query for the whole page
    items = [{**feedback_json(r, found.tags.get(r.id, [])), "attachments": files.get(r.id, [])} for r in found.items]
    return page(items, encode_cursor(found.older) if found.older else None)


@endpoint("GET", "/feedback/<bigint:feedback_id>", scope="feedback:read", tag="feedback",
          summary="Read one feedback, with its tags, replies and files", response="FeedbackDetail", etag=True)
def get_feedback(feedback_id: int) -> Response:
    return _answer(_require(feedback_id))


@endpoint("PATCH", "/feedback/<bigint:feedback_id>", scope="feedback:write", tag="feedback",
          summary="Set the status and/or the tags", description="`tags` replaces the whole list.",
          body="FeedbackUpdate", response="FeedbackDetail", if_match=True)
def update_feedback(feedback_id: int) -> Response:
    data = body()
    status = text("status", data.get("status"))
    raw_tags = data.get("tags")
    if raw_tags is not None and (not isinstance(raw_tags, list) or not all(isinstance(t, str) for t in raw_tags)):
        raise inputs.InputError("tags", "must be a list of strings")
    if raw_tags is not None:
        _call(feedback.parse_tags, raw_tags)  # refused before anything is changed
    if status is not None and status not in feedback.STATUSES:
        raise Problem(422, "Unknown status.", {"status": f"must be one of {', '.join(feedback.STATUSES)}"})
    row = _require(feedback_id)
    seen = sent_version()
    if status is not None:
        before = feedback.version_of(row)
        row = _call(feedback.set_status, row.id, status, actor=actor(), ip=client_ip(), expected_version=seen)
        if seen is not None and seen == before:
            seen = feedback.version_of(row)  # the tags follow the status this request just set
    if raw_tags is not None:
        _call(feedback.set_tags, row.id, raw_tags, actor=actor(), ip=client_ip(), expected_version=seen)
    return _answer(_require(feedback_id))


def _tag_list(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise inputs.InputError(name, "must be a list of strings")
    return value


@endpoint("POST", "/feedback/bulk", scope="feedback:write", tag="feedback",
          summary="Set one status, or add and remove tags, on many",
          description="At most 200 ids; either `status` or `add_tags`/`remove_tags`. All or nothing: with "
                      "`versions` (id → the ETag last read), nothing is changed when one of them changed since "
                      "(412), nor when a row would end with too many tags (422).",
          body="FeedbackBulk", response={"type": "object", "properties": {"changed": {"type": "integer"}}},
          errors=(412,))
def bulk_feedback() -> Response:
    data = body()
    ids, status, versions = data.get("ids"), text("status", data.get("status")), data.get("versions")
    add, remove = _tag_list("add_tags", data.get("add_tags")), _tag_list("remove_tags", data.get("remove_tags"))
    if not isinstance(ids, list) or not ids or len(ids) > MAX_BULK or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids):
        raise inputs.InputError("ids", f"must be a list of 1 to {MAX_BULK} feedback ids")
    if versions is not None and (not isinstance(versions, dict) or not all(
            isinstance(v, str) and k.isascii() and k.isdigit() and len(k) <= 19 for k, v in versions.items())):
        raise inputs.InputError("versions", "must map feedback ids to the ETags last read")
    if (status is None) == (not add and not remove):
        raise Problem(422, "Send either a status or tags to add and remove.",
                      {"status": "either this", "add_tags": "or tags to add and remove"})
    seen = {int(k): v.strip('"') for k, v in (versions or {}).items()}
    if status is not None:
        changed = _call(feedback.bulk_status, ids, status, actor=actor(), ip=client_ip(), seen=seen)
    else:
        changed = _call(feedback.bulk_tags, ids, add, remove, actor=actor(), ip=client_ip(), seen=seen)
    return respond({"changed": changed})


@endpoint("POST", "/feedback/<bigint:feedback_id>/replies", scope="feedback:write", tag="feedback",
          summary="Reply by email to whoever sent it",
          description="Queued in the email outbox. 409 when the feedback came without an address.",
          body="FeedbackReplyCreate", response="FeedbackReply", status=201, idempotent=True, errors=(409,))
def reply_to_feedback(feedback_id: int) -> Response:
    data = body()
    message = text("body", data.get("body"), required=True, max_length=feedback.REPLY_MAX * 2)
    sent = _call(feedback.reply, feedback_id, message or "", actor=actor(), ip=client_ip())
    return respond(reply_json(sent), 201, location=url_for("adminapi.get_feedback", feedback_id=feedback_id))


def _attachment_of(feedback_id: int, attachment_id: int) -> FeedbackAttachment:
    """The file, when it belongs to this feedback: another feedback's file is 404 as a missing one is."""
    att = feedback.attachments.get(attachment_id)
    if att is None or att.feedback_id != feedback_id:
        raise not_found("file of this feedback")
    return att


@endpoint("GET", "/feedback/<bigint:feedback_id>/attachments/<bigint:attachment_id>", scope="feedback:read",
          tag="feedback", summary="Download a file sent with the feedback",
          description="The stored bytes (re-encoded when the file was received), streamed, as the console "
                      "serves them: the type decided by the server (`Content-Type` among those listed), "
                      "`X-Content-Type-Options: nosniff`, `Content-Security-Policy: sandbox`, an RFC 6266 "
                      "`Content-Disposition: attachment` with a safe name, and `ETag` the file's sha256 "
                      "(`If-None-Match` with it: 304).",
          response={"type": "string", "format": "binary"}, media=_FILE_MEDIA)
def get_feedback_attachment(feedback_id: int, attachment_id: int) -> Response:
    return feedback.attachments.file_response(_attachment_of(feedback_id, attachment_id), "attachment")


@endpoint("DELETE", "/feedback/<bigint:feedback_id>/attachments/<bigint:attachment_id>", scope="feedback:write",
          tag="feedback", summary="Delete a file sent with the feedback",
          description="Audited on the feedback (`feedback.attachment.delete`, with the file's name, size and "
                      "sha256); the console's pages showing the feedback redraw without it.", status=204)
def delete_feedback_attachment(feedback_id: int, attachment_id: int) -> Response:
    att = _attachment_of(feedback_id, attachment_id)
    if feedback.attachments.delete(att.id, actor=actor(), ip=client_ip()) is None:
        raise not_found("file of this feedback")  # deleted meanwhile
    return Response(status=204)


@endpoint("POST", "/feedback/<bigint:feedback_id>/attachments/<bigint:attachment_id>/read-again",
          scope="feedback:write", tag="feedback", summary="Read the text in an image again",
          description="For an image whose reading ended without its text (`text_status` `failed`: Tesseract could "
                      "not read it or ran out of time; `unavailable`: it was not installed then): the text is read "
                      "again in the background (`text_status` `pending`). Audited on the feedback "
                      "(`feedback.attachment.read_again`); the workflows are not told of the feedback again. 409 "
                      "when the file's text is read or being read, or it is not an image; 503 when the job cannot "
                      "be queued now.", response="FeedbackAttachment", status=202, errors=[409, 503])
def read_feedback_attachment_again(feedback_id: int, attachment_id: int) -> Response:
    att = _attachment_of(feedback_id, attachment_id)
    if not att.can_read_again:
        raise Problem(409, f"The text of this file is not waiting to be read again (its text_status is "
                           f"{att.text_status}{', and it is not an image' if att.kind != 'image' else ''}).",
                      {"text_status": att.text_status})
    att = _call(feedback.read_text_again, att.id, actor=actor(), ip=client_ip())
    if att is None:
        raise not_found("file of this feedback")  # deleted meanwhile
    return respond(attachment_json(att), 202)


@endpoint("GET", "/feedback/export", scope="feedback:read", tag="feedback", summary="Export feedback",
          description="Streamed, with the list's filters: CSV or JSON lines.",
          query=[*_FILTERS, param("format", {"enum": ["csv", "jsonl"], "default": "csv"})],
          response={"type": "string"}, media=EXPORT_MEDIA)
def export_feedback() -> Response:
    fmt, f = export_format(), _filter()
    return export(fmt, "nous-feedback", feedback.EXPORT_HEADER, feedback.export_rows(f),
                  (feedback_json(row, tags) for row, tags in feedback.iter_filtered(f)))


@endpoint("GET", "/feedback/statistics", scope="feedback:read", tag="feedback", summary="Feedback statistics",
          description="Over everything but spam (a few seconds old at most), and the count per status.",
          response="FeedbackStatistics")
def feedback_statistics() -> Response:
    return respond({**feedback.stats(), "by_status": feedback.counts_by_status()})


@endpoint("GET", "/feedback/charts", scope="feedback:read", tag="feedback", summary="Chart series",
          description="Per day (Unix seconds at UTC midnight) count and average rating, per feature, per rating.",
          query=[param("days", {"type": "integer", "minimum": 7, "maximum": 365, "default": 90})],
          response="FeedbackCharts")
def feedback_charts() -> Response:
    return respond(feedback.charts(inputs.arg_int("days", 90, 7, 365) or 90))


_TIME = {"type": ["string", "null"], "format": "date-time"}
_FEEDBACK = {"type": "object", "required": ["id", "created_at", "rating", "message", "category", "status", "tags"],
             "properties": {
                 "id": {"type": "integer"}, "created_at": _TIME, "updated_at": _TIME,
                 "rating": {"type": "integer", "minimum": 1, "maximum": 5}, "message": {"type": "string"},
                 "feature": {"type": ["string", "null"]}, "category": {"enum": list(feedback.CATEGORIES)},
                 "status": {"enum": list(feedback.STATUSES)}, "email": {"type": ["string", "null"]},
                 "tester_id": {"type": ["string", "null"]}, "page_url": {"type": ["string", "null"]},
                 "user_agent": {"type": ["string", "null"]}, "viewport": {"type": ["string", "null"]},
                 "app_version": {"type": ["string", "null"]}, "tags": {"type": "array", "items": {"type": "string"}}},
             "example": {"id": 4211, "created_at": "2026-12-05T14:03:12.412Z", "updated_at": "2026-12-05T15:00:00.000Z",
                         "rating": 2, "message": "Export button does nothing on Safari", "feature": "export",
                         "category": "bug", "status": "triaged", "email": "ada@example.com", "tester_id": None,
                         "page_url": "https://app.example.com/reports", "user_agent": "Safari/17",
                         "viewport": "1440x900", "app_version": "2.4.1", "tags": ["safari"]}}
_REPLY = {"type": "object", "required": ["id", "created_at", "to", "body"], "properties": {
    "id": {"type": "integer"}, "created_at": _TIME, "sent_by": {"type": "string"}, "to": {"type": "string"},
    "body": {"type": "string"}, "email_id": {"type": ["integer", "null"]}}}
_ATTACHMENT = {"type": "object", "required": ["id", "filename", "content_type", "kind", "size", "sha256", "text",
                                             "text_status", "created_at"], "properties": {
    "id": {"type": "integer"}, "filename": {"type": "string"}, "content_type": {"type": "string"},
    "kind": {"enum": ["image", "text"]}, "size": {"type": "integer"},
    "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]},
    "sha256": {"type": "string"}, "text": {"type": "string", "description": "The text read in it (OCR) or its text."},
    "text_status": {"enum": ["pending", "done", "unavailable", "failed"]},
    "text_note": {"type": "string", "description": "Why there is no text (yet); absent when there is nothing to say."},
    "created_at": _TIME},
    "example": {"id": 77, "filename": "screen shot.png", "content_type": "image/png", "kind": "image",
                "size": 48211, "width": 1440, "height": 900, "sha256": "9f2c…", "text": "Export failed: E1234",
                "text_status": "done", "created_at": "2026-12-05T14:03:12.412Z"}}
_ATTACHMENT_SHORT = {"type": "object", "required": ["id", "filename", "kind"], "properties": {
    "id": {"type": "integer"}, "filename": {"type": "string"}, "kind": {"enum": ["image", "text"]},
    "width": {"type": ["integer", "null"]}, "height": {"type": ["integer", "null"]}}}
schemas(
    Feedback=_FEEDBACK,
    FeedbackAttachment=_ATTACHMENT,
    FeedbackAttachmentSummary=_ATTACHMENT_SHORT,
    FeedbackListItem={"allOf": [{"$ref": "#/components/schemas/Feedback"}, {"type": "object", "properties": {
        "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackAttachmentSummary"},
                        "description": "Its files in short; GET the feedback for them in full."}}}]},
    FeedbackReply=_REPLY,
    FeedbackDetail={"allOf": [{"$ref": "#/components/schemas/Feedback"}, {"type": "object", "properties": {
        "replies": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackReply"}},
        "attachments": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackAttachment"},
                        "description": "Its files, oldest first; each downloads at "
                                       "`/feedback/{id}/attachments/{attachment_id}`."}}}]},
    FeedbackPage={"type": "object", "required": ["items", "next_cursor"], "properties": {
        "items": {"type": "array", "items": {"$ref": "#/components/schemas/FeedbackListItem"}},
        "next_cursor": {"type": ["string", "null"]}}},
    FeedbackUpdate={"type": "object", "properties": {
        "status": {"enum": list(feedback.STATUSES)},
        "tags": {"type": "array", "maxItems": feedback.TAGS_PER_FEEDBACK, "items": {"type": "string"}}},
        "example": {"status": "planned", "tags": ["export", "safari"]}},
    FeedbackBulk={"type": "object", "required": ["ids"], "properties": {
        "ids": {"type": "array", "minItems": 1, "maxItems": MAX_BULK, "items": {"type": "integer", "minimum": 1}},
        "status": {"enum": list(feedback.STATUSES)},
        "add_tags": {"type": "array", "items": {"type": "string"}},
        "remove_tags": {"type": "array", "items": {"type": "string"}},
        "versions": {"type": "object", "additionalProperties": {"type": "string"}}},
        "examples": [{"ids": [4211, 4212], "status": "spam"}, {"ids": [4211], "add_tags": ["ios"]}]},
    FeedbackReplyCreate={"type": "object", "required": ["body"], "properties": {
        "body": {"type": "string", "minLength": 1, "maxLength": feedback.REPLY_MAX}},
        "example": {"body": "Thanks! Fixed in 2.4.2."}},
    FeedbackStatistics={"type": "object", "required": ["total", "distribution"], "properties": {
        "total": {"type": "integer"}, "average_rating": {"type": ["number", "null"]},
        "distribution": {"type": "object", "additionalProperties": {"type": "integer"}},
        "per_feature": {"type": "array", "items": {"type": "object"}},
        "last_30_days": {"type": "object"}, "generated_at": {"type": "string"},
        "by_status": {"type": "object", "additionalProperties": {"type": "integer"}}}},
    FeedbackCharts={"type": "object", "required": ["days", "count", "average"], "properties": {
        "days": {"type": "array", "items": {"type": "integer"}},
        "count": {"type": "array", "items": {"type": "integer"}},
        "average": {"type": "array", "items": {"type": ["number", "null"]}},
        "features": {"type": "array", "items": {"type": "object"}},
        "ratings": {"type": "array", "items": {"type": "integer"}}}},
)
