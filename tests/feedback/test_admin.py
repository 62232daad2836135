"""The triage console at /admin/beta/feedback: list, detail, status, tags, reply, export, charts, the dashboard
panel (its filters and keyset pages: test_service_queries.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.feedback import service as feedback
from nous.feedback.models import Feedback
from nous.testers import service as testers
from tests.feedback.helpers import ids as _ids
from tests.feedback.helpers import make as _make
from tests.feedback.helpers import outbox

BASE = "/admin/beta/feedback"
HX = {"HX-Request": "true"}


@pytest.mark.parametrize("path", [BASE, BASE + "/1", BASE + "/export.csv", BASE + "/charts.json",
                                  BASE + "/panel/latest"])
def test_console_needs_the_admin(client, path: str) -> None:
    resp = client.get(path)
    assert resp.status_code == 302 and "/admin/login" in resp.headers["Location"]


def test_list_page_and_fragment(app, admin_client) -> None:
    _make(app, 3)
    page = admin_client.get(BASE)
    assert page.status_code == 200 and b"<html" in page.data and b"feedback-charts" in page.data
    assert _ids(page.data) == sorted(_ids(page.data), reverse=True) and len(_ids(page.data)) == 3
    frag = admin_client.get(BASE + "?rating=3", headers=HX)
    assert b"<html" not in frag.data and len(_ids(frag.data)) == 3


def test_detail_and_status_changes_are_audited(app, admin_client) -> None:
    [fid] = _make(app, 1, email="ada@example.com", page_url="https://app.nous.example/x", user_agent="UA/1")
    page = admin_client.get(f"{BASE}/{fid}")
    assert page.status_code == 200 and b"message 0" in page.data and b"UA/1" in page.data
    assert admin_client.get(f"{BASE}/999999").status_code == 404
    row = admin_client.post(f"{BASE}/{fid}/status", data={"status": "triaged", "view": "row"}, headers=HX)
    assert row.status_code == 200 and row.data.lstrip().startswith(b"<tr")
    assert b'value="triaged" selected' in row.data
    form = admin_client.post(f"{BASE}/{fid}/status", data={"status": "planned"}, headers=HX)
    assert b"Saved: planned" in form.data
    plain = admin_client.post(f"{BASE}/{fid}/status", data={"status": "resolved"})
    assert plain.status_code == 303
    assert admin_client.post(f"{BASE}/{fid}/status", data={"status": "closed"}, headers=HX).status_code == 422
    with app.app_context():
        assert feedback.get(fid).status == "resolved"
        events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.status")
                                         .order_by(AuditEvent.id)))
        assert {(e.target, e.actor) for e in events} == {(f"feedback:{fid}", "admin@nous.test")}
        assert [(e.before["status"], e.after["status"]) for e in events] == [
            ("new", "triaged"), ("triaged", "planned"), ("planned", "resolved")]
    assert b"Set the status of feedback #" in admin_client.get(f"{BASE}/{fid}").data  # history, in words


def test_bulk_status(app, admin_client) -> None:
    ids = _make(app, 4)
    resp = admin_client.post(f"{BASE}/bulk", data={"ids": [str(i) for i in ids[:3]], "bulk_status": "spam"}, headers=HX)
    trigger = json.loads(resp.headers["HX-Trigger"])
    assert trigger["feedback-changed"] is True and "3 marked spam" in trigger["toast"]["message"]
    with app.app_context():
        assert [feedback.get(i).status for i in ids] == ["spam", "spam", "spam", "new"]
    none = admin_client.post(f"{BASE}/bulk", data={"bulk_status": "spam"}, headers=HX)
    assert json.loads(none.headers["HX-Trigger"])["toast"]["kind"] == "error"
    bad = admin_client.post(f"{BASE}/bulk", data={"ids": [str(ids[3])], "bulk_status": "gone"}, headers=HX)
    assert json.loads(bad.headers["HX-Trigger"])["toast"]["kind"] == "error"


def test_tags_are_normalised_limited_and_filterable(app, admin_client) -> None:
    [fid] = _make(app, 1)
    resp = admin_client.post(f"{BASE}/{fid}/tags", data={"tags": " Sync , iOS,sync,  dark   mode ,,"}, headers=HX)
    assert resp.status_code == 200
    with app.app_context():
        assert feedback.tags_for([fid])[fid] == ["dark mode", "ios", "sync"]
    too_many = ",".join(f"t{i}" for i in range(25))
    resp = admin_client.post(f"{BASE}/{fid}/tags", data={"tags": too_many}, headers=HX)
    assert b"at most 20 tags" in resp.data and b'aria-invalid="true"' in resp.data
    with app.app_context():
        assert feedback.tags_for([fid])[fid] == ["dark mode", "ios", "sync"]
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "feedback.tags"))
        assert event.after == {"tags": ["dark mode", "ios", "sync"]}
    assert _ids(admin_client.get(f"{BASE}?tag=dark%20mode", headers=HX).data) == [fid]


def test_reply_goes_to_the_outbox_and_is_listed(app, admin_client) -> None:
    [fid] = _make(app, 1, email="ada@example.com", feature="calendar", message="Crash when saving")
    resp = admin_client.post(f"{BASE}/{fid}/reply", data={"reply": "Thanks, fixed in 0.9.4!"}, headers=HX)
    assert resp.status_code == 200 and b"Thanks, fixed in 0.9.4!" in resp.data
    [mail] = [m for m in outbox(app) if m.template == "feedback_reply"]
    assert mail.to_addr == "ada@example.com"
    assert "Thanks, fixed in 0.9.4!" in mail.text_body and "Crash when saving" in mail.text_body
    with app.app_context():
        [reply] = feedback.replies(fid)
        assert (reply.to_email, reply.sent_by, reply.email_id) == ("ada@example.com", "admin@nous.test", mail.id)


def test_reply_to_a_tester_without_email_on_the_feedback(app, admin_client) -> None:
    with app.app_context():
        uid = testers.add("bruno@example.org", actor="setup").id
    [fid] = _make(app, 1, tester_id=uid)
    with app.app_context():
        assert feedback.reply_address(feedback.get(fid)) == "bruno@example.org"


def test_reply_refused_when_there_is_no_one_to_answer(app, admin_client) -> None:
    [fid] = _make(app, 1)
    page = admin_client.get(f"{BASE}/{fid}")
    assert b"no one to reply to" in page.data
    resp = admin_client.post(f"{BASE}/{fid}/reply", data={"reply": "hello?"}, headers=HX)
    assert json.loads(resp.headers["HX-Trigger"])["toast"]["kind"] == "error"
    empty = admin_client.post(f"{BASE}/{fid}/reply", data={"reply": "   "}, headers=HX)
    assert json.loads(empty.headers["HX-Trigger"])["toast"]["kind"] == "error"
    with app.app_context():
        assert feedback.replies(fid) == []


def test_export_streams_the_current_filter_formula_safe(app, admin_client) -> None:
    payloads = ["=HYPERLINK(\"http://evil.example\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "plain text"]
    ids = _make(app, len(payloads), message=lambda i: payloads[i], rating=2)
    _make(app, 2, rating=5, message="five stars")
    with app.app_context():
        feedback.set_tags(ids[0], "=cmd, ok", actor="admin")
    resp = admin_client.get(f"{BASE}/export.csv?rating=2")
    assert resp.status_code == 200 and resp.is_streamed and resp.mimetype == "text/csv"
    assert "attachment" in resp.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(resp.get_data(as_text=True), newline="")))
    assert len(rows) == len(payloads)  # only the filtered rows
    by_id = {int(r["id"]): r for r in rows}
    for fid, text in zip(ids, payloads, strict=True):
        cell = by_id[fid]["message"]
        assert cell == ("'" + text if text[0] in "=+-@\t\r" else text)
    assert by_id[ids[0]]["tags"] == "'=cmd, ok"


def test_charts_and_panel(app, admin_client, monkeypatch) -> None:
    from nous.feedback.service import figures

    now = datetime.now(UTC)
    monkeypatch.setattr(figures, "utcnow", lambda: now)  # the chart's last day is the rows' day
    _make(app, 1, rating=5, feature="calendar", created_at=now)
    _make(app, 1, rating=3, feature="calendar", created_at=now)
    data = admin_client.get(f"{BASE}/charts.json?days=30").get_json()
    assert len(data["days"]) == len(data["count"]) == len(data["average"]) == 30
    assert data["count"][-1] == 2 and data["average"][-1] == 4.0
    assert data["features"] == [{"feature": "calendar", "count": 2, "average": 4.0}]
    assert data["ratings"] == [0, 0, 1, 0, 1]
    assert admin_client.get(f"{BASE}/charts.json?days=abc").status_code == 400
    frag = admin_client.get(f"{BASE}/panel/latest", headers=HX)
    assert b"<html" not in frag.data and frag.data.count(b"<li>") == 2
    assert b"<html" in admin_client.get(f"{BASE}/panel/latest").data


def _figures(html: bytes) -> dict[str, str]:
    """The header's figures as the page (or its fragment) shows them: label → value."""
    return dict(re.findall(r'stat-label">([^<]+)</div><div class="stat-value">([^<]+)<', html.decode()))


def test_the_header_figures_follow_every_change_at_once(app, admin_client) -> None:
    """Counted for every page that asks (a small table): a new feedback, a status change (another process
    has no way to clear this one's figures) and spam show in the header the next time it asks."""
    now = datetime.now(UTC)
    first, _ = _make(app, 2, rating=4, created_at=now)
    page = admin_client.get(BASE)
    assert _figures(page.data) == {"Feedback": "2", "Average rating": "4.0", "Waiting for triage": "2",
                                   "Last 30 days": "2"}
    assert b"feedback-changed from:body" in page.data and b"load delay" not in page.data  # asks on changes only
    _make(app, 1, rating=1, created_at=now, status="triaged")
    with app.app_context():  # as another process would: nothing here is told
        db.session.execute(Feedback.__table__.update().where(Feedback.id == first).values(status="spam"))
        db.session.commit()
    frag = admin_client.get(f"{BASE}/figures", headers=HX)
    assert b"<html" not in frag.data and b'id="feedback-figures"' not in frag.data  # the listener's content
    assert _figures(frag.data) == {"Feedback": "2", "Average rating": "2.5", "Waiting for triage": "1",
                                   "Last 30 days": "2"}
    whole = admin_client.get(f"{BASE}/figures")
    assert b"<title>Feedback figures" in whole.data and _figures(whole.data)["Feedback"] == "2"


def test_a_large_tables_header_answers_at_once_and_counts_again_in_the_background(
        app, admin_client, monkeypatch) -> None:
    """As if counting took long (a million rows): every page gets the figures any process counted last, at
    once, and asks again later; a status change makes them old, and one thread counts them again."""
    from nous.feedback.service import figures

    monkeypatch.setattr(figures, "HEADER_INLINE_SECONDS", 0)
    monkeypatch.setattr(figures, "HEADER_REUSE_SECONDS", 30)
    monkeypatch.setattr(figures, "HEADER_REUSE_FACTOR", 0)
    _make(app, 1, rating=5, created_at=datetime.now(UTC))
    first = admin_client.get(f"{BASE}/figures", headers=HX)  # the first look counts while the page waits
    assert _figures(first.data)["Feedback"] == "1" and b"load delay" not in first.data
    _make(app, 1, rating=1, created_at=datetime.now(UTC))
    frag = admin_client.get(f"{BASE}/figures", headers=HX)
    assert _figures(frag.data)["Feedback"] == "1"  # the kept figures, at once
    assert b"load delay:30000ms" in frag.data  # ... and the page asks again once they are due
    with app.app_context():
        feedback.invalidate()  # what a status change does, in any process
    deadline = time.monotonic() + 10
    while _figures(admin_client.get(f"{BASE}/figures", headers=HX).data)["Feedback"] != "2":
        assert time.monotonic() < deadline, "the figures were never counted again"
        time.sleep(0.05)


def test_a_new_feedback_makes_a_large_tables_figures_old_in_every_process(app, admin_client, client, unlimited,
                                                                           monkeypatch) -> None:
    from nous.feedback.service import figures

    monkeypatch.setattr(figures, "HEADER_INLINE_SECONDS", 0)
    monkeypatch.setattr(figures, "HEADER_REUSE_SECONDS", 30)
    monkeypatch.setattr(figures, "HEADER_REUSE_FACTOR", 0)
    assert _figures(admin_client.get(f"{BASE}/figures", headers=HX).data)["Feedback"] == "0"
    sent = client.post("/api/feedback", json={"rating": 2, "message": "The header should count me", "category": "bug"})
    assert sent.status_code == 201
    assert b"load delay:500ms" in admin_client.get(f"{BASE}/figures", headers=HX).data  # counted again, looks soon
    deadline = time.monotonic() + 10
    while _figures(admin_client.get(f"{BASE}/figures", headers=HX).data)["Feedback"] != "1":
        assert time.monotonic() < deadline, "the new feedback was never counted"
        time.sleep(0.05)


def test_a_large_tables_header_does_not_count_again_at_every_look_while_counting_fails(
        app, admin_client, monkeypatch) -> None:
    from nous.feedback.service import figures

    monkeypatch.setattr(figures, "HEADER_INLINE_SECONDS", 0)
    monkeypatch.setattr(figures, "HEADER_REUSE_SECONDS", 0.01)
    monkeypatch.setattr(figures, "HEADER_REUSE_FACTOR", 0)
    _make(app, 1, rating=5, created_at=datetime.now(UTC))
    admin_client.get(f"{BASE}/figures", headers=HX)
    tried = []

    def database_away() -> dict:
        tried.append(1)
        raise figures.SQLAlchemyError("the database is away")

    monkeypatch.setattr(figures, "_compute_header", database_away)
    for _ in range(5):
        time.sleep(0.05)
        frag = admin_client.get(f"{BASE}/figures", headers=HX)
        assert frag.status_code == 200 and _figures(frag.data)["Feedback"] == "1"  # the last figures
    deadline = time.monotonic() + 5
    while not tried and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(tried) == 1  # one try; the next waits for the lock to expire (5 s)


@pytest.mark.parametrize("kept", [
    b"not json", b"[]", b"null", b'{"value": 7, "at": 0, "took": 9, "generation": 0}',
    b'{"value": {"total": 5}, "at": 0, "took": 9, "generation": 0}',  # another version's shape
    b'{"value": {"total": 5, "waiting": 1, "last_30_days": {"total": 5}}, "at": 0, "took": "9", "generation": 0}',
    b'{"value": {"total": 5, "waiting": 1, "last_30_days": {"total": 5}}, "at": 0, "took": NaN, "generation": 0}',
])
def test_figures_kept_in_another_shape_are_counted_again_and_written_over(app, admin_client, redis_conn,
                                                                          kept: bytes) -> None:
    """Figures in Redis that are damaged, or written by another version, are not read: the header is
    counted (not a 500 for as long as they are kept) and what it keeps is in this version's shape."""
    from nous.feedback.service import figures

    _make(app, 2, rating=4, created_at=datetime.now(UTC))
    redis_conn.set(figures.HEADER_KEY, kept, ex=60)
    frag = admin_client.get(f"{BASE}/figures", headers=HX)
    assert frag.status_code == 200 and _figures(frag.data)["Feedback"] == "2"
    assert figures._kept_entry(redis_conn.get(figures.HEADER_KEY))["value"]["total"] == 2


def test_a_damaged_generation_is_removed_so_new_feedback_makes_the_figures_old_again(app, admin_client, redis_conn,
                                                                                   monkeypatch) -> None:
    from nous.feedback.service import figures

    monkeypatch.setattr(figures, "HEADER_INLINE_SECONDS", 0)
    monkeypatch.setattr(figures, "HEADER_REUSE_SECONDS", 30)
    monkeypatch.setattr(figures, "HEADER_REUSE_FACTOR", 0)
    redis_conn.set(figures.HEADER_GENERATION_KEY, b"damaged")
    assert admin_client.get(f"{BASE}/figures", headers=HX).status_code == 200
    assert redis_conn.get(figures.HEADER_GENERATION_KEY) is None
    _make(app, 1, rating=5, created_at=datetime.now(UTC))
    with app.app_context():
        feedback.invalidate()  # counts the generation up again (INCR failed on the damaged value)
    assert redis_conn.get(figures.HEADER_GENERATION_KEY) == b"1"


def test_dashboard_links_the_latest_feedback_panel(admin_client) -> None:
    page = admin_client.get("/admin/beta/")
    assert page.status_code == 200 and b"/admin/beta/feedback/panel/latest" in page.data


@pytest.mark.parametrize("query", [
    "q=%00", "q=" + "x" * 5000, "email=a%00b", "feature=%00%ff", "tag=%00", "tester=not-a-uuid", "since=2026-02-30",
    "until=99999-01-01", "rating=%F0%9F%92%A5", "q=%E2%80%AE%27--", "status=%00", "before=%00", "after=1_%00",
])
def test_hostile_query_strings_never_fail(app, admin_client, query: str) -> None:
    _make(app, 2)
    for path in (BASE, "/admin/beta/users", f"{BASE}/export.csv"):
        resp = admin_client.get(f"{path}?{query}")
        assert resp.status_code == 200, (path, query)
        resp.get_data()  # the streamed export runs its queries while it is read
    assert admin_client.get(f"/admin/beta/users?{query.replace('before', 'after')}").status_code == 200
