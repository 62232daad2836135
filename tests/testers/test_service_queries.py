"""Searching and paging testers."""

from __future__ import annotations

from nous.testers import service as testers


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
