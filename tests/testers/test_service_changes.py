"""Adding, changing and removing testers: unique addresses whatever the case, every change audited."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from nous.testers.models import BetaUser


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


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
