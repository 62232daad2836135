"""The audit log: what is recorded, and how it is found again (filters, keyset pages, exports)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from nous.audit import service as audit
from nous.audit.models import AuditEvent
from nous.extensions import db


def _at(event: AuditEvent, when: datetime) -> AuditEvent:
    event.at = when
    db.session.commit()
    return event


def test_an_event_keeps_who_what_target_before_after_and_ip(ctx) -> None:
    event = audit.record("ada@example.com", "settings.set", "db.slow_query_ms", before=100, after={"ms": 250},
                         ip="10.0.0.7")
    db.session.expire_all()
    stored = db.session.get(AuditEvent, event.id)
    assert (stored.actor, stored.action, stored.target, stored.before, stored.after, stored.ip) == (
        "ada@example.com", "settings.set", "db.slow_query_ms", 100, {"ms": 250}, "10.0.0.7")
    assert stored.at is not None and stored.as_dict()["at"] == stored.at.isoformat()


def test_overlong_fields_are_cut_to_their_columns(ctx) -> None:
    event = audit.record("a" * 400, "b" * 150, "c" * 500, ip="d" * 80)
    assert (len(event.actor), len(event.action), len(event.target), len(event.ip)) == (320, 100, 400, 64)
    assert audit.record("x", "y", 12345).target == "12345"  # any target is stored as its text


def test_without_commit_the_event_is_part_of_the_callers_transaction(ctx) -> None:
    audit.record("ada@example.com", "testers.add", "bob@example.com", commit=False)
    db.session.rollback()  # the change it described did not happen: neither did its record
    assert audit.query() == []
    audit.record("ada@example.com", "testers.add", "bob@example.com", commit=False)
    db.session.commit()
    assert [e.target for e in audit.query()] == ["bob@example.com"]


def test_filters_by_actor_action_prefix_target_and_time(ctx) -> None:
    now = datetime.now(UTC)
    _at(audit.record("Ada@Example.com", "flags.create", "checkout"), now - timedelta(days=3))
    _at(audit.record("bob@example.com", "flags.update", "checkout-v2"), now - timedelta(days=1))
    _at(audit.record("bob@example.com", "testers.add", "carol@example.com"), now)
    assert [e.action for e in audit.query()] == ["testers.add", "flags.update", "flags.create"]  # newest first
    assert [e.action for e in audit.query(actor="ada@example")] == ["flags.create"]  # contains, any case
    assert [e.action for e in audit.query(action="flags.")] == ["flags.update", "flags.create"]
    assert audit.query(action="update") == []  # the action filter is a prefix: an area or one action
    assert [e.target for e in audit.query(target="CHECKOUT")] == ["checkout-v2", "checkout"]
    assert [e.action for e in audit.query(since=now - timedelta(days=2))] == ["testers.add", "flags.update"]
    assert [e.action for e in audit.query(until=now - timedelta(days=2))] == ["flags.create"]
    assert [e.action for e in audit.query(actor="bob", since=now - timedelta(hours=1))] == ["testers.add"]


def test_pages_go_backwards_by_id_and_the_export_reads_them_all(ctx) -> None:
    for i in range(1203):
        audit.record("cli:root", "jobs.retry", f"job-{i}", commit=False)
    db.session.commit()
    first = audit.query(limit=50)
    second = audit.query(before_id=first[-1].id, limit=50)
    assert [e.target for e in first][:2] == ["job-1202", "job-1201"] and second[0].id == first[-1].id - 1
    assert len(first) == len(second) == 50
    every = list(audit.iter_all(action="jobs."))
    assert len(every) == 1203 and every[0].target == "job-1202" and every[-1].target == "job-0"
    assert len({e.id for e in every}) == 1203  # no event twice across the 500-event pages
    assert list(audit.iter_all(actor="nobody")) == []
