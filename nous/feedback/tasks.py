"""RQ entry points of the feedback area: reading the text in attached images, and the hourly sweep of
attachments (retention, and text reading whose job never ran)."""

from __future__ import annotations

from typing import Any

from nous.feedback import service as feedback
from nous.jobs import service as jobs
from nous.jobs import task
from nous.settings import service as settings


@task("feedback.read_attachment_text", retry=(2, [30, 300]), priority=6, timeout=900)
def read_attachment_text(feedback_id: int, announce: bool = True) -> dict[str, int]:
    """Reads the text in a feedback's images with Tesseract, then tells the workflows of the feedback (not when
    an admin asked for a reading again: `announce` False)."""
    return feedback.read_attachment_text(feedback_id, announce)


@task("feedback.attachments_sweep", retry=(2, [60, 600]), priority=9, timeout=900, cron="23 * * * *")
def attachments_sweep() -> dict[str, Any]:
    """Deletes attachments older than feedback.attachment_retention_days; queues text reading left waiting."""
    days = int(settings.get("feedback.attachment_retention_days"))
    deleted = feedback.attachments.delete_older_than(days)
    queued = 0
    if not jobs.has_active("feedback.read_attachment_text"):
        for feedback_id in feedback.attachments.feedback_waiting_for_text():
            jobs.enqueue("feedback.read_attachment_text", feedback_id)
            queued += 1
    return {"deleted": deleted, "days": days, "queued": queued}
