"""/api/admin/v1/email: how mail is sent and whether it works (status, configuration, a connection test,
a test message) and the outbox (list, one message, send again) — through nous.email.service, as the
console's outbox and `flask nous email` do.

Scopes: reading the status and configuration, and testing the connection, need `system:read`; the
outbox is part of the job system (each message is sent by a job), so reading it needs `jobs:read` and
sending (a test, or a message again) `jobs:write`."""

from __future__ import annotations

from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    encode_cursor,
    endpoint,
    id_cursor,
    limit_arg,
    page,
    param,
    respond,
    rfc3339,
    schemas,
    text,
)
from nous.email import service as email
from nous.email.models import STATUSES, OutboxMessage

_TIME = {"type": ["string", "null"], "format": "date-time"}
schemas(
    EmailConfiguration={"type": "object", "required": ["configured", "port", "security", "from"], "properties": {
        "configured": {"type": "boolean", "description": "False: mail is kept in the outbox and the log."},
        "host": {"type": ["string", "null"]}, "port": {"type": "integer"},
        "security": {"enum": ["implicit TLS", "STARTTLS", "none"]}, "from": {"type": "string"},
        "user": {"type": ["string", "null"]}, "password_set": {"type": "boolean"}}},
    EmailStatus={"type": "object", "required": ["configuration", "outbox"], "properties": {
        "configuration": {"$ref": "#/components/schemas/EmailConfiguration"},
        "outbox": {"type": "object", "description": "Messages by state.",
                   "additionalProperties": {"type": "integer"}}}},
    EmailConnection={"type": "object", "required": ["ok", "detail"], "properties": {
        "ok": {"type": "boolean"}, "detail": {"type": "string", "example": "smtp.example.com:587 answered"}}},
    OutboxMessage={"type": "object", "required": ["id", "to", "status"], "properties": {
        "id": {"type": "integer"}, "to": {"type": "string"}, "template": {"type": "string"},
        "subject": {"type": "string"}, "status": {"enum": list(STATUSES)}, "attempts": {"type": "integer"},
        "last_error": {"type": "string"}, "created_at": _TIME, "sent_at": _TIME,
        "job_id": {"type": ["string", "null"]}, "message_id": {"type": "string"}, "actor": {"type": "string"},
        "text": {"type": "string"}, "html": {"type": "string"}}},
)


def message_json(msg: OutboxMessage, *, bodies: bool = False) -> dict[str, Any]:
    return {**msg.as_dict(bodies=bodies), "created_at": rfc3339(msg.created_at), "sent_at": rfc3339(msg.sent_at)}


@endpoint("GET", "/email/status", scope="system:read", tag="email", summary="Email status",
          description="The SMTP configuration and the outbox's messages by state. To check that the server "
                      "answers, `POST /email/connection-test`.", response="EmailStatus")
def email_status() -> Response:
    return respond({"configuration": email.configuration(), "outbox": email.counts()})


@endpoint("GET", "/email/configuration", scope="system:read", tag="email", summary="The SMTP configuration",
          description="Set by the environment (EMAIL_HOST, EMAIL_PORT, EMAIL_USER, EMAIL_PASS, EMAIL_FROM, "
                      "EMAIL_USE_TLS, EMAIL_USE_SSL) and read at start-up; the password is never shown.",
          response="EmailConfiguration")
def email_configuration() -> Response:
    return respond(email.configuration())


@endpoint("POST", "/email/connection-test", scope="system:read", tag="email",
          summary="Test the connection to the SMTP server",
          description="Connects, secures and signs in as configured, sends nothing. `ok` false says why.",
          response="EmailConnection")
def email_connection_test() -> Response:
    ok, detail = email.check_connection(actor(), client_ip())
    return respond({"ok": ok, "detail": detail})


@endpoint("POST", "/email/test", scope="jobs:write", tag="email", summary="Send a test message",
          description="Queued in the outbox and sent by a job like every message; follow it at its Location.",
          body={"type": "object", "required": ["to"], "properties": {
              "to": {"type": "string", "format": "email", "example": "admin@example.com"}}},
          response="OutboxMessage", status=202, idempotent=True,
          links={name: {"outbox_id": "$response.body#/id"} for name in ("get_outbox_message",
                                                                        "resend_outbox_message")})
def send_test_email() -> Response:
    to = text("to", body().get("to"), required=True, max_length=320)
    try:
        outbox_id = email.send_test(to.strip(), actor(), client_ip())  # type: ignore[union-attr]
    except email.EmailError as exc:
        raise Problem(422, str(exc), {"to": str(exc)}) from None
    msg = email.get_message(outbox_id)
    return respond(message_json(msg), 202, location=url_for("adminapi.get_outbox_message", outbox_id=outbox_id))  # type: ignore[arg-type]


@endpoint("GET", "/email/outbox", scope="jobs:read", tag="email", summary="List the outbox",
          description="Newest first.",
          query=[param("status", {"enum": list(STATUSES)}),
                 param("q", {"type": "string", "maxLength": 200}, "Words in the address or the subject.")],
          response={"type": "object", "required": ["items", "next_cursor"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/OutboxMessage"}},
              "next_cursor": {"type": ["string", "null"]}}},
          paginated=True)
def list_outbox() -> Response:
    rows, more = email.list_outbox(status=inputs.arg_choice("status", STATUSES), q=request.args.get("q", ""),
                                   before=id_cursor(), limit=limit_arg())
    return page([message_json(m) for m in rows], encode_cursor(rows[-1].id) if more and rows else None)


@endpoint("GET", "/email/outbox/<int:outbox_id>", scope="jobs:read", tag="email",
          summary="One outbox message, with its text and HTML", response="OutboxMessage")
def get_outbox_message(outbox_id: int) -> Response:
    msg = email.get_message(outbox_id)
    if msg is None:
        raise Problem(404, f"No message {outbox_id} in the outbox.")
    return respond(message_json(msg, bodies=True))


@endpoint("POST", "/email/outbox/<int:outbox_id>/resend", scope="jobs:write", tag="email",
          summary="Send a failed or kept message again",
          description="409 for a message that is queued, being sent or sent.", response="OutboxMessage",
          status=202, errors=(409,))
def resend_outbox_message(outbox_id: int) -> Response:
    try:
        msg = email.resend(outbox_id, actor(), client_ip())
    except LookupError:
        raise Problem(404, f"No message {outbox_id} in the outbox.") from None
    except email.EmailError as exc:
        raise Problem(409, str(exc)) from None
    return respond(message_json(msg), 202)
