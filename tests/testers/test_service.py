"""Testers service: addresses, import report, search, invites and joining."""

from __future__ import annotations

import uuid
from datetime import UTC

import pytest
from sqlalchemy import func, select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from nous.testers.models import BetaUser
from tests.feedback.helpers import outbox


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


@pytest.mark.parametrize("raw, expected", [
    ("Ada@Example.COM", "ada@example.com"),
    ("  bruno@example.org ", "bruno@example.org"),
    ("first.last+tag@mail.example.co.uk", "first.last+tag@mail.example.co.uk"),
    ("o'brien@example.ie", "o'brien@example.ie"),
])
def test_normalize_email_accepts_and_lowercases(raw: str, expected: str) -> None:
    assert testers.normalize_email(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "no-at-sign", "a@b", "a@@example.com", ".a@example.com", "a..b@example.com",
                                 "a b@example.com", "ada@exa mple.com", "ada@-example.com", "ädä@example.com",
                                 "x" * 65 + "@example.com", "<script>@example.com", None, 42])
def test_normalize_email_refuses(raw: object) -> None:
    with pytest.raises(testers.TesterError) as exc:
        testers.normalize_email(raw)
    assert exc.value.field == "email"


def test_add_is_unique_whatever_the_case_and_audited(ctx) -> None:
    user = testers.add("Ada@Example.com", actor="admin@nous.test", role="admin", notes="  met at a meetup ",
                       ip="10.0.0.1")
    assert (user.email, user.role, user.notes, user.is_active, user.invite_state) == (
        "ada@example.com", "ADMIN", "met at a meetup", True, "not invited")
    assert len(user.invite_code) >= 32 and user.invite_code.replace("-", "").replace("_", "").isalnum()
    with pytest.raises(testers.TesterError) as exc:
        testers.add("ADA@example.COM", actor="admin@nous.test")
    assert exc.value.status == 409
    [event] = _audit("testers.add")
    assert (event.actor, event.target, event.ip, event.after["role"]) == (
        "admin@nous.test", "ada@example.com", "10.0.0.1", "ADMIN")


def test_database_refuses_a_second_address_differing_only_in_case(ctx) -> None:
    """The unique index is on lower(email): it holds even for rows written around the service."""
    db.session.add(BetaUser(id=uuid.uuid4(), email="ada@example.com", flag_set={}))
    db.session.commit()
    db.session.add(BetaUser(id=uuid.uuid4(), email="ADA@EXAMPLE.COM", flag_set={}))
    with pytest.raises(Exception, match=r"(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_invite_codes_are_distinct_and_unguessable(ctx) -> None:
    codes = {testers.add(f"t{i}@example.com", actor="a").invite_code for i in range(30)}
    assert len(codes) == 30
    assert all(len(c) >= 32 for c in codes)


def test_bad_role_is_refused(ctx) -> None:
    with pytest.raises(testers.TesterError) as exc:
        testers.add("ada@example.com", actor="a", role="root")
    assert exc.value.field == "role"


IMPORT_CSV = """email,role,notes
ada@example.com,TESTER,from the meetup
bruno@example.org,,
not-an-address,,
ADA@example.com,,second time
,,
chen@example.net,wizard,
dara@example.com,admin,"notes, with a comma"
"""


def test_import_reports_every_row(ctx) -> None:
    testers.add("dara@example.com", actor="a")
    report = testers.import_text(IMPORT_CSV, actor="admin@nous.test", ip="1.2.3.4")
    got = [(r.line, r.email, r.result, r.reason) for r in report.rows]
    assert got == [
        (2, "ada@example.com", "added", ""),
        (3, "bruno@example.org", "added", ""),
        (4, "not-an-address", "skipped", "not a valid email address"),
        (5, "ada@example.com", "skipped", "duplicate of line 2"),
        (7, "chen@example.net", "skipped", "role must be one of TESTER, ADMIN, OWNER"),
        (8, "dara@example.com", "skipped", "already a tester"),
    ]
    assert (report.added, report.skipped) == (2, 4)
    assert testers.get_by_email("ada@example.com").notes == "from the meetup"
    assert {e.target for e in _audit("testers.add")} == {"dara@example.com", "ada@example.com", "bruno@example.org"}


@pytest.mark.parametrize("text, added", [
    ("ada@example.com\nbruno@example.org\n", 2),                      # one address per line, no header
    ("\ufeffE-mail;Role\nada@example.com;admin\n", 1),                # BOM, semicolons, "E-mail"
    ("email\tnotes\nada@example.com\tx\nbruno@example.org\ty\n", 2),  # tabs
    ("# testers for March\nada@example.com\n", 1),                    # comment lines
])
def test_import_reads_common_list_shapes(ctx, text: str, added: int) -> None:
    assert testers.import_text(text, actor="a").added == added


def test_import_refuses_a_huge_file_and_adds_nothing(ctx) -> None:
    text = "\n".join(f"user{i}@example.com" for i in range(testers.MAX_IMPORT_ROWS + 1))
    with pytest.raises(testers.TesterError, match="split the file"):
        testers.import_text(text, actor="a")
    assert db.session.scalar(select(func.count()).select_from(BetaUser)) == 0


def test_decode_upload_handles_excel_utf16_and_bom() -> None:
    assert testers.decode_upload("ada@example.com".encode("utf-16")) == "ada@example.com"
    assert testers.decode_upload(b"\xef\xbb\xbfada@example.com") == "ada@example.com"
    assert "\ufffd" in testers.decode_upload(b"ada\xff@example.com")


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


def test_update_set_active_remove_are_audited_with_before_and_after(ctx) -> None:
    user = testers.add("ada@example.com", actor="a")
    testers.update(user.id, role="OWNER", notes="lead", actor="admin@nous.test")
    testers.set_active(user.id, False, actor="admin@nous.test")
    testers.set_active(user.id, True, actor="admin@nous.test")
    testers.update(user.id, role="OWNER", actor="admin@nous.test")  # no change: no entry
    [upd] = _audit("testers.update")
    assert (upd.before, upd.after) == ({"role": "TESTER", "notes": ""}, {"role": "OWNER", "notes": "lead"})
    assert [(e.before, e.after) for e in _audit("testers.deactivate") + _audit("testers.reactivate")] == [
        ({"is_active": True}, {"is_active": False}), ({"is_active": False}, {"is_active": True})]
    assert testers.remove(user.id, actor="admin@nous.test") == "ada@example.com"
    [gone] = _audit("testers.remove")
    assert gone.before["email"] == "ada@example.com" and gone.after is None
    assert testers.get(user.id) is None
    with pytest.raises(testers.TesterError) as exc:
        testers.remove(user.id, actor="a")
    assert exc.value.status == 404


def test_join_flow_and_codes_that_cannot_be_used(ctx) -> None:
    user = testers.add("ada@example.com", actor="a")
    with pytest.raises(testers.InviteError) as unknown:
        testers.invite_for_code("x" * 32)
    with pytest.raises(testers.InviteError) as malformed:
        testers.invite_for_code("../../etc/passwd")
    assert unknown.value.status == malformed.value.status == 404
    joined = testers.accept_invite(user.invite_code, ip="5.6.7.8")
    assert joined.joined_at is not None and joined.invite_state == "joined"
    with pytest.raises(testers.InviteError) as used:
        testers.accept_invite(user.invite_code)
    assert used.value.status == 410
    [event] = _audit("testers.joined")
    assert (event.actor, event.target, event.ip) == ("ada@example.com", "ada@example.com", "5.6.7.8")
    other = testers.add("bruno@example.org", actor="a")
    testers.set_active(other.id, False, actor="a")
    with pytest.raises(testers.InviteError) as withdrawn:
        testers.invite_for_code(other.invite_code)
    assert withdrawn.value.status == 410


def test_tester_for_feedback_creates_once_then_finds(ctx) -> None:
    first = testers.tester_for_feedback("new@example.com")
    db.session.commit()
    assert testers.tester_for_feedback("new@example.com") == first
    user = testers.get(first)
    assert (user.role, user.source, user.invited_at, user.joined_at) == ("TESTER", "feedback", None, None)


def test_touch_seen_writes_at_most_once_a_minute(ctx) -> None:
    from datetime import datetime, timedelta

    user = testers.add("ada@example.com", actor="a")
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    testers.touch_seen(user.id, t0)
    testers.touch_seen(user.id, t0 + timedelta(seconds=30))
    db.session.commit()
    db.session.refresh(user)
    assert user.last_seen_at.replace(tzinfo=UTC) == t0
    testers.touch_seen(user.id, t0 + timedelta(seconds=61))
    db.session.commit()
    db.session.refresh(user)
    assert user.last_seen_at.replace(tzinfo=UTC) == t0 + timedelta(seconds=61)


def test_invite_and_resend_queue_emails_in_the_outbox(app, ctx) -> None:
    user = testers.add("ada@example.com", actor="a")
    testers.invite(user.id, actor="admin@nous.test")
    testers.invite(user.id, actor="admin@nous.test")
    db.session.refresh(user)
    assert user.invite_sent_count == 2 and user.invite_state == "invited"
    mails = [m for m in outbox(app) if m.template == "invite"]
    assert [m.to_addr for m in mails] == ["ada@example.com", "ada@example.com"]
    assert user.invite_code in mails[0].text_body
    actions = [e.action for e in _audit("testers.invite") + _audit("testers.resend")]
    assert actions == ["testers.invite", "testers.resend"]


def test_invite_is_refused_for_joined_or_inactive_testers(ctx) -> None:
    joined = testers.add("ada@example.com", actor="a")
    testers.accept_invite(joined.invite_code)
    inactive = testers.add("bruno@example.org", actor="a")
    testers.set_active(inactive.id, False, actor="a")
    for user in (joined, inactive):
        with pytest.raises(testers.TesterError) as exc:
            testers.invite(user.id, actor="a")
        assert exc.value.status == 409
