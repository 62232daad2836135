"""Triage (nous/feedback/service/triage.py): each change gives the feedback a new version, and a change
decided on an older version than the stored one is refused with what changed since."""

from __future__ import annotations

import pytest

from nous.feedback import service as feedback
from tests.feedback.helpers import current, make


def test_each_change_gives_a_new_version_and_the_seen_one_is_checked(ctx, row_id) -> None:
    seen = feedback.version_of(current(row_id))
    feedback.set_status(row_id, "triaged", actor="other", expected_version=seen)
    after_status = feedback.version_of(current(row_id))
    assert after_status != seen
    feedback.set_tags(row_id, "sync", actor="other", expected_version=after_status)
    assert feedback.version_of(current(row_id)) != after_status
    with pytest.raises(feedback.FeedbackConflict) as caught:
        feedback.set_status(row_id, "spam", actor="me", expected_version=seen)
    assert caught.value.status == 409 and caught.value.current.status == "triaged"
    assert [(e.action, e.after) for e in caught.value.changes] == [
        ("feedback.status", {"status": "triaged"}), ("feedback.tags", {"tags": ["sync"]})]
    with pytest.raises(feedback.FeedbackConflict):
        feedback.set_tags(row_id, "ios", actor="me", expected_version=seen)
    assert current(row_id).status == "triaged" and feedback.tags_for([row_id])[row_id] == ["sync"]


def test_asking_for_what_is_already_there_succeeds_on_any_version(ctx, row_id) -> None:
    seen = feedback.version_of(current(row_id))
    feedback.set_status(row_id, "planned", actor="other")
    assert feedback.set_status(row_id, "planned", actor="me", expected_version=seen).status == "planned"


def test_a_bulk_change_is_refused_only_for_rows_it_would_change(app, ctx) -> None:
    a, b = make(app, 2)
    seen = {i: feedback.version_of(current(i)) for i in (a, b)}
    feedback.set_status(b, "triaged", actor="other")  # b moves on after the list was drawn
    with pytest.raises(feedback.BulkConflict) as caught:
        feedback.bulk_status([a, b], "planned", actor="me", seen=seen)
    assert [r.id for r in caught.value.rows] == [b]
    assert feedback.bulk_status([a, b], "triaged", actor="me", seen=seen) == 1  # b already is: nothing to refuse
    assert [current(i).status for i in (a, b)] == ["triaged", "triaged"]
    seen = {i: feedback.version_of(current(i)) for i in (a, b)}
    feedback.set_tags(a, "sync", actor="other")
    with pytest.raises(feedback.BulkConflict):
        feedback.bulk_tags([a, b], ["ios"], [], actor="me", seen=seen)
    assert feedback.bulk_tags([a, b], ["sync"], [], actor="me", seen=seen) == 1  # a has it already
    assert feedback.tags_for([a, b]) == {a: ["sync"], b: ["sync"]}
