"""Alert rules on the collector's samples: raise once, hold while the condition lasts, clear when it ends.

No alert storm when a figure flaps around its threshold, by two means together:
- minimum duration: a rule raises only after RAISE_AFTER samples in a row above its threshold, and
  clears only after CLEAR_AFTER samples in a row at the clear level;
- hysteresis: the clear level lies below the threshold (CPU and memory 5 points, disk 2 points,
  error rate and queue backlog 80 % / 90 % of it), so a figure hovering around the threshold keeps an
  open alert open and a closed one closed.

The decision is a pure function of the latest samples (kept in `system_metrics`) and whether the
rule has an open alert, so it needs no state besides those tables and any process may evaluate.
At most one alert per rule is open (a partial unique index), so a race raises it once; raising and
clearing each notify once: a live `alerts` event and the named event `alert.raised` (the email area
sends each admin address a system-alert email from it, with `alerts.email` on).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from nous import events
from nous.clock import aware, utcnow
from nous.extensions import db
from nous.live.events import publish
from nous.live.models import CLEARED, OPEN, REQUEST_WINDOW, Alert, MetricSample
from nous.settings import service as settings

log = logging.getLogger("nous.live")

RAISE_AFTER = 2  # samples in a row over the threshold before an alert is raised
CLEAR_AFTER = 2  # samples in a row at the clear level before it clears
MIN_REQUESTS_FOR_ERROR_RATE = 20  # requests in the collector's window; fewer say nothing about a rate

BREACH, OK, BETWEEN, UNKNOWN = "breach", "ok", "between", "unknown"


def _points(margin: float) -> Callable[[float], float]:
    return lambda threshold: max(0.0, threshold - margin)


def _share(ratio: float) -> Callable[[float], float]:
    return lambda threshold: threshold * ratio


def _enough_requests(sample: MetricSample) -> bool:
    return (sample.requests_per_second or 0) * REQUEST_WINDOW >= MIN_REQUESTS_FOR_ERROR_RATE


@dataclass(frozen=True)
class Rule:
    key: str
    figure: str
    setting: str
    what: str
    unit: str
    clear_level: Callable[[float], float]
    applies: Callable[[MetricSample], bool] | None = None

    def classify(self, sample: MetricSample, threshold: float) -> str:
        value = getattr(sample, self.figure)
        if value is None or (self.applies is not None and not self.applies(sample)):
            return UNKNOWN
        if value > threshold:
            return BREACH
        if value < self.clear_level(threshold) or value <= 0:
            return OK
        return BETWEEN


RULES: tuple[Rule, ...] = (
    Rule("cpu", "cpu_percent", "alerts.cpu_percent", "CPU use", "%", _points(5)),
    Rule("memory", "memory_percent", "alerts.memory_percent", "Memory use", "%", _points(5)),
    Rule("disk", "disk_percent", "alerts.disk_percent", "Disk use", "%", _points(2)),
    Rule("error_rate", "error_rate", "alerts.error_rate", "Error rate", "ratio", _share(0.8), _enough_requests),
    Rule("queue_backlog", "queue_depth", "alerts.queue_backlog", "Queue backlog", "jobs", _share(0.9)),
)


def fmt(value: float | None, unit: str) -> str:
    """A figure as people read it: 97.3 %, 7.5 % (ratio), 1 500 jobs, 12.4 ms."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f} %"
    if unit == "%":
        return f"{value:.1f} %"
    if unit == "jobs":
        return f"{value:,.0f} jobs"
    if unit == "ms":
        return f"{value:,.1f} ms"
    return f"{value:,.2f}".rstrip("0").rstrip(".") + (f" {unit}" if unit else "")


def decide(states: Sequence[str], is_open: bool) -> str | None:
    """'raise', 'clear' or None (hold / nothing) from a rule's states over the latest samples, oldest first."""
    if not is_open:
        recent = states[-RAISE_AFTER:]
        return "raise" if len(recent) == RAISE_AFTER and all(s == BREACH for s in recent) else None
    recent = states[-CLEAR_AFTER:]
    return "clear" if len(recent) == CLEAR_AFTER and all(s == OK for s in recent) else None


@dataclass
class Finding:
    rule: str
    action: str | None  # raise, clear or None
    value: float | None
    threshold: float | None
    unit: str
    title: str
    message: str


def _threshold_findings(samples: list[MetricSample], open_rules: set[str],
                        thresholds: dict[str, float]) -> list[Finding]:
    out = []
    latest = samples[-1]
    for rule in RULES:
        threshold = float(thresholds[rule.setting])
        states = [rule.classify(s, threshold) for s in samples]
        action = decide(states, rule.key in open_rules)
        value = getattr(latest, rule.figure)
        limit = fmt(threshold, rule.unit)
        clear_at = fmt(rule.clear_level(threshold), rule.unit)
        if action == "clear":
            message = f"{rule.what} is back to {fmt(value, rule.unit)}, below {clear_at}."
        else:
            where = f" on {latest.host}" if rule.unit == "%" and latest.host else ""
            message = (f"{rule.what}{where} has been above {limit} for {RAISE_AFTER} samples in a row; "
                       f"now {fmt(value, rule.unit)}. The alert clears once it stays below {clear_at}.")
        out.append(Finding(rule.key, action, value, threshold, rule.unit, f"{rule.what} above {limit}", message))
    return out


def _check_findings(samples: list[MetricSample], open_rules: set[str]) -> list[Finding]:
    names = {name for s in samples for name in (s.failing_checks or {})}
    names |= {r.removeprefix("check:") for r in open_rules if r.startswith("check:")}
    out = []
    for name in sorted(names):
        key = f"check:{name}"
        states = [BREACH if name in (s.failing_checks or {}) else OK for s in samples]
        action = decide(states, key in open_rules)
        why = (samples[-1].failing_checks or {}).get(name, "")
        parts = name.split(":")  # "probe:model-api:responseTime" reads "probe model-api"
        component = " ".join(parts[:-1] if len(parts) > 1 else parts)
        message = f"The {component} check is passing again." if action == "clear" else (
            f"The {component} check has failed for {RAISE_AFTER} samples in a row: {why}")
        out.append(Finding(key, action, None, None, "", f"Health check failing: {component}", message))
    return out


def findings(samples: list[MetricSample], open_rules: set[str], thresholds: dict[str, float]) -> list[Finding]:
    """What every rule concludes from `samples` (oldest first). Pure: no I/O."""
    if not samples:
        return []
    return _threshold_findings(samples, open_rules, thresholds) + _check_findings(samples, open_rules)


def open_alerts() -> list[Alert]:
    return list(db.session.scalars(select(Alert).where(Alert.status == OPEN).order_by(Alert.raised_at.desc())))


def recent_alerts(limit: int = 50) -> list[Alert]:
    return list(db.session.scalars(select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc()).limit(limit)))


def evaluate(now: datetime | None = None) -> list[Alert]:
    """Apply every rule to the latest samples; returns the alerts raised or cleared by this call."""
    now = now or utcnow()
    depth = max(RAISE_AFTER, CLEAR_AFTER)
    samples = list(db.session.scalars(select(MetricSample).order_by(MetricSample.at.desc(), MetricSample.id.desc())
                                      .limit(depth)))[::-1]
    current = {a.rule: a for a in open_alerts()}
    thresholds = {rule.setting: settings.get(rule.setting) for rule in RULES}
    changed = []
    for finding in findings(samples, set(current), thresholds):
        alert = current.get(finding.rule)
        if finding.action == "raise":
            raised = _raise(finding, now)
            if raised is not None:
                changed.append(raised)
        elif finding.action == "clear" and alert is not None:
            if _clear(alert, finding, now):
                changed.append(alert)
        elif alert is not None and finding.value is not None and alert.last_value != finding.value:
            alert.last_value, alert.updated_at = finding.value, now  # hold: the alert stays open, quietly
    db.session.commit()
    return changed


def _raise(finding: Finding, now: datetime) -> Alert | None:
    alert = Alert(rule=finding.rule, status=OPEN, title=finding.title[:300], message=finding.message,
                  value=finding.value, threshold=finding.threshold, unit=finding.unit, last_value=finding.value,
                  raised_at=now, updated_at=now)
    db.session.add(alert)
    try:
        db.session.commit()
    except IntegrityError:  # another evaluation raised it a moment ago: it is raised once
        db.session.rollback()
        return None
    log.warning("alert raised", extra={"rule": alert.rule, "alert_id": alert.id, "value": alert.value})
    notify(alert)
    return alert


def _clear(alert: Alert, finding: Finding, now: datetime) -> bool:
    done = db.session.execute(
        update(Alert).where(Alert.id == alert.id, Alert.status == OPEN)
        .values(status=CLEARED, cleared_at=now, updated_at=now, last_value=finding.value)
    ).rowcount
    db.session.commit()
    if not done:
        return False
    db.session.refresh(alert)
    log.warning("alert cleared", extra={"rule": alert.rule, "alert_id": alert.id})
    notify(alert, finding.message)
    return True


def _console_url() -> str | None:
    base = current_app.config.get("SYSTEM_BASE_URL", "")
    if not base:
        return None
    with current_app.test_request_context(base_url=base):
        return url_for("admin.dashboard", _external=True)


def email_context(alert: Alert, message: str | None = None) -> dict[str, Any]:
    """The alert as a message tells it (title, severity, figures in words, console link): what
    `alert.raised` carries for the system-alert email."""
    cleared = alert.status == CLEARED
    raised_at = aware(alert.raised_at)
    ctx: dict[str, Any] = {
        "title": alert.title,
        "message": message or alert.message,
        "severity": "resolved" if cleared else "alert",
        "value": fmt(alert.last_value if cleared else alert.value, alert.unit) if alert.unit else None,
        "threshold": fmt(alert.threshold, alert.unit) if alert.threshold is not None else None,
        "raised_at": raised_at.strftime("%Y-%m-%d %H:%M UTC") if raised_at else "",
    }
    url = _console_url()
    if url:
        ctx["url"] = url
    return ctx


def notify(alert: Alert, message: str | None = None) -> None:
    """Tell the dashboard, and whoever listens to `alert.raised` (email). Best effort: never raises."""
    publish("alerts", alert.as_event())
    try:
        ctx = email_context(alert, message)
        events.alert_raised.send(None, alert=ctx, message=ctx["message"])
    except Exception:  # the alert stands on the dashboard even when a listener fails
        db.session.rollback()
        log.exception("alert not passed on", extra={"rule": alert.rule, "alert_id": alert.id})
