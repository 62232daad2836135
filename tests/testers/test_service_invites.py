"""Invite codes, the invite email and its resends, and joining."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from tests.feedback.helpers import outbox


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_invite_codes_are_distinct_and_unguessable(ctx) -> None:
    codes = {testers.add(f"t{i}@example.com", actor="a").invite_code for i in range(30)}
    assert len(codes) == 30
    assert all(len(c) >= 32 for c in codes)


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
