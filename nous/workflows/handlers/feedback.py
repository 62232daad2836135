"""`feedback.update`: set a feedback's status and tags (audited, named after the workflow)."""

from __future__ import annotations

from typing import Any

from nous.feedback import service as feedback
from nous.workflows.handlers import StepContext, StepError, handler

STATUSES = ["new", "triaged", "planned", "resolved", "spam"]
TAG_LIST = {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 50}, "maxItems": 20}


@handler(
    "feedback.update",
    "Sets the status and/or tags of a feedback: `tags` replaces them, `add_tags`/`remove_tags` edit them.",
    params={"id": {"type": "integer", "minimum": 1}, "status": {"enum": STATUSES},
            "tags": TAG_LIST, "add_tags": TAG_LIST, "remove_tags": TAG_LIST},
    required=["id"],
    example={"id": "${{ feedback.id }}", "status": "triaged", "add_tags": ["crash"]},
)
def update(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    fid = params["id"]
    row = feedback.get(fid)
    if row is None:
        raise StepError(f"no feedback with id {fid}", retryable=False)
    try:
        if "status" in params:
            feedback.set_status(fid, params["status"], actor=ctx.actor)
        tags = feedback.tags_for([fid])[fid]
        if "tags" in params or "add_tags" in params or "remove_tags" in params:
            new = list(params["tags"]) if "tags" in params else list(tags)
            new += [t for t in params.get("add_tags", []) if t not in new]
            remove = {feedback.normalize_tag(t) for t in params.get("remove_tags", [])}
            new = [t for t in new if feedback.normalize_tag(t) not in remove]
            tags = feedback.set_tags(fid, new, actor=ctx.actor)
    except feedback.FeedbackError as exc:
        raise StepError(str(exc), retryable=False) from None
    row = feedback.get(fid)
    return {"id": fid, "status": row.status if row else None, "tags": tags}
