"""Email: Jinja templates (HTML + text), an outbox table, sending by a job over SMTP (STARTTLS or TLS)."""

from typing import Any

from flask import Blueprint, Flask, current_app

from nous import events
from nous.cli import nous
from nous.email import service
from nous.email.cli import email_group
from nous.settings import service as settings

ALERTS_ACTOR = "system:alerts"  # who queued a system-alert email, in the audit log

bp = Blueprint("email", __name__)

from nous.email import routes  # noqa: E402,F401  # the routes register on `bp`


def _on_job_failed(sender: Any, *, job_id: str, task: str, error: str, **_: Any) -> None:
    """`job.failed` (a task with notify_on_failure): each admin gets the job-failed email."""
    base = current_app.config["SYSTEM_BASE_URL"]
    for admin in current_app.config["NOUS_ADMIN_EMAILS"]:
        service.queue_email(admin, "job_failed", {"job_id": job_id, "task": task, "error": error,
                                                  "url": f"{base}/admin/jobs/{job_id}"})


def _on_alert_raised(sender: Any, *, alert: dict[str, Any], **_: Any) -> None:
    """`alert.raised` (an alert opened or cleared): with `alerts.email` on, each admin gets the system-alert
    email, `alert` being its context."""
    if not settings.get("alerts.email"):
        return
    for admin in current_app.config["NOUS_ADMIN_EMAILS"]:
        service.queue_email(admin, "system_alert", alert, actor=ALERTS_ACTOR)


def _on_housekeeping(sender: Any, **_: Any) -> None:
    """`jobs.housekeeping`: messages stuck in the outbox are queued again."""
    service.requeue_stuck()


def init_app(app: Flask) -> None:
    if "email" not in app.blueprints:
        app.register_blueprint(bp)
    nous.add_command(email_group)
    events.job_failed.connect(_on_job_failed)
    events.alert_raised.connect(_on_alert_raised)
    events.jobs_housekeeping.connect(_on_housekeeping)
