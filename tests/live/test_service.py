"""Metric history: hourly roll-ups, retention, chart series; who may open the socket."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nous.extensions import db
from nous.live import collector, service
from nous.live.models import CLEARED, OPEN, Alert, MetricRollup, MetricSample

NOW = datetime(2026, 3, 10, 12, 20, tzinfo=UTC)


def sample(at: datetime, **figures: float) -> None:
    collector.record(figures, at=at, host="web-1", evaluate=False)


def rollups() -> list[MetricRollup]:
    return list(MetricRollup.query.order_by(MetricRollup.hour))


def test_rollup_averages_and_peaks_each_complete_hour_once(ctx) -> None:
    sample(datetime(2026, 3, 10, 10, 5, tzinfo=UTC), cpu_percent=10, queue_depth=4)
    sample(datetime(2026, 3, 10, 10, 35, tzinfo=UTC), cpu_percent=30)  # no queue figure: not a zero
    sample(datetime(2026, 3, 10, 10, 59, 59, tzinfo=UTC), cpu_percent=50, queue_depth=8)
    sample(datetime(2026, 3, 10, 11, 0, tzinfo=UTC), cpu_percent=90)
    sample(datetime(2026, 3, 10, 12, 1, tzinfo=UTC), cpu_percent=70)  # the hour still running

    assert service.rollup(NOW) == 2
    ten, eleven = rollups()
    assert ten.hour.replace(tzinfo=UTC) == datetime(2026, 3, 10, 10, tzinfo=UTC)
    assert (ten.samples, ten.cpu_percent_avg, ten.cpu_percent_max) == (3, 30, 50)
    assert (ten.queue_depth_avg, ten.queue_depth_max) == (6, 8)
    assert ten.memory_percent_avg is None and ten.memory_percent_max is None
    assert (eleven.samples, eleven.cpu_percent_avg) == (1, 90)

    assert service.rollup(NOW) == 0  # idempotent
    assert service.rollup(NOW + timedelta(hours=1)) == 1  # the 12 o'clock hour, once complete
    assert len(rollups()) == 3


def test_rollup_without_samples_does_nothing(ctx) -> None:
    assert service.rollup(NOW) == 0 and rollups() == []


def test_prune_keeps_raw_samples_for_their_retention_and_rollups_for_theirs(ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("metrics.raw_retention_days", 1, actor="test")
    settings.set_value("metrics.rollup_retention_days", 3, actor="test")
    for days in (5, 2, 0.5):
        sample(NOW - timedelta(days=days), cpu_percent=days)
    old = Alert(rule="cpu", status=CLEARED, title="old", message="", unit="%", raised_at=NOW - timedelta(days=5),
                cleared_at=NOW - timedelta(days=4), updated_at=NOW)
    still_open = Alert(rule="disk", status=OPEN, title="open", message="", unit="%", raised_at=NOW - timedelta(days=9),
                       updated_at=NOW)
    db.session.add_all([old, still_open])
    db.session.commit()

    result = service.prune(NOW)

    assert result == {"hours_rolled_up": 3, "raw_deleted": 2, "hourly_deleted": 1, "alerts_deleted": 1}
    assert [s.cpu_percent for s in MetricSample.query.all()] == [0.5]
    assert sorted(r.cpu_percent_avg for r in rollups()) == [0.5, 2]  # the 5-day-old hour is past 3 days
    assert [a.title for a in Alert.query.all()] == ["open"]


def test_prune_never_deletes_a_raw_sample_before_its_hour_is_rolled_up(ctx) -> None:
    sample(NOW - timedelta(days=30), cpu_percent=42)
    service.prune(NOW)
    assert MetricSample.query.count() == 0
    [hour] = rollups()
    assert hour.cpu_percent_avg == 42


def test_history_of_the_last_hour_is_the_raw_samples_with_gaps_left_open(ctx) -> None:
    for minutes in (50, 49.5, 49, 20, 19.5):  # the collector was stopped for half an hour
        sample(NOW - timedelta(minutes=minutes), cpu_percent=minutes)
    sample(NOW - timedelta(hours=2), cpu_percent=99)  # outside the range

    doc = service.history("1h", NOW)

    assert doc["source"] == "raw" and doc["step"] == 30
    assert doc["series"]["cpu_percent"] == [50, 49.5, 49, None, 20, 19.5]
    assert doc["t"][0] == (NOW - timedelta(minutes=50)).timestamp()
    assert doc["t"][3] == doc["t"][2] + 30  # the gap marker sits right after the last sample before it
    assert {f["key"]: f["unit"] for f in doc["figures"]}["latency_p95_ms"] == "ms"
    assert all(len(values) == len(doc["t"]) for values in doc["series"].values())


def test_history_of_a_day_is_averaged_into_at_most_max_points(ctx, monkeypatch) -> None:
    monkeypatch.setattr(service, "MAX_POINTS", 12)
    start = NOW - timedelta(hours=24)
    rows = [MetricSample(at=start + timedelta(minutes=10 * i), host="h", cpu_percent=float(i % 2) * 100,
                         failing_checks={}) for i in range(1, 144)]
    db.session.add_all(rows)
    db.session.commit()

    doc = service.history("24h", NOW)

    assert len(doc["t"]) <= 12
    assert all(40 <= v <= 60 for v in doc["series"]["cpu_percent"])  # averages of 0 and 100


def test_history_beyond_a_day_uses_hourly_rollups_and_the_hours_since(ctx) -> None:
    sample(NOW - timedelta(days=3, minutes=5), cpu_percent=10)
    sample(NOW - timedelta(days=3, minutes=3), cpu_percent=30)
    service.rollup(NOW - timedelta(hours=2))
    sample(NOW - timedelta(minutes=10), cpu_percent=70)  # not rolled up yet
    sample(NOW - timedelta(minutes=5), cpu_percent=90)

    doc = service.history("7d", NOW)

    assert doc["source"] == "hourly" and doc["step"] == 3600
    assert doc["series"]["cpu_percent"] == [20, None, 80]
    assert doc["t"][-1] == datetime(2026, 3, 10, 12, tzinfo=UTC).timestamp()


def test_history_refuses_an_unknown_range(ctx) -> None:
    with pytest.raises(ValueError, match="1h, 6h, 24h, 7d, 30d"):
        service.history("2y")


@pytest.mark.parametrize(("origin", "own", "base", "allowed"), [
    ("http://127.0.0.1:5000", "http://127.0.0.1:5000", "", True),
    ("HTTP://Console.Example", "http://console.example", "", True),
    ("https://beta.nous.example", "http://10.0.0.5:5000", "https://beta.nous.example", True),  # behind a proxy
    ("https://evil.example", "http://127.0.0.1:5000", "https://beta.nous.example", False),
    ("http://127.0.0.1:5001", "http://127.0.0.1:5000", "", False),  # another port is another site
    ("null", "http://127.0.0.1:5000", "", False),
    ("", "http://127.0.0.1:5000", "", False),
    (None, "http://127.0.0.1:5000", "", False),
])
def test_only_this_sites_pages_may_open_the_socket(origin, own, base, allowed) -> None:
    assert service.origin_allowed(origin, own, base) is allowed


def test_the_socket_ends_with_the_absolute_session_lifetime(ctx) -> None:
    assert service.session_deadline(1_000_000) == 1_000_000 + 12 * 3600
    assert service.session_deadline(None) is None
