"""The public feedback API and the widget script, on their own blueprint (`feedback_api`): `POST /api/feedback`,
`GET /api/feedback/stats`, `GET /api/feedback/config` (the limits the widget follows), `GET /widget.js`.

CORS is answered for the origins in the setting `feedback.widget_origins`, never with credentials;
a browser POST from any other site is refused with 403 (plain form posts need no preflight, so the
CORS headers alone would not stop them). That refusal itself is readable by the refused site (its
preflight is answered, and the 403 carries its origin), so the widget can say "feedback can't be
sent from this site" instead of reporting a network failure; nothing else is. Each refusal is noted
for the Settings page (nous.feedback.service.record_refused_origin). Rate limits come from the setting
`feedback.rate_limit` (nous/feedback/ratelimit.py: per client address, in Redis, in memory while Redis
is down); a refused site's submissions are answered before they are counted. Their bytes count too,
against `feedback.upload_rate_limit`, in the same round trip.

Files come as `multipart/form-data` (one or more parts named `attachments`, next to the fields) or,
in JSON, as `"attachments": [{"filename": …, "data": "data:…;base64,…"}]`; the service decides what
each one is from its bytes (nous.feedback.service.attachments).
"""

from __future__ import annotations

import copy
import json
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from nous import idempotency, inputs, openapi
from nous.errors import error_response
from nous.feedback import ratelimit
from nous.feedback import service as feedback
from nous.feedback.models import CATEGORIES
from nous.settings import service as settings

MAX_BODY = 64 * 1024  # a full 4000-character message in any script fits many times over (files come on top)
CORS_ENDPOINTS = frozenset({"feedback_api.submit_feedback", "feedback_api.feedback_stats"})
EXPOSED_HEADERS = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
ALLOWED_REQUEST_HEADERS = f"Content-Type, Accept, Accept-Language, {idempotency.HEADER}"

api_bp = Blueprint("feedback_api", __name__)


def _origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(origin: str) -> bool:
    """The widget may be used from this origin (configured), or it is this site itself."""
    origin = origin.strip().lower()
    allowed = settings.get("feedback.widget_origins")
    if "*" in allowed or origin in allowed:
        return True
    return origin in {_origin_of(request.host_url), _origin_of(current_app.config["SYSTEM_BASE_URL"])}


def _refusal_readable(origin: str, resp: Response) -> bool:
    """A refused site may send a submission and read the 403 that refuses it, nothing more."""
    return (request.endpoint == "feedback_api.submit_feedback" and feedback.web_origin(origin) is not None
            and (request.method == "OPTIONS" or resp.status_code == 403))


@api_bp.after_request
def _cors(resp: Response) -> Response:
    if request.endpoint not in CORS_ENDPOINTS:
        return resp
    resp.vary.add("Origin")
    resp.headers.pop("Access-Control-Allow-Credentials", None)
    origin = request.headers.get("Origin", "")
    if not origin:
        return resp
    allowed = origin_allowed(origin)
    if not allowed and not _refusal_readable(origin, resp):
        return resp
    resp.headers["Access-Control-Allow-Origin"] = origin
    if allowed:
        resp.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
    if request.method == "OPTIONS":
        posts = request.endpoint == "feedback_api.submit_feedback"
        methods = "POST, GET, OPTIONS" if posts else "GET, OPTIONS"
        resp.headers["Access-Control-Allow-Methods"] = methods if allowed else "POST"
        resp.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
    return resp


def _invalid(errors: dict[str, str], message: str = "Some fields need attention.",
             status: int = 400) -> tuple[Response, int]:
    return jsonify({"error": HTTPStatus(status).phrase, "message": message, "errors": errors}), status


def _fingerprint(data: dict[str, Any], uploads: list[Any]) -> str:
    """What a submission holds, fields and files, however it was sent (JSON or a form)."""
    names = [u.filename for u in uploads]  # a file sent again under another name is another submission
    return idempotency.fingerprint(json.dumps([data, names], sort_keys=True, default=str).encode(),
                                   *(u.data for u in uploads))


@api_bp.route("/api/feedback", methods=["POST", "OPTIONS"], provide_automatic_options=False)
def submit_feedback() -> Any:
    if request.method == "OPTIONS":
        return Response(status=204)
    if request.content_length is None and "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # the rate limit counts a submission's bytes before reading them: it must know how many there are
        return error_response(411, "Length Required", "Send the body with a Content-Length (not chunked).")
    origin = request.headers.get("Origin")
    if origin and not origin_allowed(origin):  # before the rate limit: a refusal costs the tester nothing
        feedback.record_refused_origin(origin)
        return error_response(403, "Forbidden", "Feedback from this site is not accepted: its origin is not in "
                                                "the setting feedback.widget_origins.")
    verdict = ratelimit.hit(settings.get("feedback.rate_limit"), get_remote_address(),
                            raw_byte_limits=settings.get("feedback.upload_rate_limit"),
                            size=request.content_length or 0)
    resp = _submit() if verdict.allowed else error_response(
        429, "Too Many Requests", f"Too many submissions from this address; try again in {verdict.reset_in} s.")
    if isinstance(resp, tuple):
        resp = current_app.make_response(resp)
    resp.headers.update(verdict.headers())
    return resp


def _uncount_bytes() -> None:
    """A resend answered from what its Idempotency-Key already stored (or is storing) stores nothing new: its
    bytes do not count against feedback.upload_rate_limit (a widget resending a large screenshot after a lost
    answer would lock the tester out for the window). Its request still counts against feedback.rate_limit."""
    ratelimit.give_back(settings.get("feedback.upload_rate_limit"), get_remote_address(),
                        request.content_length or 0)


def _body_limit() -> int:
    """The largest body accepted: the fields, plus what the attachment settings allow."""
    if int(settings.get("feedback.attachments_max")) < 1:
        return MAX_BODY
    return MAX_BODY + feedback.attachments.Limits.current().body_bytes()


def _uploads_from_form() -> list[feedback.attachments.Upload]:
    values = [v for v in request.form.getlist("attachments") if v]  # not files: they would be lost without a word
    elsewhere = sorted({name for name in request.files if name != "attachments"})
    if elsewhere:  # a file under another name (`attachments[]`, `screenshot`) would be lost without a word too
        raise feedback.ValidationFailed({name: "files are sent in the field attachments" for name in elsewhere})
    if values:
        first = len(request.files.getlist("attachments"))  # named after the files, as each is one refused
        raise feedback.ValidationFailed({f"attachments[{first + i}]": "sent as a text field, not a file: send each "
                                         "file as a file part (with a filename)" for i in range(len(values))})
    limit = int(settings.get("feedback.attachment_max_bytes"))
    # One byte past the limit is enough to refuse a file as too large without reading all of it.
    uploads = [feedback.attachments.Upload(filename=f.filename or "", data=f.stream.read(limit + 1))
               for f in request.files.getlist("attachments")]
    # A file input left empty in an HTML form still sends a part: no name, no bytes. Nothing was attached.
    return [u for u in uploads if u.filename or u.data]


def _form_too_large() -> str:
    """Which limit a form body went past (the form parser's own 413 names none)."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        return f"The body is larger than {limit} bytes (the fields, and the files the attachment settings allow)."
    return (f"The form has more than {request.max_form_parts} parts, or a field that is not a file is larger "
            f"than {request.max_form_memory_size} bytes.")


def _fields_too_large(data: dict[str, Any]) -> bool:
    """The JSON body without its files' data is over MAX_BODY (as a body without files may not be)."""
    files = data.get("attachments")
    carried = sum(len(f["data"]) for f in files if isinstance(f, dict) and isinstance(f.get("data"), str)) \
        if isinstance(files, list) else 0
    return len(request.get_data(cache=True)) - carried > MAX_BODY


def _submit() -> Any:
    key = request.headers.get(idempotency.HEADER)
    if key is not None and not idempotency.valid_key(key):
        return _invalid({idempotency.HEADER: idempotency.KEY_RULE})
    # Files may come in JSON and multipart bodies; a plain form holds fields only.
    request.max_content_length = MAX_BODY if request.mimetype == "application/x-www-form-urlencoded" \
        else _body_limit()
    try:
        if request.is_json:
            data = inputs.json_object(request.max_content_length)
            if _fields_too_large(data):
                raise RequestEntityTooLarge(f"The body without its files is larger than {MAX_BODY} bytes.")
            from_form = False
            uploads = feedback.attachments.from_json(data.pop("attachments", None))
        elif request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            if request.mimetype == "multipart/form-data" and request.content_length and not (request.form or
                                                                                          request.files):
                # The parser gives up silently (no boundary, a body cut short): say so, not "rating is required".
                raise BadRequest("the multipart body cannot be read (no boundary, or it ends before its last part)")
            uploads = _uploads_from_form()
            data = request.form.to_dict(flat=True)
            from_form = True
        else:
            return error_response(415, "Unsupported Media Type",
                                  "Send application/json or a form (application/x-www-form-urlencoded, or "
                                  "multipart/form-data with files).")
    except inputs.InputError as exc:  # not a JSON object within the limits
        return _invalid(exc.errors, "The body cannot be read.")
    except BadRequest as exc:  # a malformed form body
        return _invalid({"body": exc.description or "the body cannot be read"}, "The body cannot be read.")
    except feedback.ValidationFailed as exc:  # attachments that are not a list of files
        return _invalid(exc.errors)
    except RequestEntityTooLarge as exc:
        if exc.description != RequestEntityTooLarge.description:  # already says which limit
            raise
        return error_response(413, "Request Entity Too Large", _form_too_large())
    try:
        outcome = feedback.submit(data, from_form=from_form, user_agent=request.headers.get("User-Agent", ""),
                                  uploads=uploads, idempotency_key=key,
                                  fingerprint=_fingerprint(data, uploads) if key is not None else "")
    except feedback.ValidationFailed as exc:
        return _invalid(exc.errors)
    except idempotency.InProgress:
        resp = error_response(409, "Conflict", f"The submission with this {idempotency.HEADER} is still being "
                                               "stored; send it again in a moment.")
        resp.headers["Retry-After"] = "2"
        _uncount_bytes()  # the first try's bytes are being stored, not these
        return resp
    except idempotency.Reused:
        return _invalid({idempotency.HEADER: "already used with another submission; send a new key with a new one"},
                        status=422)
    resp = jsonify({"id": outcome.id})
    resp.status_code = 201
    if outcome.reason == "resent":
        resp.headers[idempotency.REPLAYED_HEADER] = "true"
        _uncount_bytes()  # stored once, by the first try
    resp.headers["Cache-Control"] = "no-store"
    return resp


@api_bp.route("/api/feedback/stats", methods=["GET", "OPTIONS"], provide_automatic_options=False)
def feedback_stats() -> Any:
    if request.method == "OPTIONS":
        return Response(status=204)
    resp = jsonify(feedback.stats())
    resp.headers["Cache-Control"] = f"public, max-age={feedback.STATS_CACHE_SECONDS}"
    return resp


CONFIG_CACHE_SECONDS = 30  # pages loaded this long after a change may still get the old limits (an open widget
# keeps what it read until its page reloads); the server enforces the current ones either way


@api_bp.route("/api/feedback/config", methods=["GET", "OPTIONS"], provide_automatic_options=False)
def widget_config() -> Any:
    """The limits the widget follows before it uploads anything: how many files, how many bytes, how to
    scale images. Readable from any origin, like widget.js itself (no credentials; nothing in it is private):
    a site that may not send feedback learns that when it sends, as before."""
    if request.method == "OPTIONS":
        resp = Response(status=204)
        resp.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
        resp.headers["Access-Control-Allow-Headers"] = ALLOWED_REQUEST_HEADERS
        resp.headers["Access-Control-Max-Age"] = "600"
    else:
        resp = jsonify({"attachments": feedback.attachments.widget_limits()})
        resp.headers["Cache-Control"] = f"public, max-age={CONFIG_CACHE_SECONDS}"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@api_bp.get("/widget.js")
def widget_js() -> Response:
    """The embeddable widget; loadable from any origin (CORS and CORP), cached briefly by browsers."""
    folder = Path(current_app.static_folder or "static") / "widget"
    resp = send_from_directory(folder, "widget.js", mimetype="text/javascript", max_age=300)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    resp.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


# --- /openapi.json ------------------------------------------------------------------------------

def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """The value, an empty string (forms send empty fields) or null."""
    return {"anyOf": [schema, {"const": ""}, {"type": "null"}]}


ATTACHMENTS_DOC = ("Files sent with the feedback: PNG, JPEG, WebP or GIF (first frame) images and plain-text "
                   "files. The type is decided from the bytes; images are stored re-encoded (no EXIF). Count, "
                   "size per file and per feedback are the settings feedback.attachments_max (default 5), "
                   "feedback.attachment_max_bytes and feedback.attachments_max_total_bytes; a submission with "
                   "a refused file is refused whole (400, a message per file under `attachments[i]`).")
JSON_ATTACHMENTS: dict[str, Any] = {
    "type": ["array", "null"], "description": ATTACHMENTS_DOC,
    "items": {"type": "object", "required": ["data"], "properties": {
        "filename": {"type": ["string", "null"], "maxLength": 255,
                     "description": "The name shown to the admin (sanitised; the extension follows the type)."},
        "data": {"type": "string", "pattern": "^data:[^,;]*;base64,",
                 "description": "A data: URL with base64 content, such as data:image/png;base64,iVBOR…; the "
                                "declared type is ignored."}}},
}


SUBMISSION: dict[str, Any] = {
    "type": "object",
    "required": ["rating", "message", "category"],
    "properties": {
        "rating": {"type": "integer", "minimum": 1, "maximum": 5, "description": "1 (bad) to 5 (great)."},
        "message": {"type": "string", "minLength": 1, "maxLength": feedback.MESSAGE_MAX,
                    "pattern": feedback.MESSAGE_PATTERN, "description": "What the tester wrote: some visible text."},
        "category": {"enum": list(CATEGORIES)},
        "feature": {"type": ["string", "null"], "maxLength": feedback.FEATURE_MAX,
                    "description": "The part of NOUS the feedback is about."},
        "email": _nullable({"type": "string", "format": "email", "maxLength": feedback.EMAIL_MAX}),
        "page_url": _nullable({"type": "string", "maxLength": feedback.PAGE_URL_MAX,
                               "pattern": feedback.PAGE_URL_PATTERN}),
        "viewport": _nullable({"type": "string", "pattern": feedback.VIEWPORT_PATTERN,
                               "description": "Width x height in CSS pixels, e.g. 1280x720."}),
        "app_version": {"type": ["string", "null"], "maxLength": feedback.APP_VERSION_MAX},
        "tester_id": _nullable({"type": "string", "format": "uuid"}),
        "elapsed_ms": _nullable({"type": "number", "minimum": 0,
                                 "description": "How long the form was open, in milliseconds. Faster than the "
                                                "setting feedback.min_submit_ms: dropped as a bot (still 201)."}),
        feedback.HONEYPOT_FIELD: {"type": ["string", "null"],
                                  "description": "Honeypot: people leave it empty; when filled the submission is "
                                                 "dropped (still 201)."},
        "attachments": JSON_ATTACHMENTS,
    },
}


def _form_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The same fields for a form body: no nulls (a form has only strings and missing fields)."""
    out = copy.deepcopy(schema)
    out["properties"].pop("attachments", None)
    for prop in out["properties"].values():
        if isinstance(prop.get("type"), list):
            prop["type"] = next(t for t in prop["type"] if t != "null")
        if "anyOf" in prop:
            prop["anyOf"] = [s for s in prop["anyOf"] if s.get("type") != "null"]
    return out


def _upload_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The form's fields as multipart/form-data, with files in `attachments`."""
    out = _form_schema(schema)
    out["properties"]["attachments"] = {"type": "array", "description": ATTACHMENTS_DOC,
                                        "items": {"type": "string", "contentMediaType": "application/octet-stream"}}
    return out


WIDGET_CONFIG: dict[str, Any] = {
    "type": "object", "required": ["attachments"], "additionalProperties": False,
    "properties": {"attachments": {
        "type": "object", "additionalProperties": False,
        "required": ["max", "max_file_bytes", "max_total_bytes", "max_text_bytes", "accepted_types",
                     "image_max_side", "image_quality"],
        "properties": {
            "max": {"type": "integer", "minimum": 0,
                    "description": "Files per feedback (setting feedback.attachments_max); 0: none."},
            "max_file_bytes": {"type": "integer", "minimum": 1,
                               "description": "Bytes of one file as uploaded (feedback.attachment_max_bytes)."},
            "max_total_bytes": {"type": "integer", "minimum": 1, "description":
                                "Bytes of all files of one feedback (feedback.attachments_max_total_bytes)."},
            "max_text_bytes": {"type": "integer", "minimum": 1,
                               "description": "Bytes of one plain-text file (feedback.text_attachment_max_bytes)."},
            "accepted_types": {"type": "array", "items": {"type": "string"},
                               "description": "What files may be, decided from their bytes."},
            "image_max_side": {"type": "integer", "minimum": 1,
                               "description": "The widget scales images down to this longest side, in pixels."},
            "image_quality": {"type": "number", "exclusiveMinimum": 0, "maximum": 1,
                              "description": "The JPEG quality the widget uploads images with."},
        }}},
}
_COUNT = {"type": "integer", "minimum": 0}
_AVERAGE = {"type": ["number", "null"], "minimum": 1, "maximum": 5}
STATS: dict[str, Any] = {
    "type": "object",
    "required": ["total", "average_rating", "distribution", "per_feature", "last_30_days", "generated_at"],
    "additionalProperties": False,
    "properties": {
        "total": _COUNT,
        "average_rating": _AVERAGE,
        "distribution": {"type": "object", "required": ["1", "2", "3", "4", "5"], "additionalProperties": False,
                         "properties": {str(i): _COUNT for i in range(1, 6)}},
        "per_feature": {"type": "array", "maxItems": 20, "description": "The 20 features with most feedback.",
                        "items": {"type": "object", "required": ["feature", "count", "average_rating"],
                                  "additionalProperties": False,
                                  "properties": {"feature": {"type": ["string", "null"]}, "count": _COUNT,
                                                 "average_rating": {"type": "number", "minimum": 1, "maximum": 5}}}},
        "last_30_days": {
            "type": "object", "required": ["total", "average_rating", "daily"], "additionalProperties": False,
            "properties": {
                "total": _COUNT, "average_rating": _AVERAGE,
                "daily": {"type": "array", "minItems": 30, "maxItems": 30, "items": {
                    "type": "object", "required": ["date", "count", "average_rating"], "additionalProperties": False,
                    "properties": {"date": {"type": "string", "format": "date"}, "count": _COUNT,
                                   "average_rating": _AVERAGE}}},
            },
        },
        "generated_at": {"type": "string", "format": "date-time"},
    },
}
VALIDATION_ERROR: dict[str, Any] = {
    "type": "object",
    "required": ["error", "message", "errors"],
    "properties": {"error": {"type": "string"}, "message": {"type": "string"},
                   "errors": {"type": "object", "additionalProperties": {"type": "string"},
                              "description": "One message per field that needs attention."}},
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


openapi.register(
    {
        "/api/feedback": {"post": {
            "summary": "Send feedback (the widget uses this). Public; CORS for the configured widget origins only.",
            "operationId": "submitFeedback", "tags": ["feedback"],
            "parameters": [{
                "name": idempotency.HEADER, "in": "header", "required": False,
                "description": "Any text of your own, new for each submission and the same when you send it "
                               "again after its answer was lost: a submission with the key of one stored in the "
                               "last 24 hours is answered with that one's id (header Idempotent-Replayed) and "
                               f"not stored twice. {idempotency.KEY_RULE[0].upper()}"
                               f"{idempotency.KEY_RULE[1:]}.",
                "schema": {"type": "string", "minLength": 1, "maxLength": idempotency.KEY_MAX,
                           "pattern": "^[!-~]+$"}}],
            "requestBody": {"required": True, "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/FeedbackSubmission"}},
                "application/x-www-form-urlencoded": {"schema": {"$ref": "#/components/schemas/FeedbackForm"}},
                "multipart/form-data": {"schema": {"$ref": "#/components/schemas/FeedbackUpload"},
                                        "encoding": {"attachments": {"contentType": "application/octet-stream"}}},
            }},
            "responses": {
                "201": {"description": "Stored (or dropped as a bot, which looks the same).",
                        "headers": {"Idempotent-Replayed": {
                            "description": f"true: a submission with this {idempotency.HEADER} was stored before; "
                                           "this is its id and nothing more was stored.",
                            "schema": {"type": "string", "enum": ["true"]}}},
                        "content": {"application/json": {"schema": {
                            "type": "object", "required": ["id"], "additionalProperties": False,
                            "properties": {"id": {"type": "integer", "minimum": 1}}}}}},
                "400": {"description": "One message per field that needs attention.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}}},
                "403": _error("Sent from a web page whose origin is not allowed."),
                "413": _error("The body without its files is larger than 64 KiB, or the files make it larger than "
                              "the attachment settings allow."),
                "409": _error(f"The submission with this {idempotency.HEADER} is still being stored.", headers={
                    "Retry-After": {"required": True, "description": "Seconds to wait before sending it again.",
                                    "schema": {"type": "integer", "minimum": 0}}}),
                "411": _error("The body was sent chunked, without a Content-Length."),
                "415": _error("Neither JSON nor a form."),
                "422": {"description": f"The {idempotency.HEADER} was sent before with another submission.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ValidationError"}}}},
                "429": _error("Too many submissions from this address; try again later.", headers={
                    "Retry-After": {"required": True, "description": "Seconds until a submission is accepted again.",
                                    "schema": {"type": "integer", "minimum": 0}}}),
            },
        }},
        "/api/feedback/config": {"get": {
            "summary": "The limits the widget follows before uploading: files and bytes per feedback, how to "
                       f"scale images (public, any origin; cached for {CONFIG_CACHE_SECONDS} seconds).",
            "operationId": "feedbackWidgetConfig", "tags": ["feedback"],
            "responses": {"200": {"description": "limits", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/FeedbackWidgetConfig"}}}}},
        }},
        "/api/feedback/stats": {"get": {
            "summary": "Public figures: total, average rating, distribution 1–5, per feature, last 30 days "
                       "(spam excluded; cached for a few seconds).",
            "operationId": "feedbackStats", "tags": ["feedback"],
            "responses": {"200": {"description": "figures", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/FeedbackStats"}}}}},
        }},
    },
    schemas={"FeedbackSubmission": SUBMISSION, "FeedbackForm": _form_schema(SUBMISSION),
             "FeedbackUpload": _upload_schema(SUBMISSION), "FeedbackStats": STATS,
             "FeedbackWidgetConfig": WIDGET_CONFIG,
             "ValidationError": VALIDATION_ERROR},
)
