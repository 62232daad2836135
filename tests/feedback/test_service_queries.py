"""Queries (nous/feedback/service/queries.py), through the console's list: every filter, keyset pages both
ways with ties, and cursors that are not one."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from nous.feedback import service as feedback
from tests.feedback.helpers import T0
from tests.feedback.helpers import ids as _ids
from tests.feedback.helpers import make as _make

BASE = "/admin/beta/feedback"
HX = {"HX-Request": "true"}


def test_each_filter(app, admin_client) -> None:
    a = _make(app, 1, rating=1, category="bug", feature="calendar", email="ada@example.com", message="Crash on save")
    b = _make(app, 1, rating=5, category="praise", feature="voice", message="100% great_stuff",
              created_at=T0 + timedelta(days=3))
    c = _make(app, 1, rating=2, status="spam", message="buy now", created_at=T0 + timedelta(days=5))
    d = _make(app, 1, rating=4, status="resolved", message="fixed thing", created_at=T0 + timedelta(days=6))
    with app.app_context():
        feedback.set_tags(d[0], "sync, iOS", actor="admin")
    cases = {
        "": a + b + d,  # open: everything but spam
        "status=all": a + b + c + d,
        "status=spam": c,
        "status=resolved": d,
        "rating=1": a,
        "category=praise": b,
        "feature=calendar": a,
        "q=crash": a,
        "q=100%25": b,
        "q=great_": b,
        "q=%25": b,  # a literal percent sign, not a wildcard
        "tag=ios": d,
        "email=ADA@example.com": a,
        "since=2026-03-04&status=all": b + c + d,
        "until=2026-03-04": a + b,
        "since=2026-03-02&until=2026-03-04": b,
        "rating=9&category=nope&status=bogus&since=yesterday": a + b + d,  # nonsense is ignored
    }
    for query, expected in cases.items():
        got = _ids(admin_client.get(f"{BASE}?{query}", headers=HX).data)
        assert sorted(got) == sorted(expected), query


def test_keyset_pages_forwards_and_back_with_ties(app, admin_client) -> None:
    ids = _make(app, 120)
    _make(app, 5, created_at=T0 + timedelta(minutes=60))  # five rows with the same time as row 60: ties
    first = admin_client.get(BASE, headers=HX).data
    page1 = _ids(first)
    assert len(page1) == 50
    older = re.search(rb'before=([0-9_]+)', first).group(1).decode()
    second = admin_client.get(f"{BASE}?before={older}", headers=HX).data
    page2 = _ids(second)
    older2 = re.search(rb'before=([0-9_]+)', second).group(1).decode()
    page3 = _ids(admin_client.get(f"{BASE}?before={older2}", headers=HX).data)
    everything = page1 + page2 + page3
    assert len(everything) == 125 and len(set(everything)) == 125  # nothing twice, nothing lost
    assert set(ids) <= set(everything)
    newer = re.search(rb'after=([0-9_]+)', second).group(1).decode()
    assert _ids(admin_client.get(f"{BASE}?after={newer}", headers=HX).data) == page1
    assert b"after=" not in first  # the newest page has no newer link
    assert b"before=" not in admin_client.get(f"{BASE}?before={older2}", headers=HX).data


@pytest.mark.parametrize("cursor", ["x", "1_", "-5_3", "99999999999999999_1", "1_99999999999999999999", "'; --"])
def test_bad_cursors_never_fail(admin_client, cursor: str) -> None:
    assert admin_client.get(f"{BASE}?before={cursor}").status_code == 200
    assert admin_client.get(f"{BASE}?after={cursor}").status_code == 200
