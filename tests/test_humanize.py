"""The console's words for people: each formatter on its own (no app, no database)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

from nous import humanize

CHROME_MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Safari/537.36")
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
EDGE_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.2903.86")
CHROME_ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
                  "Chrome/131.0.6778.135 Mobile Safari/537.36")


def event(action: str, target: str = "", before=None, after=None) -> SimpleNamespace:
    return SimpleNamespace(action=action, target=target, before=before, after=after)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("value", [
    datetime(2026, 12, 6, 14, 5, 9, tzinfo=UTC),
    datetime(2026, 12, 6, 14, 5, 9),  # naive from SQLite: UTC
    datetime(2026, 12, 6, 15, 5, 9, tzinfo=timezone(timedelta(hours=1))),
    "2026-12-06T14:05:09+00:00",
    "2026-12-06T14:05:09Z",
])
def test_one_date_format_whatever_the_stored_shape(value) -> None:
    assert humanize.when_text(value) == "6 Dec 2026, 14:05"
    assert humanize.exact_text(value) == "2026-12-06 14:05:09 UTC"


def test_when_is_a_time_element_with_the_exact_utc_time_on_hover() -> None:
    html = str(humanize.when(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)))
    assert html == ('<time datetime="2026-01-02T03:04:05+00:00" title="2026-01-02 03:04:05 UTC">'
                    "2 Jan 2026, 03:04</time>")
    assert str(humanize.when(None)) == "—" and str(humanize.when("", empty="never")) == "never"
    assert str(humanize.when("not a date")) == "—"


# --------------------------------------------------------------------------- flag history


def rollout(pct: int, *constraints: dict) -> dict:
    return {"name": "flexibleRollout", "constraints": list(constraints),
            "parameters": {"rollout": str(pct), "stickiness": "default", "groupId": "f"}}


def state(**over) -> dict:
    base = {"key": "f", "description": "", "type": "release", "enabled": True, "strategies": [rollout(30)],
            "variants": [], "dependencies": [], "archived": False, "enable_at": None, "disable_at": None}
    return {**base, **over}


PLAN = {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]}


def test_flag_history_says_the_rollout_change_in_words() -> None:
    assert humanize.flag_changes(state(), state(strategies=[rollout(50)])) == ["Rollout 30 % → 50 %"]


def test_flag_history_names_an_added_and_a_removed_condition() -> None:
    assert humanize.flag_changes(state(), state(strategies=[rollout(30, PLAN)])) == [
        "Added condition: plan is one of pro, team"]
    assert humanize.flag_changes(state(strategies=[rollout(30, PLAN)]), state()) == [
        "Removed condition: plan is one of pro, team"]


def test_flag_history_covers_switch_testers_variants_parents_and_schedule() -> None:
    before = state(enabled=False, strategies=[{"name": "userWithId", "parameters": {"userIds": "a@x.io"}},
                                              rollout(30)])
    after = state(enabled=True, strategies=[{"name": "userWithId", "parameters": {"userIds": "a@x.io,b@x.io"}},
                                            rollout(30)],
                  variants=[{"name": "blue", "weight": 500}], dependencies=[{"feature": "base"}],
                  enable_at="2026-12-24T18:00:00+00:00")
    assert humanize.flag_changes(before, after) == [
        "Switched on", "Added target tester: b@x.io", "Added variant blue (weight 500)",
        "Added dependency on: parent flag base switched on", "Switch on at 24 Dec 2026, 18:00"]


def test_flag_history_of_a_new_flag_and_of_a_replaced_strategy() -> None:
    assert humanize.flag_changes(None, state(enabled=False)) == ["Created, switched off",
                                                                 "Gives it to rollout to 30 % of users"]
    assert humanize.flag_changes(state(), state(strategies=[{"name": "default"}])) == [
        "Replaced rollout to 30 % of users with everyone"]
    assert humanize.flag_changes(state(), state()) == []


@pytest.mark.parametrize(("cond", "text"), [
    ({"contextName": "environment", "operator": "IN", "values": ["production"]}, "environment is production"),
    ({"contextName": "userId", "operator": "NOT_IN", "values": ["a", "b"]}, "user id is not one of a, b"),
    ({"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.3.0"}, "appVersion is at least version 2.3.0"),
    ({"contextName": "country", "operator": "IN", "values": ["de"], "inverted": True, "caseInsensitive": True},
     "not: country is de (any case)"),
    ({"contextName": "age", "operator": "NUM_GT", "value": "30"}, "age is more than 30"),
])
def test_conditions_in_words(cond, text) -> None:
    assert humanize.condition_text(cond) == text


@pytest.mark.parametrize(("path", "text"), [
    ("strategies[1].constraints[0].values", "condition 1, values"),
    ("constraints[2].contextName", "condition 3, field"),
    ("strategies[0].parameters.userIds", "target testers"),
    ("name", "name"),
])
def test_error_fields_in_words(path, text) -> None:
    assert humanize.field_words(path) == text


# --------------------------------------------------------------------------- user agents


@pytest.mark.parametrize(("raw", "text"), [
    (CHROME_MAC, "Chrome 131 on macOS"),
    (SAFARI_IPHONE, "Safari 17 on iOS 17 (iPhone)"),
    (FIREFOX_WINDOWS, "Firefox 133 on Windows"),
    (EDGE_WINDOWS, "Edge 131 on Windows"),
    (CHROME_ANDROID, "Chrome 131 on Android 14"),
    ("curl/8.5.0", "curl 8"),
    ("", "—"),
    (None, "—"),
    ("???", "Unknown browser"),
])
def test_user_agents_are_summarised(raw, text) -> None:
    assert humanize.user_agent(raw) == text


# --------------------------------------------------------------------------- schedules


@pytest.mark.parametrize(("cron", "text"), [
    ("0 8 * * 1", "At 08:00, only on Monday (UTC)"),
    ("*/15 * * * *", "Every 15 minutes"),
    ("30 2 * * *", "At 02:30 (UTC)"),
    ("not cron", ""),
    ("", ""),
])
def test_cron_in_words(cron, text) -> None:
    assert humanize.cron_words(cron) == text


@pytest.mark.parametrize(("seconds", "text"), [(60, "Every minute"), (300, "Every 5 minutes"), (7200, "Every 2 hours"),
                                               (45, "Every 45 seconds"), (None, "")])
def test_intervals_in_words(seconds, text) -> None:
    assert humanize.every_words(seconds) == text


# --------------------------------------------------------------------------- attempts and outcomes


@pytest.mark.parametrize(("args", "text"), [
    ((1, 3), "1 of 3"),
    ((0, 3), "none yet (up to 3)"),
    ((2, 1), "2 (1 of 1 automatic, 1 retried by hand)"),  # a manual retry never reads "2 of 1"
    ((2, 1, 1), "2 (1 of 1 automatic, 1 retried by hand)"),
    ((2, 1, 0), "2 (1 of 1 automatic, 1 retried by hand)"),  # "retry all failed" leaves no record per job
    ((1, 1, 1), "1 of 1 · retried by hand, waiting to run"),
    ((4, 3, 1), "4 (3 of 3 automatic, 1 retried by hand)"),
    ((2, 3, 1), "2 (1 of 3 automatic, 1 retried by hand)"),
])
def test_attempts_are_counted_truthfully(args, text) -> None:
    assert humanize.attempts_text(*args) == text


def test_a_run_with_failed_steps_never_reads_as_a_plain_success() -> None:
    assert humanize.run_status_text("succeeded", 2) == "succeeded with 2 failed steps"
    assert humanize.run_status_text("succeeded", 1) == "succeeded with 1 failed step"
    assert humanize.run_status_text("succeeded") == "succeeded"
    assert humanize.run_status_text("failed", 1) == "failed"


# --------------------------------------------------------------------------- audit sentences


def test_audit_events_read_as_sentences_about_their_object(app) -> None:  # the settings area names its settings
    created = humanize.audit_sentence(event("workflows.create", "workflow:2", after={"name": "Weekly digest"}))
    assert created.text == "Created workflow Weekly digest"
    assert (created.endpoint, created.values) == ("workflows.show", {"workflow_id": 2})
    assert humanize.audit_sentence(event("workflows.disable", "workflow:7")).text == "Switched off workflow #7"
    status = humanize.audit_sentence(event("feedback.status", "feedback:12", {"status": "new"}, {"status": "done"}))
    assert status.text == "Set the status of feedback #12 (new → done)"
    assert (status.endpoint, status.values) == ("feedback.admin_show", {"feedback_id": 12})
    setting = humanize.audit_sentence(event("settings.set", "db.slow_query_ms", 100, 250))
    assert setting.text == "Changed setting Slow query threshold (100 → 250)"
    origins = humanize.audit_sentence(event("settings.set", "feedback.widget_origins", [], ["https://a.io", "https://b.io"]))
    assert origins.text == "Changed setting Sites allowed to send feedback ((none) → https://a.io, https://b.io)"
    switch = humanize.audit_sentence(event("settings.set", "alerts.email", True, False))
    assert switch.text == "Changed setting Email alerts (on → off)"
    assert humanize.audit_sentence(event("jobs.retry", "0123456789abcdef")).text == "Retried job 01234567"
    assert humanize.audit_sentence(event("auth.signed_out_everywhere")).text == (
        "Signed out everywhere (every open session ended)")
    flag = humanize.audit_sentence(event("flags.update", "checkout", state(), state(strategies=[rollout(50)])))
    assert flag.text == "Changed flag checkout (Rollout 30 % → 50 %)"


def test_unknown_and_malformed_audit_records_still_read_as_words() -> None:
    assert humanize.audit_sentence(event("things.made_up", "x")).text == "Things made up x"
    assert humanize.audit_sentence(event("feedback.status", "feedback:abc")).text.startswith("Set the status of")
    record = {"action": "testers.add", "target": "a@x.io", "at": "2026-12-06T10:00:00+00:00"}  # an as_dict()
    assert humanize.audit_sentence(record).text == "Added tester a@x.io"


@pytest.mark.parametrize(("actor", "text"), [("cli:root", "root on the command line"),
                                             ("workflow:Weekly digest", "workflow Weekly digest"),
                                             ("admin@example.com", "admin@example.com")])
def test_actors_in_words(actor, text) -> None:
    assert humanize.actor_text(actor) == text


def test_every_action_the_code_audits_has_its_own_sentence() -> None:
    """A new audited action needs its words here, or the console shows it as a raw code."""
    root = Path(humanize.__file__).resolve().parent
    actions = {m for path in root.rglob("*.py")
               for m in re.findall(r'audit\.record\([^,]*, *"([a-z_]+\.[a-z_.]+)"', path.read_text())}
    actions |= {m for path in root.rglob("*.py") for m in re.findall(r'audit_action="([a-z_]+\.[a-z_.]+)"',
                                                                       path.read_text())}
    assert actions and sorted(actions - set(humanize.SENTENCES)) == []
