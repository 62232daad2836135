"""The send job: one outbox message per job, retried with backoff on connection trouble."""

from __future__ import annotations

from typing import Any

from nous.email import service
from nous.jobs import task


@task("email.send", retry=(5, [5, 30, 120, 600, 1800]), priority=3, timeout=60)
def send_email(outbox_id: int) -> dict[str, Any]:
    """Deliver one outbox message over SMTP (or keep it when no SMTP is configured)."""
    return service.send(outbox_id)
