"""What the email area hears from the others: `alert.raised` becomes the system-alert email to each admin."""

from __future__ import annotations

from sqlalchemy import select

from nous import events
from nous.email.models import OutboxMessage
from nous.extensions import db
from nous.settings import service as settings

ALERT = {"title": "Disk use above 90.0 %", "message": "Disk use has been above 90.0 % for 2 samples in a row.",
         "severity": "alert", "value": "93.0 %", "threshold": "90.0 %", "raised_at": "2026-12-06 07:00 UTC",
         "url": "https://beta.nous.example/admin/beta/"}


def _mails() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "system_alert")))


def test_an_alert_is_mailed_to_every_admin_with_its_figures(app, ctx, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "NOUS_ADMIN_EMAILS", ["admin@nous.test", "ops@nous.test"])
    events.alert_raised.send(None, alert=ALERT, message=ALERT["message"])
    mails = _mails()
    assert sorted(m.to_addr for m in mails) == ["admin@nous.test", "ops@nous.test"]
    mail = mails[0]
    assert mail.subject == "[ALERT] Disk use above 90.0 %" and mail.actor == "system:alerts"
    assert "Observed: 93.0 % (threshold 90.0 %)" in mail.text_body
    assert "https://beta.nous.example/admin/beta/" in mail.text_body and mail.job_id


def test_with_alert_email_off_nothing_is_mailed(ctx) -> None:
    settings.set_value("alerts.email", False, actor="test")
    events.alert_raised.send(None, alert=ALERT, message=ALERT["message"])
    assert _mails() == []
