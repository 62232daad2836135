"""Alert rules: raised once, held while the condition lasts, cleared when it ends, no storm on flapping."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from nous.clock import utcnow
from nous.live import alerts, collector, events
from nous.live.alerts import BETWEEN, BREACH, OK, UNKNOWN, decide
from nous.live.models import CLEARED, OPEN, Alert, MetricSample

CALM = {"cpu_percent": 20.0, "memory_percent": 40.0, "disk_percent": 30.0, "requests_per_second": 5.0,
        "error_rate": 0.0, "queue_depth": 3.0}


def feed(*cpu: float, **other: float) -> None:
    """Record one sample per CPU figure (the rest calm), each evaluated as the collector's are."""
    for value in cpu:
        collector.record({**CALM, **other, "cpu_percent": value}, host="web-1")


def cpu_alerts() -> list[Alert]:
    return list(Alert.query.filter_by(rule="cpu").order_by(Alert.id))


def alert_mails() -> list[tuple[str, str]]:
    from nous.email.models import OutboxMessage
    from nous.extensions import db

    return [(m.to_addr, m.subject) for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "system_alert").order_by(OutboxMessage.id))]


def alert_events(redis_conn) -> list[tuple[str, str]]:
    frames = [json.loads(t)["data"] for _, t in events.replay(redis_conn, ("alerts",))]
    return [(f["rule"], f["status"]) for f in frames]


@pytest.mark.parametrize(("states", "is_open", "action"), [
    ([BREACH], False, None),  # one sample over is not yet an incident
    ([OK, BREACH, BREACH], False, "raise"),
    ([BREACH, BETWEEN, BREACH], False, None),  # not in a row
    ([BREACH, UNKNOWN], False, None),  # unknown breaks the run
    ([BREACH, BREACH], True, None),  # already open: hold, no second alert
    ([OK], True, None),
    ([BREACH, OK, OK], True, "clear"),
    ([OK, BETWEEN], True, None),  # inside the hysteresis band: hold
    ([OK, UNKNOWN], True, None),  # no figure is not "fine"
])
def test_decide_raises_and_clears_only_on_runs_of_samples(states, is_open, action) -> None:
    assert decide(states, is_open) == action


def test_alert_is_raised_once_held_then_cleared_with_one_mail_and_event_each(ctx, redis_conn) -> None:
    feed(50, 97)
    assert cpu_alerts() == []  # one sample over the line is not enough
    feed(98)
    [alert] = cpu_alerts()
    assert alert.status == OPEN and alert.value == 98 and alert.threshold == 95
    assert alert.title == "CPU use above 95.0 %" and "web-1" in alert.message

    feed(99, 96.5, 99.9)  # still over: held, quietly
    [alert] = cpu_alerts()
    assert alert.status == OPEN and alert.last_value == 99.9
    assert alert_mails() == [("admin@nous.test", "[ALERT] CPU use above 95.0 %")]

    feed(30)  # one good sample is not the end yet
    assert cpu_alerts()[0].status == OPEN
    feed(31)
    [alert] = cpu_alerts()
    assert alert.status == CLEARED and alert.cleared_at is not None and alert.last_value == 31
    assert alert_mails()[1:] == [("admin@nous.test", "[RESOLVED] CPU use above 95.0 %")]
    assert alert_events(redis_conn) == [("cpu", "open"), ("cpu", "cleared")]


def test_a_figure_flapping_around_the_threshold_raises_nothing_and_clears_nothing(ctx, redis_conn) -> None:
    feed(96, 94, 96, 94, 96, 94, 96)
    assert cpu_alerts() == []
    feed(97, 97)  # now it stays over
    assert len(cpu_alerts()) == 1
    feed(94, 96, 93, 96, 91, 99, 92)  # dips into the hysteresis band (90–95) and back
    [alert] = cpu_alerts()
    assert alert.status == OPEN
    feed(89, 97, 85)  # below the clear level, but not twice in a row
    assert cpu_alerts()[0].status == OPEN
    assert len(alert_mails()) == 1 and alert_events(redis_conn) == [("cpu", "open")]


def test_a_new_episode_after_clearing_is_a_new_alert(ctx) -> None:
    feed(99, 99, 10, 10, 99, 99)
    assert [a.status for a in cpu_alerts()] == [CLEARED, OPEN]
    assert len(alert_mails()) == 3


def test_thresholds_come_from_the_settings(ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("alerts.cpu_percent", 60, actor="test")
    feed(70, 70)
    [alert] = cpu_alerts()
    assert alert.threshold == 60 and alert.title == "CPU use above 60.0 %"
    settings.set_value("alerts.cpu_percent", 95, actor="test")
    feed(70, 70)  # the same figure is far below the new threshold
    assert cpu_alerts()[0].status == CLEARED


@pytest.mark.parametrize(("figures", "rule", "title"), [
    ({"memory_percent": 97.0}, "memory", "Memory use above 95.0 %"),
    ({"disk_percent": 93.0}, "disk", "Disk use above 90.0 %"),
    ({"error_rate": 0.2, "requests_per_second": 2.0}, "error_rate", "Error rate above 5.0 %"),
    ({"queue_depth": 1500.0}, "queue_backlog", "Queue backlog above 1,000 jobs"),
])
def test_every_threshold_rule_has_its_default(ctx, figures, rule, title) -> None:
    for _ in range(2):
        collector.record({**CALM, **figures})
    [alert] = Alert.query.filter_by(status=OPEN).all()
    assert (alert.rule, alert.title) == (rule, title)


def test_an_error_rate_over_a_handful_of_requests_is_no_alert(ctx) -> None:
    for _ in range(3):
        collector.record({**CALM, "error_rate": 0.5, "requests_per_second": 0.1})  # 6 requests a minute
    assert Alert.query.count() == 0


def test_a_failing_health_check_raises_and_clears_its_own_alert(ctx, redis_conn) -> None:
    failing = {"probe:model-api:responseTime": "ConnectTimeout: timed out"}
    collector.record(CALM, failing)
    collector.record(CALM, failing)
    [alert] = Alert.query.all()
    assert alert.rule == "check:probe:model-api:responseTime" and alert.title == "Health check failing: probe model-api"
    assert "ConnectTimeout" in alert.message
    collector.record(CALM, {})
    collector.record(CALM, {})
    assert Alert.query.one().status == CLEARED
    assert alert_events(redis_conn) == [("check:probe:model-api:responseTime", "open"),
                                        ("check:probe:model-api:responseTime", "cleared")]


def test_two_evaluations_racing_raise_the_alert_once(ctx) -> None:
    finding = alerts.Finding("cpu", "raise", 99.0, 95.0, "%", "CPU use above 95.0 %", "…")
    first = alerts._raise(finding, utcnow())
    second = alerts._raise(finding, utcnow())  # what a second evaluator finds: the open one exists
    assert first is not None and second is None
    assert Alert.query.count() == 1 and len(alert_mails()) == 1


def test_without_alert_email_the_dashboard_still_hears_of_it(ctx, redis_conn) -> None:
    from nous.settings import service as settings

    settings.set_value("alerts.email", False, actor="test")
    feed(99, 99)
    assert len(cpu_alerts()) == 1 and alert_mails() == []
    assert alert_events(redis_conn) == [("cpu", "open")]


def test_the_alert_email_links_to_the_console_when_the_base_url_is_known(app, ctx, monkeypatch) -> None:
    alert = Alert(rule="disk", status=OPEN, title="Disk use above 90.0 %", message="m", value=93.0, threshold=90.0,
                  unit="%", raised_at=utcnow(), updated_at=utcnow())
    monkeypatch.setitem(app.config, "SYSTEM_BASE_URL", "https://beta.nous.example")  # restored after the test
    ctx_ = alerts.email_context(alert)
    assert ctx_["url"] == "https://beta.nous.example/admin/beta/"
    assert (ctx_["value"], ctx_["threshold"], ctx_["severity"]) == ("93.0 %", "90.0 %", "alert")


def test_findings_need_samples_and_skip_unknown_figures() -> None:
    assert alerts.findings([], set(), {}) == []
    thresholds = {r.setting: 50 for r in alerts.RULES}
    samples = [MetricSample(cpu_percent=None, failing_checks={}), MetricSample(cpu_percent=99, failing_checks={})]
    cpu = next(f for f in alerts.findings(samples, set(), thresholds) if f.rule == "cpu")
    assert cpu.action is None


@pytest.mark.parametrize(("value", "unit", "text"), [
    (97.25, "%", "97.2 %"), (0.075, "ratio", "7.5 %"), (1500, "jobs", "1,500 jobs"), (12.44, "ms", "12.4 ms"),
    (None, "%", "—"), (1.5, "", "1.5"),
])
def test_figures_read_as_people_write_them(value, unit, text) -> None:
    assert alerts.fmt(value, unit) == text


def test_an_alert_raised_while_redis_is_down_is_stored_and_mailed_later(app, ctx, monkeypatch, live_log) -> None:
    """Redis unreachable (nothing listens on its port): the collector's sample, the alert and its email all
    stand; the live event is dropped and the email waits in the outbox for the stuck-mail sweep."""
    import redis

    from nous.email.models import OutboxMessage
    from nous.extensions import db
    from tests.conftest import free_port

    dead = redis.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=2, socket_connect_timeout=1)
    monkeypatch.setitem(app.extensions, "nous.redis", dead)  # put back after the test
    monkeypatch.delitem(app.extensions, "nous.live.publisher", raising=False)
    feed(99, 99)  # raises nothing into the collector
    [alert] = cpu_alerts()
    assert alert.status == OPEN
    [mail] = db.session.scalars(select(OutboxMessage).where(OutboxMessage.template == "system_alert"))
    assert (mail.to_addr, mail.status, mail.job_id) == ("admin@nous.test", "queued", None)
    assert "alert not passed on" not in live_log.text
    assert "email kept in the outbox" in live_log.text
