"""/api/admin/v1/flags/{key}/feedback-comparison and the feedback list's flag filters, against the real
service and database: the same figures as the console's card, and a problem naming the field for bad input."""

from __future__ import annotations

import math
import re
import statistics
from datetime import UTC, datetime, timedelta

import pytest

from nous.extensions import db
from tests.adminapi.conftest import Api, assert_problem
from tests.feedback.conftest import _fresh_flag_snapshot  # noqa: F401 - the autouse fixture, here too
from tests.feedback.helpers import OFF, ON, create_flag, email_flag

PATH = "flags/new-calendar/feedback-comparison"


@pytest.fixture
def sent(app, ctx, client) -> None:
    """Eleven feedback with the flag on (rated 4 and 5) and ten off (rated 3), through the public API."""
    from nous.settings import service as settings

    settings.set_value("feedback.rate_limit", "100000/minute", actor="test")
    create_flag(email_flag())
    db.session.commit()
    for i in range(11):
        assert client.post("/api/feedback", json={"rating": 4 + i % 2, "message": f"on {i}", "category": "idea",
                                                  "email": ON[i % 3]}).status_code == 201
    for i in range(10):
        assert client.post("/api/feedback", json={"rating": 3, "message": f"off {i}", "category": "bug",
                                                  "email": OFF[i % 2]}).status_code == 201


def _interval(ratings: list[int], t: float) -> list[float]:
    """The 95 % interval of the mean from statistics.mean/stdev and a critical value of Student's t."""
    mean, half = statistics.mean(ratings), t * statistics.stdev(ratings) / math.sqrt(len(ratings))
    return [max(1.0, mean - half), min(5.0, mean + half)]


def test_the_figures_and_the_reading(app, api: Api, sent) -> None:
    resp = api.get(PATH + "?environment=production&days=7")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    doc = resp.get_json()
    assert doc["on"]["count"] == 11 and doc["off"]["count"] == 10
    assert doc["on"]["average_rating"] == pytest.approx(49 / 11, abs=1e-3)
    assert doc["off"]["average_rating"] == 3 and doc["off"]["bug_share"] == 1 and doc["on"]["bug_share"] == 0
    # t(0.975, 10) = 2.228, from a printed table; the ten rated 3 have no spread: their interval is the point
    assert doc["on"]["ci95"] == pytest.approx(_interval([4 + i % 2 for i in range(11)], 2.228), abs=1e-3)
    assert doc["off"]["ci95"] == [3, 3] and doc["verdict"] == "higher"
    assert doc["reading"] == "Testers with the flag on rated it 1.5 higher (4.5 vs 3.0)."
    assert api.get(PATH).get_json()["environment"] == "production"  # the default environment when absent


def test_large_groups_have_the_interval_of_students_t(app, ctx, api: Api) -> None:
    """Past the printed table's 30 degrees of freedom: 41 and 121 feedback, against t(0.975, 40) = 2.021 and
    t(0.975, 120) = 1.980 (known values, not computed as the service does)."""
    from nous.feedback import service as feedback

    create_flag(email_flag())
    db.session.commit()
    on = [(3, 4, 5, 5, 4, 2)[i % 6] for i in range(41)]
    off = [(1, 2, 3, 4, 5, 3, 2)[i % 7] for i in range(121)]
    for ratings, emails in ((on, ON), (off, OFF)):
        for i, rating in enumerate(ratings):
            feedback.submit({"rating": rating, "message": f"note {i}", "category": "idea",
                             "email": emails[i % len(emails)]})
    doc = api.get(PATH + "?environment=production&days=7").get_json()
    assert (doc["on"]["count"], doc["off"]["count"]) == (41, 121)
    assert doc["on"]["average_rating"] == pytest.approx(statistics.mean(on), abs=1e-3)
    assert doc["on"]["stdev"] == pytest.approx(statistics.stdev(on), abs=1e-3)
    assert doc["on"]["ci95"] == pytest.approx(_interval(on, 2.021), abs=1e-3)
    assert doc["off"]["ci95"] == pytest.approx(_interval(off, 1.980), abs=1e-3)
    # the answer is rounded to 3 places; the critical values themselves, closer
    assert feedback.by_flag.t_critical(40) == pytest.approx(2.021, abs=6e-4)
    assert feedback.by_flag.t_critical(120) == pytest.approx(1.980, abs=6e-4)


def test_since_is_rfc3339_in_utc_to_the_millisecond(app, api: Api, sent) -> None:
    """`since` is written as the API writes every time (2026-11-06T14:00:00.123Z), not with an offset."""
    before = datetime.now(UTC)
    doc = api.get(PATH + "?environment=production&days=7").get_json()
    after = datetime.now(UTC)
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z", doc["since"]), doc["since"]
    since = datetime.strptime(doc["since"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    week = timedelta(days=7)
    assert before - week - timedelta(milliseconds=1) <= since <= after - week


def test_list_filters_by_flag_and_state(app, api: Api, sent) -> None:
    def messages(query: str) -> set[str]:
        resp = api.get(f"feedback?{query}")
        assert resp.status_code == 200, resp.get_data(as_text=True)
        return {item["message"].split()[0] for item in resp.get_json()["items"]}

    assert messages("flag=new-calendar&flag_state=on") == {"on"}
    assert messages("flag=new-calendar&flag_state=off&flag_env=production") == {"off"}
    assert messages("flag=new-calendar&variant=teal") == set()
    assert messages("flag=other-flag") == set()
    assert_problem(api.get("feedback?flag=new-calendar&flag_state=maybe"), 400, "flag_state")
    assert_problem(api.get("feedback?variant=teal"), 400, "flag")


@pytest.mark.parametrize(("query", "field", "message"), [
    ("flag_env=production", "flag", "is needed with flag_env"),
    ("flag_env=production&flag=", "flag", "is needed with flag_env"),
    ("flag_state=on&variant=teal", "flag", "is needed with flag_state and variant"),
    ("flag=new-calendar&flag_state=off&variant=teal", "variant",
     "means the flag was on: leave it out with flag_state=off"),
])
def test_list_flag_filters_that_cannot_go_together(app, api: Api, sent, query, field, message) -> None:
    for path in ("feedback", "feedback/export"):
        doc = assert_problem(api.get(f"{path}?{query}"), 400, field)
        assert doc["errors"] == {field: message}
    assert api.get("feedback?flag=new-calendar&flag_state=on&variant=teal").status_code == 200
    assert api.get("feedback?flag=new-calendar&flag_env=production&flag_state=off").status_code == 200


def test_tokens_are_needed(app, client, make_token, sent) -> None:
    assert_problem(Api(client, None).get(PATH), 401)
    assert_problem(Api(client, make_token("testers:read")).get(PATH), 403)
    assert Api(client, make_token("feedback:read")).get(PATH).status_code == 200


@pytest.mark.parametrize(("query", "status", "field"), [
    ("days=-1", 400, "days"), ("days=abc", 400, "days"), ("days=1.5", 400, "days"), ("days=0", 400, "days"),
    ("days=36500000000000000000000", 400, "days"), ("environment=moon", 400, "environment"),
    ("environment=%00%ff", 400, "environment"),
])
def test_bad_input_is_a_problem_naming_the_field(app, api: Api, query, status, field) -> None:
    with app.app_context():
        create_flag(email_flag())
        db.session.commit()
    doc = assert_problem(api.get(f"{PATH}?{query}"), status, field)
    if field == "days":
        assert doc["detail"] == "days must be a whole number of days from 1 to 3650."
        assert doc["errors"] == {"days": "must be a whole number from 1 to 3650"}
    if query == "environment=moon":
        assert "moon" in doc["detail"] and doc["errors"]["environment"].startswith("unknown environment; one of")
        assert "production" in doc["errors"]["environment"]


def test_a_setting_naming_a_missing_environment_is_a_problem_not_a_crash(app, api: Api, monkeypatch) -> None:
    from nous.settings import service as settings

    with app.app_context():
        create_flag(email_flag())
        # Stored before the setting's value was checked against the environments (set_value refuses it now).
        monkeypatch.delitem(settings._NAME_CHECKS, "flags.environment", raising=False)
        settings.set_value("flags.environment", "moon", actor="test")
        db.session.commit()
    doc = assert_problem(api.get(PATH), 400, "environment")
    assert "moon" in doc["detail"]
    assert api.get(PATH + "?environment=production").status_code == 200  # one named still answers


def test_an_unknown_flag_is_404(app, api: Api) -> None:
    assert_problem(api.get("flags/no-such-flag/feedback-comparison"), 404)
