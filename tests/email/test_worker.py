"""A real worker sends mail; with the SMTP server down the message waits in the outbox and goes out
once the server is back."""

from __future__ import annotations

from sqlalchemy import select

from nous.email import service
from nous.email.models import OutboxMessage
from nous.extensions import db
from nous.jobs import service as jobs
from nous.jobs.models import JobAttempt
from tests.conftest import free_port
from tests.email.smtp import Sink, parts, start_server
from tests.jobs.helpers import wait_for


def outbox(outbox_id: int) -> OutboxMessage:
    db.session.remove()
    return db.session.get(OutboxMessage, outbox_id)


def test_server_down_message_stays_in_the_outbox_is_retried_and_delivered_once_back(ctx, start_worker):
    port = free_port()
    worker = start_worker(env={"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": str(port), "EMAIL_USE_TLS": "false",
                               "EMAIL_FROM": "NOUS Beta <beta@nous.test>"})
    outbox_id = service.queue_email("tester@example.com", "invite", {"invite_url": "https://beta.example/join/x1"})

    msg = wait_for(lambda: (m := outbox(outbox_id)).attempts >= 1 and jobs.get_run(m.job_id).status == "retrying"
                   and m, timeout=20, what="the first (failed) attempt")
    assert msg.status == "queued" and msg.attempts == 1, worker.output()
    assert "ConnectionRefusedError" in msg.last_error

    sink = Sink()
    server = start_server(port, sink)  # the server comes back before the next attempt (5 s later)
    try:
        msg = wait_for(lambda: (m := outbox(outbox_id)).status == "sent" and jobs.get_run(m.job_id).status == "finished"
                       and m, timeout=20, what="delivery")
    finally:
        server.stop()
    assert msg.attempts == 2 and msg.last_error == ""
    assert len(sink.messages) == 1
    assert "https://beta.example/join/x1" in parts(sink.messages[0])["text/plain"]
    run = jobs.get_run(msg.job_id)
    assert run.status == "finished" and run.attempts == 2
    outcomes = db.session.scalars(select(JobAttempt.outcome).where(JobAttempt.job_id == msg.job_id)
                                  .order_by(JobAttempt.attempt)).all()
    assert outcomes == ["failed", "finished"]
