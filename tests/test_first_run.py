"""A fresh machine with no configuration: the default admin address is one the console can mail.

The default (`admin@localhost`) comes from `load_config` with nothing set, as on a first `scripts/run`.
Mail to it is accepted and kept in the outbox, never handed to an SMTP server.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import select

from config import ConfigError, load_config
from nous.email import service as email
from nous.email.models import KEPT, OutboxMessage
from nous.extensions import db
from nous.live import alerts, collector
from nous.workflows import service as workflows
from nous.workflows.examples import seed_examples
from tests.conftest import free_port
from tests.jobs import tasks as _test_tasks  # noqa: F401  (registers `tests.alerting`, a task that fails)
from tests.workflows.conftest import run_here, run_status, steps

CALM = {"cpu_percent": 20.0, "memory_percent": 40.0, "disk_percent": 30.0, "requests_per_second": 5.0,
        "error_rate": 0.0, "queue_depth": 3.0}


def default_admins(instance: Path) -> tuple[str, ...]:
    return load_config({"NOUS_INSTANCE_PATH": str(instance)}, env_file=None)["NOUS_ADMIN_EMAILS"]


@pytest.fixture
def first_run(app, ctx, tmp_path, monkeypatch, caplog):
    """The app with the admin address an unconfigured machine gets; log records collected."""
    admins = default_admins(tmp_path / "instance")
    assert admins == ("admin@localhost",)
    monkeypatch.setitem(app.config, "NOUS_ADMIN_EMAILS", admins)
    caplog.set_level(logging.INFO)
    return caplog


def outbox() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def tracebacks(caplog) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_both_example_workflows_succeed_on_their_first_run(first_run, client) -> None:
    assert seed_examples() == [("Triage crash reports", "created"), ("Weekly low-rating export", "created")]
    resp = client.post("/api/feedback", json={"rating": 1, "category": "bug", "feature": "calendar",
                                              "message": "The app crashes on start since 2.4.1 (E1234)"})
    assert resp.status_code == 201
    run_here()  # the triage run the new feedback started, its steps and the email it queued
    [triage] = workflows.list_runs(workflows.by_name("Triage crash reports").id).rows
    assert run_status(triage.id) == "succeeded"
    assert {k: s.status for k, s in steps(triage.id).items()} == {
        "classify": "succeeded", "entities": "succeeded", "tag": "succeeded", "email_admin": "succeeded"}

    weekly = workflows.fire_cron(workflows.by_name("Weekly low-rating export").id)
    run_here()
    assert run_status(weekly) == "succeeded"
    assert steps(weekly)["email_admin"].status == "succeeded"

    mails = outbox()
    assert [(m.to_addr, m.status) for m in mails] == [("admin@localhost", KEPT)] * 2
    assert mails[0].subject.endswith("Crash reported (rating 1 of 5)")
    assert "1 low-rated feedback this week" in mails[1].subject
    assert tracebacks(first_run) == []


def test_alert_emails_to_the_default_admin_are_kept_without_a_traceback(first_run) -> None:
    for cpu in (99.0, 99.0, 99.0):
        collector.record({**CALM, "cpu_percent": cpu}, host="web-1")
    assert [a.rule for a in alerts.open_alerts()] == ["cpu"]
    run_here()
    assert [(m.to_addr, m.template, m.status) for m in outbox()] == [("admin@localhost", "system_alert", KEPT)]
    assert tracebacks(first_run) == []


def test_a_failed_job_emails_the_default_admin_without_a_traceback(first_run) -> None:
    from nous.jobs import service as jobs

    jobs.enqueue("tests.alerting")
    run_here()
    assert [(m.to_addr, m.template, m.status) for m in outbox()] == [("admin@localhost", "job_failed", KEPT)]
    assert not [r for r in first_run.records if r.name == "nous.jobs" and r.exc_info
                and "job-failed email" in r.getMessage()]


def test_local_addresses_are_never_handed_to_smtp(app, ctx, monkeypatch) -> None:
    monkeypatch.setitem(app.config, "EMAIL_HOST", "127.0.0.1")
    monkeypatch.setitem(app.config, "EMAIL_PORT", free_port())  # nothing listens: a connection would fail
    local = email.create_message("ops@box.localhost", "test", {})
    assert email.send(local.id)["status"] == KEPT
    remote = email.create_message("ops@example.com", "test", {})
    with pytest.raises(OSError):
        email.send(remote.id)  # the same settings do try SMTP for any other address


@pytest.mark.parametrize("address", ["admin@localhost", "Admin@Dev.Localhost"])
def test_local_addresses_pass_the_email_check(address) -> None:
    assert email.check_address(address) == address


@pytest.mark.parametrize("address", ["admin@", "admin@intranet", "@localhost", "admin@localhost\nBcc: x@y.z"])
def test_other_dotless_domains_are_still_refused(address) -> None:
    with pytest.raises(email.EmailError, match="is not an email address"):
        email.check_address(address)


def test_the_default_admin_can_also_be_set_explicitly(tmp_path) -> None:
    config = load_config({"NOUS_INSTANCE_PATH": str(tmp_path), "NOUS_ADMIN_EMAILS": "admin@localhost"}, env_file=None)
    assert config["NOUS_ADMIN_EMAILS"] == ("admin@localhost",)
    with pytest.raises(ConfigError, match="is not an email address"):
        load_config({"NOUS_INSTANCE_PATH": str(tmp_path), "NOUS_ADMIN_EMAILS": "admin@intranet"}, env_file=None)
