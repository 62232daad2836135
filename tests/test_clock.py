"""nous.clock: the one place stored times are written out, for the areas' dicts and events and for the APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from nous import clock
from nous.adminapi import conventions

NAIVE = datetime(2026, 12, 6, 7, 15, 0, 123456)  # as SQLite hands a stored UTC time back


def test_isoformat_reads_a_naive_time_as_utc_and_keeps_its_offset() -> None:
    assert clock.isoformat(NAIVE) == "2026-12-06T07:15:00.123456+00:00"
    assert clock.isoformat(NAIVE, "seconds") == "2026-12-06T07:15:00+00:00"
    assert clock.isoformat(NAIVE, "milliseconds") == "2026-12-06T07:15:00.123+00:00"
    assert clock.isoformat(NAIVE.replace(tzinfo=UTC)) == clock.isoformat(NAIVE)
    assert clock.isoformat(None) is None


def test_rfc3339_is_utc_with_a_z_and_the_admin_api_uses_the_same_function() -> None:
    paris = NAIVE.replace(tzinfo=timezone(timedelta(hours=1))) + timedelta(hours=1)
    assert clock.rfc3339(NAIVE) == clock.rfc3339(paris) == "2026-12-06T07:15:00.123Z"
    assert conventions.rfc3339 is clock.rfc3339
