"""The outbox in the console, resend, the SMTP connection test and the test email."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.email import service
from nous.email.models import OutboxMessage
from nous.extensions import db
from tests.jobs.helpers import run_jobs_here

HX = {"HX-Request": "true"}


def test_outbox_page_lists_messages_with_their_fate(admin_client, ctx):
    kept = service.queue_email("kept@example.com", "test", {})
    run_jobs_here()
    waiting = service.queue_email("waiting@example.com", "invite", {"invite_url": "https://x.example/j/1"})
    html = admin_client.get("/admin/jobs/outbox").get_data(as_text=True)
    assert f'id="message-{kept}"' in html and f'id="message-{waiting}"' in html
    assert "Send again" in html  # for the kept one
    only = admin_client.get("/admin/jobs/outbox?status=kept", headers={**HX, "HX-Target": "outbox-rows"})
    text = only.get_data(as_text=True)
    assert "<html" not in text and f'id="message-{kept}"' in text and f'id="message-{waiting}"' not in text
    assert "kept@example.com" in admin_client.get("/admin/jobs/outbox?q=KEPT@").get_data(as_text=True)


@pytest.mark.parametrize("query", ["status=lost", "before=x", "before=1234567890123"])
def test_bad_outbox_filters_are_400(admin_client, ctx, query):
    assert admin_client.get(f"/admin/jobs/outbox?{query}").status_code == 400


def test_message_detail_and_unknown_ids(admin_client, ctx):
    outbox_id = service.queue_email("a@example.com", "job_failed", {"task": "t.x", "job_id": "j1", "error": "E: <b>"})
    html = admin_client.get(f"/admin/jobs/outbox/{outbox_id}").get_data(as_text=True)
    assert "Job failed: t.x" in html and "E: &lt;b&gt;" in html
    assert admin_client.get("/admin/jobs/outbox/999999").status_code == 404
    assert admin_client.get("/admin/jobs/outbox/abc").status_code == 404
    assert admin_client.post("/admin/jobs/outbox/999999/resend", headers=HX).status_code == 404


def test_resend_a_kept_message_and_refuse_a_queued_one(admin_client, ctx):
    outbox_id = service.queue_email("a@example.com", "test", {})
    resp = admin_client.post(f"/admin/jobs/outbox/{outbox_id}/resend", headers=HX)
    assert resp.status_code == 409 and "only failed or kept" in resp.get_json()["message"]
    run_jobs_here()
    resp = admin_client.post(f"/admin/jobs/outbox/{outbox_id}/resend", headers=HX)
    assert resp.status_code == 200 and f'id="message-{outbox_id}"' in resp.get_data(as_text=True)
    assert "queued again" in json.loads(resp.headers["HX-Trigger"])["toast"]["message"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "email.resend"))
    assert (event.actor, event.target) == ("admin@nous.test", str(outbox_id))
    resp = admin_client.post(f"/admin/jobs/outbox/{outbox_id}/resend")
    assert resp.status_code == 409


def test_send_a_test_email_from_the_console(admin_client, ctx):
    resp = admin_client.post("/admin/email/send-test", data={"to": "me@example.com"}, headers=HX)
    assert resp.status_code == 200
    assert "Test email queued for me@example.com" in json.loads(resp.headers["HX-Trigger"])["toast"]["message"]
    msg = db.session.scalar(select(OutboxMessage))
    assert msg.to_addr == "me@example.com" and msg.template == "test" and msg.actor == "admin@nous.test"
    resp = admin_client.post("/admin/email/send-test", data={"to": "nope"}, headers=HX)
    assert resp.status_code == 400 and "not an email address" in resp.get_json()["message"]
    resp = admin_client.post("/admin/email/send-test", data={})  # defaults to the admin's own address
    assert resp.status_code == 303
    assert db.session.scalars(select(OutboxMessage.to_addr).order_by(OutboxMessage.id)).all()[-1] == "admin@nous.test"


def test_connection_test_from_the_console_is_audited(admin_client, ctx):
    resp = admin_client.post("/admin/email/test-connection", headers=HX)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "notice-error" in html and "not configured" in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "email.test_connection"))
    assert event.after["ok"] is False
