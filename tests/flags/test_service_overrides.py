"""Per-tester overrides: set and cleared by tester id, read by id or email, audited, and every process
rebuilds its flags when they change (also when their tester is removed)."""

from __future__ import annotations

from sqlalchemy import select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.flags.cache import VERSION_KEY
from nous.flags.service import overrides
from nous.testers import service as testers


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_flag_overrides_by_id_or_email(ctx) -> None:
    user = testers.add("ada@example.com", actor="a")
    assert overrides.flag_overrides(user.id) == {}
    overrides.set_flag_override(user.id, "new-search", True, actor="admin@nous.test")
    overrides.set_flag_override(user.id, "voice", False, actor="admin@nous.test")
    assert overrides.flag_overrides(user.id) == {"new-search": True, "voice": False}
    assert overrides.flag_overrides(str(user.id)) == {"new-search": True, "voice": False}
    assert overrides.flag_overrides("ADA@example.com") == {"new-search": True, "voice": False}
    overrides.set_flag_override(user.id, "voice", None, actor="admin@nous.test")
    assert overrides.flag_overrides(user.id) == {"new-search": True}
    assert overrides.flag_overrides("nobody@example.com") == {}
    assert overrides.flag_overrides("not an id") == {}
    assert [(e.before, e.after) for e in _audit("testers.flag_override")] == [
        ({"new-search": None}, {"new-search": True}), ({"voice": None}, {"voice": False}),
        ({"voice": False}, {"voice": None})]


def test_override_changes_make_every_process_reload_flags(ctx, redis_conn) -> None:
    user = testers.add("ada@example.com", actor="a")
    start = redis_conn.get(VERSION_KEY)
    overrides.set_flag_override(user.id, "voice", True, actor="a")
    first = redis_conn.get(VERSION_KEY)
    overrides.set_flag_override(user.id, "voice", True, actor="a")  # no change: no reload
    assert first != start and redis_conn.get(VERSION_KEY) == first
    testers.remove(user.id, actor="a")  # its overrides are gone with it
    assert redis_conn.get(VERSION_KEY) not in (start, first)
