"""`flask nous email test|outbox` in real subprocesses, against a real SMTP server."""

from __future__ import annotations

from sqlalchemy import select

from nous.email import service
from nous.email.models import OutboxMessage
from nous.extensions import db
from tests.conftest import free_port, run_cli
from tests.email.smtp import Sink, start_server


def test_email_test_without_smtp_says_so_and_exits_1(runner):
    result = runner.invoke(args=["nous", "email", "test"])
    assert result.exit_code == 1 and "failed: SMTP is not configured" in result.output


def test_email_test_rejects_a_bad_address(runner):
    result = runner.invoke(args=["nous", "email", "test", "--to", "nobody"])
    assert result.exit_code == 2 and "not an email address" in result.output


def test_email_test_connects_and_sends_through_a_real_server(ctx):
    port = free_port()
    sink = Sink()
    server = start_server(port, sink)
    env = {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "false"}
    try:
        result = run_cli("nous", "email", "test", "--to", "ops@example.com", env=env)
    finally:
        server.stop()
    assert result.returncode == 0, result.stderr
    assert f"ok: 127.0.0.1:{port} answered (no TLS)" in result.stdout and "sent to ops@example.com" in result.stdout
    assert [m["To"] for m in sink.messages] == ["ops@example.com"]
    db.session.remove()
    msg = db.session.scalar(select(OutboxMessage))
    assert msg.status == "sent" and msg.actor.startswith("cli:")


def test_email_test_with_the_server_down_fails_in_one_line(runner, app, monkeypatch):
    monkeypatch.setitem(app.config, "EMAIL_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "EMAIL_PORT", free_port())
    monkeypatch.setitem(app.config, "EMAIL_USE_TLS", False)
    result = runner.invoke(args=["nous", "email", "test", "--to", "ops@example.com"])
    assert result.exit_code == 1 and "failed: 127.0.0.1" in result.output and "ConnectionRefusedError" in result.output
    assert "sent to" not in result.output


def test_outbox_lists_messages(runner, ctx):
    service.queue_email("list@example.com", "test", {})
    out = runner.invoke(args=["nous", "email", "outbox"]).output
    assert "list@example.com" in out and "queued" in out
    assert "no sent messages" in runner.invoke(args=["nous", "email", "outbox", "--status", "sent"]).output
