"""Searching and paging testers."""

from __future__ import annotations

from nous.testers import service as testers
from tests.feedback.helpers import make


def test_search_filters_and_pages_by_email(ctx) -> None:
    for name in ["ada", "bruno", "chen", "dara", "elif"]:
        testers.add(f"{name}@example.com", actor="a", notes="ios" if name in {"bruno", "dara"} else "")
    testers.set_active(testers.get_by_email("chen@example.com").id, False, actor="a")
    assert [u.email for u in testers.search("IOS").users] == ["bruno@example.com", "dara@example.com"]
    assert [u.email for u in testers.search(state="inactive").users] == ["chen@example.com"]
    first = testers.search(limit=2)
    assert ([u.email for u in first.users], first.next_after, first.total) == (
        ["ada@example.com", "bruno@example.com"], "bruno@example.com", 5)
    second = testers.search(limit=2, after=first.next_after)
    assert [u.email for u in second.users] == ["chen@example.com", "dara@example.com"]
    assert testers.search(limit=2, after="dara@example.com").next_after is None
    assert testers.search(q="100%_").users == []  # LIKE wildcards are literal


def test_feedback_counts_and_the_latest_feedback_come_from_the_feedback_table(app, ctx) -> None:
    ada = testers.add("ada@example.com", actor="a")
    bruno = testers.add("bruno@example.com", actor="a")
    quiet = testers.add("quiet@example.com", actor="a")
    ada_ids = make(app, 12, tester_id=ada.id, message=lambda i: f"ada {i}")
    make(app, 2, tester_id=bruno.id, status="spam")
    make(app, 1)  # from no tester
    assert testers.feedback_counts([ada.id, bruno.id, quiet.id]) == {ada.id: 12, bruno.id: 2}
    assert testers.feedback_counts([]) == {}
    recent = testers.recent_feedback(ada.id, limit=10)
    assert [r.id for r in recent] == ada_ids[::-1][:10]  # newest first
    assert (recent[0].rating, recent[0].message, recent[0].created_at is not None) == (3, "ada 11", True)
    assert len(testers.recent_feedback(bruno.id)) == 2  # spam too: the page links to everything
    assert testers.recent_feedback(quiet.id) == []
