"""Figures (nous/feedback/service/figures.py), through GET /api/feedback/stats: spam never counts, the
figures are cached and refreshed in the background."""

from __future__ import annotations

from nous.feedback import service as feedback
from nous.feedback.service import figures
from tests.feedback.helpers import GOOD

API = "/api/feedback"


def test_stats_figures_exclude_spam_and_are_cached(app, client, unlimited) -> None:
    for rating, feature in [(5, "calendar"), (4, "calendar"), (1, "voice"), (3, None)]:
        client.post(API, json={**GOOD, "rating": rating, "feature": feature})
    with app.app_context():
        spam_id = feedback.submit({**GOOD, "rating": 1, "message": "buy now"}).id
        feedback.set_status(spam_id, "spam", actor="admin")
    resp = client.get(API + "/stats")
    assert resp.status_code == 200 and "max-age" in resp.headers["Cache-Control"]
    stats = resp.get_json()
    assert stats["total"] == 4 and stats["average_rating"] == 3.25
    assert stats["distribution"] == {"1": 1, "2": 0, "3": 1, "4": 1, "5": 1}
    assert stats["per_feature"][0] == {"feature": "calendar", "count": 2, "average_rating": 4.5}
    assert {p["feature"] for p in stats["per_feature"]} == {"calendar", "voice", None}
    assert stats["last_30_days"]["total"] == 4 and len(stats["last_30_days"]["daily"]) == 30
    # today's, or yesterday's and today's when the test runs across midnight UTC
    assert sum(day["count"] for day in stats["last_30_days"]["daily"][-2:]) == 4
    client.post(API, json=GOOD)
    assert client.get(API + "/stats").get_json()["total"] == 4  # still the cached figures
    with app.app_context():
        from nous.extensions import cache

        cache.delete(feedback.STATS_KEY)
    assert client.get(API + "/stats").get_json()["total"] == 5


def test_old_stats_are_served_while_new_ones_are_computed_in_the_background(app, client) -> None:
    import time

    from nous.extensions import cache

    with app.app_context():
        old = {**feedback.compute_stats(), "total": 12345}
        cache.set(feedback.STATS_KEY, (time.monotonic() - 3600, old), timeout=600)
    with figures._computing:  # a refresh is already running: served at once, no second one started
        assert client.get(API + "/stats").get_json()["total"] == 12345
    assert client.get(API + "/stats").get_json()["total"] == 12345  # still the old ones: no waiting
    deadline = time.monotonic() + 10
    while client.get(API + "/stats").get_json()["total"] != 0:  # the background refresh lands
        assert time.monotonic() < deadline, "the statistics were never refreshed"
        time.sleep(0.05)
    while figures._computing.locked() and time.monotonic() < deadline:  # the thread stores, then lets go
        time.sleep(0.01)
    assert not figures._computing.locked()


def test_stats_of_an_empty_table(app, client) -> None:
    stats = client.get(API + "/stats").get_json()
    assert (stats["total"], stats["average_rating"], stats["per_feature"]) == (0, None, [])
