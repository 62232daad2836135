"""Email: templates, the outbox, SMTP with and without TLS against a real server (aiosmtpd)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from rq import Queue
from sqlalchemy import select

from nous.clock import utcnow
from nous.email import service
from nous.email.models import OutboxMessage
from nous.extensions import db, get_redis
from nous.jobs import service as jobs
from tests.conftest import free_port
from tests.email.smtp import Sink, authenticator, make_certificate, parts, server_context, start_server
from tests.jobs.helpers import run_jobs_here

CONTEXTS = {
    "invite": {"invite_url": "https://beta.example/join/abc123", "name": "Ada"},
    "feedback_reply": {"reply": "Fixed in 1.4, thanks!", "original": "It crashes\non start", "feature": "sync"},
    "system_alert": {"title": "CPU above 95 %", "message": "cpu:utilization 97.2", "severity": "warn", "value": 97.2,
                     "threshold": 95},
    "job_failed": {"task": "email.send", "job_id": "abc", "error": "OSError: refused"},
    "workflow_finished": {"workflow": "triage", "status": "succeeded", "run_id": 12},
    "test": {"sent_by": "admin@nous.test"},
}


def outbox(outbox_id: int) -> OutboxMessage:
    db.session.remove()
    return db.session.get(OutboxMessage, outbox_id)


class Smtp:
    """An SMTP server on a free port this app is configured for; `start()` it when the test wants it up."""

    def __init__(self) -> None:
        self.port = free_port()
        self.sink = Sink()
        self.servers: list = []

    def start(self, **kwargs) -> Sink:
        self.servers.append(start_server(self.port, self.sink, **kwargs))
        return self.sink


@pytest.fixture
def smtp(app, monkeypatch):
    server = Smtp()
    monkeypatch.setitem(app.config, "EMAIL_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "EMAIL_PORT", server.port)
    monkeypatch.setitem(app.config, "EMAIL_USE_TLS", False)
    monkeypatch.setitem(app.config, "EMAIL_USE_SSL", False)
    monkeypatch.setitem(app.config, "EMAIL_FROM", "NOUS Beta <beta@nous.test>")
    yield server
    for s in server.servers:
        s.stop()


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_template_renders_text_and_html(ctx, template):
    subject, text, html = service.render_email(template, CONTEXTS[template])
    assert subject and "\n" not in subject
    assert "<html" in html and "<html" not in text
    for value in CONTEXTS[template].values():
        if isinstance(value, str) and "\n" not in value:
            assert value in text, (template, value)
    assert "http://127.0.0.1" in html or "https://beta.example" in html  # links carry SYSTEM_BASE_URL


def test_html_escapes_the_context_and_subjects_stay_on_one_line(ctx):
    subject, text, html = service.render_email("feedback_reply", {"reply": "<script>x()</script>",
                                                                  "feature": "a\nBcc: evil@example.com"})
    assert "<script>x()</script>" in text and "&lt;script&gt;" in html and "<script>" not in html
    assert "\n" not in subject and subject == "Re: your feedback on a Bcc: evil@example.com"


@pytest.mark.parametrize(("to", "template", "context", "error"), [
    ("not-an-address", "test", {}, "not an email address"),
    ("a@b.c\nBcc: x@y.z", "test", {}, "not an email address"),
    ("Name <a@b.example>", "test", {}, "not an email address"),
    ("a@b.example", "newsletter", {}, "no email template 'newsletter'"),
    ("a@b.example", "invite", {}, "invite: missing invite_url"),
    ("a@b.example", "test", ["not", "a", "dict"], "context must be a dictionary"),
])
def test_bad_messages_are_refused_and_nothing_is_stored(ctx, to, template, context, error):
    with pytest.raises(service.EmailError, match=error):
        service.queue_email(to, template, context)
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_queue_email_stores_the_message_and_queues_its_send_job(ctx):
    outbox_id = service.queue_email("tester@example.com", "invite", CONTEXTS["invite"], actor="admin@nous.test")
    msg = outbox(outbox_id)
    assert (msg.status, msg.attempts, msg.to_addr, msg.actor) == ("queued", 0, "tester@example.com", "admin@nous.test")
    assert msg.subject == "You're invited to the NOUS Beta"
    run = jobs.get_run(msg.job_id)
    assert run.task == "email.send" and run.args == {"args": [outbox_id], "kwargs": {}} and run.queue == "high"
    assert msg.job_id in Queue("high", connection=get_redis()).job_ids


def test_without_smtp_mail_is_kept_in_the_outbox_and_logged(ctx, caplog):
    logger = logging.getLogger("nous.email")
    logger.addHandler(caplog.handler)  # the `nous` loggers do not propagate to the root
    caplog.set_level(logging.INFO, logger="nous.email")
    try:
        outbox_id = service.queue_email("tester@example.com", "test", CONTEXTS["test"])
        run_jobs_here()
    finally:
        logger.removeHandler(caplog.handler)
    msg = outbox(outbox_id)
    assert msg.status == "kept" and msg.last_error == ""
    assert jobs.get_run(msg.job_id).status == "finished"  # not an error
    record = next(r for r in caplog.records if r.getMessage().startswith("email kept"))
    assert record.to == "tester@example.com" and "outgoing mail works" in record.body


def test_plain_smtp_delivers_text_and_html(ctx, smtp):
    sink, start = smtp.sink, smtp.start
    start()
    outbox_id = service.queue_email("tester@example.com", "feedback_reply", CONTEXTS["feedback_reply"])
    run_jobs_here()
    msg = outbox(outbox_id)
    assert msg.status == "sent" and msg.attempts == 1 and msg.sent_at is not None
    (received,) = sink.messages
    assert received["Subject"] == "Re: your feedback on sync" and received["To"] == "tester@example.com"
    assert received["From"] == "NOUS Beta <beta@nous.test>" and received["Message-ID"] == msg.message_id
    body = parts(received)
    assert "Fixed in 1.4, thanks!" in body["text/plain"] and "> on start" in body["text/plain"]
    assert "Fixed in 1.4, thanks!" in body["text/html"]


def test_starttls_with_login_against_a_self_signed_certificate(ctx, smtp, tmp_path, monkeypatch, app):
    sink, start = smtp.sink, smtp.start
    cert, key = make_certificate(tmp_path)
    start(tls_context=server_context(cert, key), require_starttls=True, auth_require_tls=True,
          authenticator=authenticator("mailer", "s3cret"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust this one certificate; verification stays on
    monkeypatch.setitem(app.config, "EMAIL_USE_TLS", True)
    monkeypatch.setitem(app.config, "EMAIL_USER", "mailer")
    monkeypatch.setitem(app.config, "EMAIL_PASS", "s3cret")
    ok, detail = service.test_connection()
    assert ok and "STARTTLS" in detail and "signed in as mailer" in detail
    msg = service.create_message("tester@example.com", "test", CONTEXTS["test"])
    assert service.send_now(msg.id).status == "sent"
    assert len(sink.messages) == 1 and sink.messages[0]["Subject"] == "Test email from the NOUS Beta console"


def test_starttls_refuses_a_certificate_it_cannot_verify(ctx, smtp, tmp_path, monkeypatch, app):
    sink, start = smtp.sink, smtp.start
    cert, key = make_certificate(tmp_path)
    start(tls_context=server_context(cert, key), require_starttls=True)
    monkeypatch.setitem(app.config, "EMAIL_USE_TLS", True)
    msg = service.create_message("tester@example.com", "test", {})
    sent = service.send_now(msg.id)
    assert sent.status == "failed" and "CERTIFICATE_VERIFY_FAILED" in sent.last_error
    assert sink.messages == []


def test_implicit_tls(ctx, smtp, tmp_path, monkeypatch, app):
    sink, start = smtp.sink, smtp.start
    cert, key = make_certificate(tmp_path)
    start(ssl_context=server_context(cert, key))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setitem(app.config, "EMAIL_USE_SSL", True)
    assert service.test_connection()[0]
    msg = service.create_message("tester@example.com", "system_alert", CONTEXTS["system_alert"])
    assert service.send_now(msg.id).status == "sent"
    assert sink.messages[0]["Subject"] == "[WARN] CPU above 95 %"


def test_wrong_password_fails_with_the_servers_reason(ctx, smtp, tmp_path, monkeypatch, app):
    start = smtp.start
    cert, key = make_certificate(tmp_path)
    start(tls_context=server_context(cert, key), authenticator=authenticator("mailer", "right"))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    monkeypatch.setitem(app.config, "EMAIL_USE_TLS", True)
    monkeypatch.setitem(app.config, "EMAIL_USER", "mailer")
    monkeypatch.setitem(app.config, "EMAIL_PASS", "wrong")
    ok, detail = service.test_connection()
    assert not ok and "535" in detail
    msg = service.create_message("tester@example.com", "test", {})
    assert "SMTPAuthenticationError: 535" in service.send_now(msg.id).last_error


def test_a_refused_recipient_fails_at_once_without_retries(ctx, smtp):
    sink, start = smtp.sink, smtp.start
    sink.refuse.add("gone@example.com")
    start()
    outbox_id = service.queue_email("gone@example.com", "test", {})
    run_jobs_here()
    msg = outbox(outbox_id)
    assert msg.status == "failed" and msg.attempts == 1 and "550" in msg.last_error
    run = jobs.get_run(msg.job_id)
    assert run.status == "failed" and run.attempts == 1 and "SMTPRecipientsRefused" in run.error


def test_with_the_server_down_the_message_waits_for_a_retry(ctx, smtp):
    # nothing listens on smtp.port yet
    outbox_id = service.queue_email("tester@example.com", "test", {})
    run_jobs_here()
    msg = outbox(outbox_id)
    assert msg.status == "queued" and msg.attempts == 1 and "ConnectionRefusedError" in msg.last_error
    run = jobs.get_run(msg.job_id)
    assert run.status == "retrying" and run.scheduled_for is not None
    assert "ConnectionRefusedError" in run.error


def test_sending_twice_delivers_once(ctx, smtp):
    sink, start = smtp.sink, smtp.start
    start()
    msg = service.create_message("tester@example.com", "test", {})
    assert service.send(msg.id)["status"] == "sent"
    assert service.send(msg.id) == {"outbox_id": msg.id, "status": "sent", "already": True}
    assert service.send(999999)["status"] == "missing"
    assert len(sink.messages) == 1


def test_connection_test_and_probe(ctx, smtp, app, monkeypatch):
    port, start = smtp.port, smtp.start
    ok, detail = service.test_connection()
    assert not ok and f"127.0.0.1:{port}" in detail and "ConnectionRefusedError" in detail
    start()
    ok, detail = service.test_connection()
    assert ok and "no TLS" in detail
    assert service.smtp_probe("127.0.0.1", port, use_ssl=False) > 0
    monkeypatch.setitem(app.config, "EMAIL_HOST", "")
    ok, detail = service.test_connection()
    assert not ok and "not configured" in detail


def test_stuck_messages_get_a_new_send_job(ctx):
    outbox_id = service.queue_email("tester@example.com", "test", {})
    get_redis().flushdb()  # the queue lost the job
    assert service.requeue_stuck() == 0  # too recent
    db.session.execute(OutboxMessage.__table__.update().values(updated_at=utcnow() - timedelta(minutes=10)))
    db.session.commit()
    assert service.requeue_stuck() == 1
    msg = outbox(outbox_id)
    assert msg.job_id in Queue("high", connection=get_redis()).job_ids
    assert service.requeue_stuck() == 0  # it has a live job now


def test_resend_only_failed_or_kept_messages(ctx):
    outbox_id = service.queue_email("tester@example.com", "test", {})
    with pytest.raises(service.EmailError, match="only failed or kept"):
        service.resend(outbox_id, "admin@nous.test")
    run_jobs_here()  # no SMTP: kept
    first_job = outbox(outbox_id).job_id
    msg = service.resend(outbox_id, "admin@nous.test", "10.0.0.9")
    assert msg.status == "queued" and msg.job_id != first_job
    with pytest.raises(LookupError):
        service.resend(424242, "admin@nous.test")
