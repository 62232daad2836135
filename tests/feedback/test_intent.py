"""Feedback status and tags carry the version the page showed: a change decided on an older state answers
409 with the feedback as it is now and what changed; every change names the feedback for the live view."""

from __future__ import annotations

import json

import pytest

from nous.feedback import service as feedback
from tests.feedback.helpers import GOOD, current

BASE = "/admin/beta/feedback"
HX = {"HX-Request": "true"}


@pytest.mark.parametrize("version", ["abc", "-1", "1" * 21, "１２"])
def test_a_version_that_is_not_one_is_refused(admin_client, ctx, row_id, version) -> None:
    resp = admin_client.post(f"{BASE}/{row_id}/status", data={"status": "spam", "version": version}, headers=HX)
    assert resp.status_code == 422 and current(row_id).status == "new"


def test_the_status_route_answers_409_with_the_current_state(admin_client, ctx, row_id) -> None:
    seen = feedback.version_of(current(row_id))
    feedback.set_status(row_id, "spam", actor="tab-a@nous.test")
    resp = admin_client.post(f"{BASE}/{row_id}/status", data={"status": "resolved", "version": seen}, headers=HX)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed since you opened it" in html and "Status set to spam by tab-a@nous.test" in html
    assert 'value="spam" checked' in html and f'value="{feedback.version_of(current(row_id))}"' in html
    events = json.loads(resp.headers["HX-Trigger-After-Swap"])
    assert events[f"feedback-{row_id}-changed"] == {"version": feedback.version_of(current(row_id))}
    row = admin_client.post(f"{BASE}/{row_id}/status", data={"status": "resolved", "version": seen, "view": "row"},
                            headers=HX)
    assert row.status_code == 409 and 'value="spam" selected' in row.get_data(as_text=True)
    page = admin_client.post(f"{BASE}/{row_id}/status", data={"status": "resolved", "version": seen})
    assert page.status_code == 409 and "Status set to spam" in page.get_data(as_text=True)
    assert current(row_id).status == "spam"


def test_the_tags_route_answers_409_with_the_current_tags(admin_client, ctx, row_id) -> None:
    seen = feedback.version_of(current(row_id))
    feedback.set_tags(row_id, "android", actor="cli")
    resp = admin_client.post(f"{BASE}/{row_id}/tags", data={"tags": "ios", "version": seen}, headers=HX)
    assert resp.status_code == 409 and "Tags set to android by cli" in resp.get_data(as_text=True)
    assert feedback.tags_for([row_id])[row_id] == ["android"]


def test_a_saved_status_names_the_feedback_for_every_view(admin_client, ctx, row_id, redis_conn) -> None:
    from nous.live.events import replay

    seen = feedback.version_of(current(row_id))
    resp = admin_client.post(f"{BASE}/{row_id}/status", data={"status": "triaged", "version": seen}, headers=HX)
    assert resp.status_code == 200
    version = feedback.version_of(current(row_id))
    assert json.loads(resp.headers["HX-Trigger-After-Swap"]) == {
        "feedback-changed": {"version": version}, f"feedback-{row_id}-changed": {"version": version}}
    admin_client.post(f"{BASE}/{row_id}/tags", data={"tags": "sync", "version": version}, headers=HX)
    events = [json.loads(text)["data"] for _, text in replay(redis_conn, ("feedback",))]
    assert [(e["action"], e["status"]) for e in events] == [("created", "new"), ("updated", "triaged"),
                                                            ("updated", "triaged")]
    assert events[1]["version"] == version and events[2]["version"] == feedback.version_of(current(row_id))


def test_a_bulk_change_on_a_stale_list_changes_nothing_and_names_the_changed_rows(admin_client, ctx) -> None:
    ids = [feedback.submit(GOOD).id for _ in range(3)]
    seen = {f"seen_{i}": feedback.version_of(current(i)) for i in ids}
    feedback.set_status(ids[1], "planned", actor="tab-a@nous.test")
    resp = admin_client.post(f"{BASE}/bulk", data={"ids": [str(i) for i in ids], "bulk_status": "spam", **seen},
                             headers=HX)
    assert resp.status_code == 409
    trigger = json.loads(resp.headers["HX-Trigger"])
    assert f"#{ids[1]} (now planned)" in trigger["toast"]["message"] and trigger["feedback-changed"] is True
    assert [current(i).status for i in ids] == ["new", "planned", "new"]
    # rows already in the status asked for never conflict; fresh versions go through
    fresh = {f"seen_{i}": feedback.version_of(current(i)) for i in ids}
    ok = admin_client.post(f"{BASE}/bulk", data={"ids": [str(i) for i in ids], "bulk_status": "spam", **fresh},
                           headers=HX)
    assert ok.status_code == 200 and [current(i).status for i in ids] == ["spam"] * 3


def test_a_reply_refreshes_what_shows_the_feedback_on_the_page(admin_client, ctx) -> None:
    row_id = feedback.submit({**GOOD, "email": "tester@example.com"}).id
    resp = admin_client.post(f"{BASE}/{row_id}/reply", data={"reply": "Thanks, fixed in 2.4"}, headers=HX)
    assert resp.status_code == 200
    assert json.loads(resp.headers["HX-Trigger-After-Swap"])[f"feedback-{row_id}-changed"] == {}
    refused = admin_client.post(f"{BASE}/{row_id}/reply", data={"reply": ""}, headers=HX)
    assert "HX-Trigger-After-Swap" not in refused.headers
