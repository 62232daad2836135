"""`email.send`: a message from one of the email layer's templates, through the outbox."""

from __future__ import annotations

from typing import Any

from flask import current_app

from nous.workflows.handlers import StepContext, StepError, handler

ADDRESS = {"type": "string", "minLength": 3, "maxLength": 320}
try:
    from nous.email import service as email

    TEMPLATE: dict[str, Any] = {"enum": sorted(email.TEMPLATES)}
except ImportError:  # pragma: no cover - the email area ships with the console
    TEMPLATE = {"type": "string", "minLength": 1, "maxLength": 60}


@handler(
    "email.send",
    "Queues an email from a template of the email layer (workflow_finished, system_alert, …) to `to` "
    "(default: the admin addresses). The outbox keeps every message.",
    params={"to": {"anyOf": [ADDRESS, {"type": "array", "items": ADDRESS, "minItems": 1, "maxItems": 20}]},
            "template": TEMPLATE,
            "context": {"type": "object"}},
    required=["template"],
    example={"template": "system_alert",
             "context": {"title": "Crash report", "message": "${{ feedback.message }}"}},
)
def send(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    to = params.get("to") or list(current_app.config["NOUS_ADMIN_EMAILS"])
    recipients = [to] if isinstance(to, str) else list(to)
    if not recipients:
        raise StepError("no recipient: give `to` or configure NOUS_ADMIN_EMAILS", retryable=False)
    context = {"workflow": ctx.workflow, "run_id": ctx.run_id, **(params.get("context") or {})}
    ids = []
    try:
        for addr in recipients:
            ids.append(email.queue_email(addr, params["template"], context, actor=ctx.actor))
    except email.EmailError as exc:
        raise StepError(str(exc), retryable=False) from None
    return {"outbox_ids": ids, "to": recipients, "template": params["template"]}
