"""What the feedback service tells the rest of the app (nous/feedback/service/announce.py), after the commit:
`feedback.updated`, which live publishes on topic `feedback` (read back from its replay buffer in Redis), and
`feedback.created` for the workflows."""

from __future__ import annotations

import json
from typing import Any

import nous.live
from nous.feedback import service as feedback
from nous.live.events import replay
from tests.feedback.helpers import GOOD

API = "/api/feedback"
BASE = "/admin/beta/feedback"


def _events(redis_conn: Any) -> list[dict[str, Any]]:
    """The `feedback` events kept in Redis, oldest first, as a live viewer receives them."""
    frames = [json.loads(text) for _, text in replay(redis_conn, ("feedback",))]
    assert all(f["type"] == "event" and f["topic"] == "feedback" for f in frames)
    return [f["data"] for f in frames]


def test_new_feedback_is_published_for_live_viewers(app, client, redis_conn, unlimited) -> None:
    long_message = "Line one\nline two " + "x" * 300
    first = client.post(API, json={**GOOD, "feature": "calendar"}).get_json()["id"]
    second = client.post(API, json={"rating": 2, "message": long_message, "category": "bug"}).get_json()["id"]

    events = _events(redis_conn)
    assert [e["id"] for e in events] == [first, second]
    assert events[0] == {"id": first, "action": "created", "rating": 4, "category": "praise",
                         "feature": "calendar", "status": "new", "excerpt": GOOD["message"],
                         "at": events[0]["at"], "version": events[0]["version"]}
    assert events[0]["at"].endswith("+00:00")
    assert events[1]["feature"] is None and events[1]["action"] == "created"
    assert len(events[1]["excerpt"]) == 140 and events[1]["excerpt"].endswith("\u2026")
    assert events[1]["excerpt"].startswith("Line one line two xxx")  # one line for the panel


def test_a_bot_submission_publishes_nothing(app, client, redis_conn, unlimited) -> None:
    assert client.post(API, json={**GOOD, "website": "http://spam.example"}).status_code == 201
    assert _events(redis_conn) == []


def test_status_changes_are_published(app, client, admin_client, redis_conn, unlimited) -> None:
    ids = [client.post(API, json={**GOOD, "message": f"note {i}"}).get_json()["id"] for i in range(3)]
    assert admin_client.post(f"{BASE}/{ids[0]}/status", data={"status": "triaged"}).status_code in (200, 303)
    assert admin_client.post(f"{BASE}/bulk", data={"ids": [str(i) for i in ids[1:]], "bulk_status": "spam"},
                             headers={"HX-Request": "true"}).status_code == 200
    # Setting the same status again changes nothing and tells no one.
    admin_client.post(f"{BASE}/{ids[0]}/status", data={"status": "triaged"})

    updates = [e for e in _events(redis_conn) if e["action"] == "updated"]
    assert [(e["id"], e["status"]) for e in updates] == [(ids[0], "triaged"), (ids[1], "spam"), (ids[2], "spam")]
    assert updates[0]["excerpt"] == "note 0" and updates[0]["rating"] == 4


def test_a_failed_publish_never_loses_the_feedback(app, client, unlimited, monkeypatch) -> None:
    """Even a publisher that raises (it is written never to) leaves a stored 201."""
    def broken(topic: str, event: dict[str, Any]) -> None:
        raise RuntimeError("live publishing broke")

    monkeypatch.setattr(nous.live, "publish", broken)  # what live's feedback.updated listener calls
    resp = client.post(API, json=GOOD)
    assert resp.status_code == 201
    with app.app_context():
        assert feedback.get(resp.get_json()["id"]) is not None


def test_feedback_created_signal_and_a_failing_listener(app, client) -> None:
    seen: list[dict] = []

    def listener(sender, feedback):
        seen.append(feedback)

    def broken(sender, feedback):
        raise RuntimeError("listener bug")

    feedback.feedback_created.connect(broken)  # whichever runs first, the other still runs
    feedback.feedback_created.connect(listener)
    try:
        resp = client.post(API, json=GOOD)
    finally:
        feedback.feedback_created.disconnect(listener)
        feedback.feedback_created.disconnect(broken)
    assert resp.status_code == 201
    assert [s["id"] for s in seen] == [resp.get_json()["id"]] and seen[0]["message"] == GOOD["message"]
