"""/api/admin/v1/email: status and configuration, a connection test and a test message against a real SMTP
server (aiosmtpd), the outbox with cursor pages, one message, sending again — audited with the token."""

from __future__ import annotations

import pytest

from nous.audit import service as audit
from nous.email import service
from tests.adminapi.conftest import Api, assert_problem
from tests.adminapi.paging import every_item
from tests.conftest import free_port
from tests.email.smtp import Sink, start_server
from tests.jobs.helpers import run_jobs_here


@pytest.fixture
def smtp(app, monkeypatch):
    """A real SMTP server on loopback this app sends to."""
    sink, port = Sink(), free_port()
    server = start_server(port, sink)
    for key, value in {"EMAIL_HOST": "127.0.0.1", "EMAIL_PORT": port, "EMAIL_USE_TLS": False,
                       "EMAIL_USE_SSL": False, "EMAIL_FROM": "NOUS Beta <beta@nous.test>"}.items():
        monkeypatch.setitem(app.config, key, value)
    yield sink
    server.stop()


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("jobs:write", "system:read", name="mail-bot"))


def test_status_and_configuration_without_smtp(ops) -> None:
    status = ops.get("email/status").get_json()
    assert status["configuration"]["configured"] is False and status["configuration"]["host"] is None
    assert status["outbox"] == {"queued": 0, "sending": 0, "sent": 0, "failed": 0, "kept": 0}
    test = ops.post("email/connection-test").get_json()
    assert test["ok"] is False and "not configured" in test["detail"]
    assert audit.query(action="email.test_connection")[0].actor == "token:mail-bot"


def test_configuration_never_shows_the_password(ops, smtp, app, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "EMAIL_USER", "mailer")
    monkeypatch.setitem(app.config, "EMAIL_PASS", "s3cret-pass")
    resp = ops.get("email/configuration")
    config = resp.get_json()
    assert config["configured"] is True and config["host"] == "127.0.0.1" and config["user"] == "mailer"
    assert config["password_set"] is True and "s3cret-pass" not in resp.get_data(as_text=True)
    assert config["security"] == "none"


def test_connection_test_and_a_test_message_through_a_real_server(ops, smtp) -> None:
    test = ops.post("email/connection-test").get_json()
    assert test["ok"] is True and "answered" in test["detail"]
    sent = ops.post("email/test", json={"to": "ada@example.com"}, headers={"Idempotency-Key": "mail-test-1"})
    assert sent.status_code == 202, sent.get_json()
    message = sent.get_json()
    assert message["to"] == "ada@example.com" and message["status"] == "queued"
    again = ops.post("email/test", json={"to": "ada@example.com"}, headers={"Idempotency-Key": "mail-test-1"})
    assert again.get_json()["id"] == message["id"]  # a retry sends no second message
    run_jobs_here()
    assert [m["To"] for m in smtp.messages] == ["ada@example.com"]
    got = ops.get(sent.headers["Location"])
    assert got.get_json()["status"] == "sent" and got.get_json()["sent_at"].endswith("Z")
    assert "text" in got.get_json() and "html" in got.get_json()
    assert audit.query(action="email.test")[0].actor == "token:mail-bot"


@pytest.mark.parametrize(("payload", "status"), [({}, 400), ({"to": 5}, 400), ({"to": "not an address"}, 422),
                                                  ({"to": "a@b.c\nBcc: x@y.z"}, 422)])
def test_a_bad_test_address_is_refused_naming_the_field(ops, payload, status) -> None:
    assert_problem(ops.post("email/test", json=payload), status, "to")
    assert service.counts()["queued"] == 0


def test_the_outbox_pages_filters_and_resends(ops) -> None:
    ids = [service.queue_email(f"t{i}@localhost", "test", {}, actor="test") for i in range(5)]
    run_jobs_here()  # no SMTP: every message is kept
    assert every_item(ops, "email/outbox?limit=2") == sorted(ids, reverse=True)
    assert len(ops.get("email/outbox?status=kept").get_json()["items"]) == 5
    assert ops.get("email/outbox?q=t3@").get_json()["items"][0]["id"] == ids[3]
    assert_problem(ops.get("email/outbox?status=lost"), 400, "status")
    resent = ops.post(f"email/outbox/{ids[0]}/resend")
    assert resent.status_code == 202 and resent.get_json()["status"] == "queued"
    assert audit.query(action="email.resend")[0].actor == "token:mail-bot"
    assert_problem(ops.post(f"email/outbox/{ids[0]}/resend"), 409)  # already queued
    assert_problem(ops.post("email/outbox/999999/resend"), 404)
    assert_problem(ops.get("email/outbox/999999"), 404)


def test_scopes(client, make_token) -> None:
    reader = Api(client, make_token("jobs:read"))
    system = Api(client, make_token("system:read"))
    assert reader.get("email/outbox").status_code == 200
    assert_problem(reader.get("email/status"), 403)
    assert_problem(reader.post("email/test", json={"to": "a@example.com"}), 403)
    assert system.get("email/status").status_code == 200
    assert_problem(system.get("email/outbox"), 403)
    assert_problem(system.post("email/outbox/1/resend"), 403)
