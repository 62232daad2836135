"""What testers felt: the flags recorded with each feedback, and the comparison of feedback with a flag on
against off — figures checked against a computation of their own (statistics.mean/stdev and a t table)."""

from __future__ import annotations

import logging
import math
import random
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback, FeedbackFlag
from tests.feedback.helpers import OFF, ON, create_flag, email_flag
from tests.support.sql import statements

API = "/api/feedback"


@pytest.fixture
def make_flag(ctx) -> Callable[..., Any]:
    return create_flag


def recorded(feedback_id: int) -> dict[str, tuple[str, bool, str | None]]:
    rows = db.session.scalars(select(FeedbackFlag).where(FeedbackFlag.feedback_id == feedback_id))
    return {r.flag_key: (r.environment, r.enabled, r.variant) for r in rows}


def test_submission_records_each_flag_as_the_tester_had_it(app, client, make_flag) -> None:
    from nous.flags import service

    make_flag(email_flag())
    make_flag({"key": "switched-off", "enabled": False, "strategies": [{"name": "default"}]})
    make_flag({"key": "colours", "enabled": True, "strategies": [{"name": "default"}],
               "variants": [{"name": "teal", "weight": 1000, "weightType": "variable", "stickiness": "default"}]})
    make_flag({"key": "retired", "enabled": True, "strategies": [{"name": "default"}]})
    service.archive_flag("retired", actor="test@nous.test")
    db.session.commit()

    on = client.post(API, json={"rating": 5, "message": "Love the new calendar", "category": "praise",
                                "email": "Ada@Example.com", "app_version": "2.4.1",
                                "page_url": "https://app.example.com/calendar"})
    off = client.post(API, json={"rating": 2, "message": "Where is the calendar?", "category": "bug",
                                 "email": "bob@example.com"})
    anonymous = client.post(API, json={"rating": 3, "message": "No address given", "category": "other"})
    assert on.status_code == off.status_code == anonymous.status_code == 201

    assert recorded(on.get_json()["id"]) == {
        "new-calendar": ("production", True, None), "switched-off": ("production", False, None),
        "colours": ("production", True, "teal")}  # archived flags are not recorded
    assert recorded(off.get_json()["id"])["new-calendar"] == ("production", False, None)
    assert recorded(anonymous.get_json()["id"])["new-calendar"] == ("production", False, None)
    row = db.session.scalar(select(FeedbackFlag).where(FeedbackFlag.feedback_id == on.get_json()["id"],
                                                       FeedbackFlag.flag_key == "new-calendar"))
    assert (row.rating, row.category) == (5, "praise")  # what the comparison reads, repeated


def test_flags_are_evaluated_for_the_tester_id_of_a_known_address(app, client, make_flag) -> None:
    """userId is the tester's id, found from the address alone: a flag for that tester id is on."""
    from nous.flags import service

    first = client.post(API, json={"rating": 4, "message": "first", "category": "idea", "email": "lin@example.com"})
    tester_id = feedback.get(first.get_json()["id"]).tester_id
    assert tester_id is not None
    make_flag({"key": "for-lin", "enabled": True,
               "strategies": [{"name": "userWithId", "parameters": {"userIds": str(tester_id)}}]})
    db.session.commit()
    service.bump_version()
    second = client.post(API, json={"rating": 4, "message": "again", "category": "idea", "email": "lin@example.com"})
    other = client.post(API, json={"rating": 4, "message": "other", "category": "idea", "email": "max@example.com"})
    assert recorded(second.get_json()["id"])["for-lin"] == ("production", True, None)
    assert recorded(other.get_json()["id"])["for-lin"] == ("production", False, None)


def test_the_default_flag_environment_is_the_one_recorded(app, client, make_flag) -> None:
    from nous.settings import service as settings

    make_flag(email_flag())
    settings.set_value("flags.environment", "staging", actor="test")
    db.session.commit()
    app.extensions["nous.flags"].reset()
    sent = client.post(API, json={"rating": 4, "message": "hi", "category": "idea", "email": ON[0]})
    # staging has the flag's strategies but switched off (a new flag is on only where it was made)
    assert recorded(sent.get_json()["id"]) == {"new-calendar": ("staging", False, None)}


def test_recording_the_flags_is_not_counted_as_evaluations(app, client, make_flag) -> None:
    """The flags recorded with feedback were not asked for by an app: the flag page's usage stays as it was."""
    from nous.flags.cache import EVALS

    make_flag(email_flag())
    make_flag({"key": "switched-off", "enabled": False, "strategies": [{"name": "default"}]})
    db.session.commit()
    tally = EVALS.tally("production")
    before = tally.counts()
    for email in (ON[0], OFF[0], None):
        sent = client.post(API, json={"rating": 4, "message": "hi", "category": "idea", "email": email})
        assert sent.status_code == 201 and recorded(sent.get_json()["id"])  # the flags are recorded
    tally = EVALS.tally("production")
    assert tally.counts() == before


# --- the comparison, against a computation of its own ----------------------------------------------

T975 = {19: 2.093, 24: 2.064, 29: 2.045}  # Student's t, two-sided 95 %, from a printed table


def _send(groups: dict[str, list[tuple[int, str]]]) -> None:
    """Submit each (rating, category) of group "on" from ON addresses and of "off" from OFF addresses."""
    for name, items in groups.items():
        emails = ON if name == "on" else OFF
        for i, (rating, category) in enumerate(items):
            words = "calendar sync lovely" if name == "on" else "calendar slow crash"
            feedback.submit({"rating": rating, "message": f"The {words} view number {i}", "category": category,
                             "email": emails[i % len(emails)]})


def _generated(rng: random.Random, n: int, weights: list[int], bug_every: int) -> list[tuple[int, str]]:
    ratings = rng.choices([1, 2, 3, 4, 5], weights=weights, k=n)
    return [(r, "bug" if i % bug_every == 0 else "idea") for i, r in enumerate(ratings)]


def _expected(items: list[tuple[int, str]]) -> dict[str, Any]:
    ratings = [r for r, _ in items]
    mean, sd, n = statistics.mean(ratings), statistics.stdev(ratings), len(ratings)
    half = T975[n - 1] * sd / math.sqrt(n)
    return {"count": n, "mean": mean, "sd": sd, "low": max(1.0, mean - half), "high": min(5.0, mean + half),
            "bugs": sum(1 for _, c in items if c == "bug")}


def test_figures_match_a_hand_computation(app, make_flag, unlimited) -> None:
    rng = random.Random(18)
    make_flag(email_flag())
    groups = {"on": _generated(rng, 30, [1, 1, 3, 8, 9], 5), "off": _generated(rng, 25, [4, 6, 6, 3, 1], 3)}
    _send(groups)

    c = feedback.compare("new-calendar", "production", 30)
    for group, items in ((c.on, groups["on"]), (c.off, groups["off"])):
        want = _expected(items)
        assert group.count == want["count"]
        assert group.average == pytest.approx(want["mean"], abs=1e-9)
        assert group.stdev == pytest.approx(want["sd"], abs=1e-9)
        assert group.ci_low == pytest.approx(want["low"], abs=5e-4)
        assert group.ci_high == pytest.approx(want["high"], abs=5e-4)
        assert group.bugs == want["bugs"] and group.bug_share == pytest.approx(want["bugs"] / want["count"])
    on, off = _expected(groups["on"]), _expected(groups["off"])
    assert on["low"] > off["high"]  # the generated groups do differ
    assert c.verdict == "higher"
    assert c.reading == (f"Testers with the flag on rated it {on['mean'] - off['mean']:.1f} higher "
                         f"({on['mean']:.1f} vs {off['mean']:.1f}).")
    # every message's words, once per message; "the" is a stop word, digits are no words
    assert c.on.words[:5] == [(w, 30) for w in ("calendar", "lovely", "number", "sync", "view")]
    assert c.off.words[:5] == [(w, 25) for w in ("calendar", "crash", "number", "slow", "view")]


def test_too_few_to_tell_and_overlapping_intervals(app, make_flag, unlimited) -> None:
    make_flag(email_flag())
    _send({"on": [(5, "praise")] * 5, "off": [(r, "idea") for r in [1, 2, 3, 4, 5] * 4]})
    c = feedback.compare("new-calendar", "production", 7)
    assert (c.on.count, c.off.count, c.verdict) == (5, 20, "too-few")
    assert c.reading == ("Too few to tell: 5 with the flag on and 20 with it off "
                         "(at least 10 in each are needed).")

    # Fifteen more with the flag on: 3.5 against 3.0, but the intervals overlap.
    _send({"on": [(r, "idea") for r in [1, 2, 3, 4, 5] * 3]})
    c = feedback.compare("new-calendar", "production", 7)
    on = [5] * 5 + [1, 2, 3, 4, 5] * 3
    half = T975[19] * statistics.stdev(on) / math.sqrt(20)
    assert (c.on.count, c.on.average) == (20, 3.5) and c.on.ci_low == pytest.approx(3.5 - half, abs=5e-4)
    assert c.verdict == "no-clear-difference"
    assert c.reading.startswith("No clear difference: testers with the flag on rated it 3.5 and with it off 3.0")


def test_spam_and_other_environments_are_left_out(app, make_flag, unlimited) -> None:
    make_flag(email_flag())
    _send({"on": [(5, "praise")] * 3, "off": [(2, "bug")] * 2})
    first = feedback.list_page(feedback.Filter()).items[-1]
    feedback.set_status(first.id, "spam", actor="test@nous.test")
    c = feedback.compare("new-calendar", "production", 30)
    assert c.on.count + c.off.count == 4
    assert feedback.compare("new-calendar", "staging", 30).total == 0


def test_closed_days_are_summed_once_and_read_back_alike(app, make_flag, unlimited) -> None:
    """Seen from three days later, today's feedback lies in a closed day: the same figures come from the
    day's stored sums, spam marked afterwards is subtracted, and a second look sums nothing again."""
    from datetime import timedelta

    from sqlalchemy import func

    from nous.clock import utcnow
    from nous.feedback.models import FeedbackFlagDay

    rng = random.Random(7)
    make_flag(email_flag())
    groups = {"on": _generated(rng, 20, [1, 1, 2, 6, 6], 4), "off": _generated(rng, 25, [3, 5, 5, 2, 1], 2)}
    _send(groups)
    # noon three days on: in a day's first ten minutes "now + 3 days" leaves the day before it open
    later = utcnow().replace(hour=12, minute=0, second=0, microsecond=0) + timedelta(days=3)
    c = feedback.compare("new-calendar", "production", 7, now=later)
    for group, items in ((c.on, groups["on"]), (c.off, groups["off"])):
        want = _expected(items)
        assert (group.count, group.bugs) == (want["count"], want["bugs"])
        assert group.average == pytest.approx(want["mean"], abs=1e-9)
        assert group.ci_low == pytest.approx(want["low"], abs=5e-4)
    days = db.session.scalar(select(func.count()).select_from(FeedbackFlagDay))
    assert days >= 7  # every day of the period is marked as summed, with or without feedback

    with statements() as sent:
        assert feedback.compare("new-calendar", "production", 7, now=later).on.count == 20
    # the closed days are read back, not summed again
    assert [s for s in sent if s.lstrip().upper().startswith("INSERT INTO FEEDBACK_FLAG_DAYS")] == []
    assert db.session.scalar(select(func.count()).select_from(FeedbackFlagDay)) == days

    newest_on = feedback.list_page(feedback.Filter(flag="new-calendar", flag_state="on")).items[0]
    feedback.set_status(newest_on.id, "spam", actor="test@nous.test")
    again = feedback.compare("new-calendar", "production", 7, now=later)
    assert again.on.count == 19 and again.off.count == 25
    assert again.on.average == pytest.approx(
        (sum(r for r, _ in groups["on"]) - newest_on.rating) / 19, abs=1e-9)


def test_a_tester_sending_their_id_gets_their_flags(app, client, make_flag) -> None:
    """A submission naming its tester by id: the flags are evaluated for that tester."""
    first = client.post(API, json={"rating": 4, "message": "first", "category": "idea", "email": "kim@example.com"})
    tester_id = feedback.get(first.get_json()["id"]).tester_id
    make_flag({"key": "for-kim", "enabled": True,
               "strategies": [{"name": "userWithId", "parameters": {"userIds": str(tester_id)}}]})
    db.session.commit()
    by_id = client.post(API, json={"rating": 2, "message": "by id", "category": "bug", "tester_id": str(tester_id)})
    stranger = client.post(API, json={"rating": 2, "message": "someone", "category": "bug",
                                      "tester_id": "0b7e3c1a-0000-4000-8000-000000000001"})
    assert by_id.status_code == stranger.status_code == 201
    assert recorded(by_id.get_json()["id"]) == {"for-kim": ("production", True, None)}
    assert feedback.get(by_id.get_json()["id"]).tester_id == tester_id
    assert recorded(stranger.get_json()["id"]) == {"for-kim": ("production", False, None)}


def test_an_unknown_tester_id_without_an_address_is_evaluated_for_that_id(app, client, make_flag) -> None:
    """The id the tester's app would send: the feedback is stored without a tester, but a userWithId flag
    for that id is recorded on (the same on every engine)."""
    unknown = "0b7e3c1a-0000-4000-8000-000000000003"
    make_flag({"key": "for-unknown", "enabled": True,
               "strategies": [{"name": "userWithId", "parameters": {"userIds": unknown}}]})
    db.session.commit()
    resp = client.post(API, json={"rating": 3, "message": "from an app", "category": "idea", "tester_id": unknown})
    other = client.post(API, json={"rating": 3, "message": "no id", "category": "idea"})
    assert resp.status_code == other.status_code == 201
    assert feedback.get(resp.get_json()["id"]).tester_id is None
    assert recorded(resp.get_json()["id"]) == {"for-unknown": ("production", True, None)}
    assert recorded(other.get_json()["id"]) == {"for-unknown": ("production", False, None)}


def test_a_new_address_is_stored_when_its_flags_cannot_be_written(app, client, make_flag) -> None:
    """Once the feedback of a new address is stored, no failure to reach the database for its flags turns the
    answer into an error: the connection for them is refused here (the database's own error)."""
    from sqlalchemy import event
    from sqlalchemy.exc import OperationalError

    make_flag(email_flag())
    db.session.commit()
    stored: list[str] = []

    def note(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO FEEDBACK "):
            stored.append(statement)

    def refuse(conn) -> None:
        if stored:  # a connection checked out after the row is stored
            raise OperationalError("connect", {}, Exception("the database refuses connections"))

    event.listen(db.engine, "before_cursor_execute", note)
    event.listen(db.engine, "engine_connect", refuse)
    try:
        resp = client.post(API, json={"rating": 4, "message": "first time", "category": "idea",
                                      "email": "new@example.com"})
    finally:
        event.remove(db.engine, "engine_connect", refuse)
        event.remove(db.engine, "before_cursor_execute", note)
    assert stored and resp.status_code == 201
    row = feedback.get(resp.get_json()["id"])
    assert row is not None and row.message == "first time"
    assert recorded(row.id) == {}


def test_a_known_testers_feedback_is_stored_when_its_flags_cannot_be_written(app, client, make_flag, caplog,
                                                                           monkeypatch) -> None:
    """A known address: the row goes first, then its flags (on PostgreSQL each statement commits by itself).
    The database refusing the flags' statement answers 201 with the row stored and a log line, and the
    tester's next note records its flags again."""
    from sqlalchemy.exc import OperationalError

    from nous.feedback.service import intake

    feedback_log = logging.getLogger("nous.feedback")
    monkeypatch.setattr(feedback_log, "handlers", [*feedback_log.handlers, caplog.handler])
    make_flag(email_flag())
    db.session.commit()
    first = client.post(API, json={"rating": 4, "message": "first", "category": "idea", "email": "ada@example.com"})
    assert first.status_code == 201
    real = intake._insert_flags

    def refused(conn, rows) -> None:
        raise OperationalError("INSERT INTO feedback_flags", {}, Exception("the database refuses the statement"))

    monkeypatch.setattr(intake, "_insert_flags", refused)
    resp = client.post(API, json={"rating": 2, "message": "second", "category": "bug", "email": "ada@example.com"})
    assert resp.status_code == 201
    row, before = feedback.get(resp.get_json()["id"]), feedback.get(first.get_json()["id"])
    assert row is not None and row.message == "second" and row.tester_id == before.tester_id
    assert recorded(row.id) == {}
    assert "could not be written" in caplog.text
    monkeypatch.setattr(intake, "_insert_flags", real)
    third = client.post(API, json={"rating": 5, "message": "third", "category": "praise", "email": "ada@example.com"})
    assert recorded(third.get_json()["id"]) == {"new-calendar": ("production", True, None)}
    assert db.session.scalar(select(func.count()).select_from(Feedback)) == 3  # stored once each


def test_an_unknown_tester_id_with_an_address_records_the_flags_once_for_the_new_tester(app, client, make_flag,
                                                                                       caplog, monkeypatch) -> None:
    """An id the server does not know, sent with an address: a new tester is made for the address and the
    flags are recorded once, for that tester (not first for the unknown id and again: a duplicate key)."""
    import logging

    feedback_log = logging.getLogger("nous.feedback")  # (the nous loggers do not propagate to caplog's)
    monkeypatch.setattr(feedback_log, "handlers", [*feedback_log.handlers, caplog.handler])
    make_flag(email_flag())
    resp = client.post(API, json={"rating": 4, "message": "hello", "category": "idea", "email": "ada@example.com",
                                  "tester_id": "0b7e3c1a-0000-4000-8000-000000000002"})
    assert resp.status_code == 201
    made = feedback.get(resp.get_json()["id"]).tester_id
    assert made is not None and str(made) != "0b7e3c1a-0000-4000-8000-000000000002"
    assert recorded(resp.get_json()["id"]) == {"new-calendar": ("production", True, None)}
    assert "could not be written" not in caplog.text
