"""`flask nous metrics …`."""

from __future__ import annotations

import json
from datetime import timedelta

from nous.clock import utcnow
from nous.live import collector
from nous.live.models import MetricRollup, MetricSample


def test_collect_takes_a_sample_now(runner, ctx) -> None:
    result = runner.invoke(args=["nous", "metrics", "collect"])
    assert result.exit_code == 0, result.output
    assert "CPU" in result.output and "Queue depth" in result.output
    sample = json.loads(runner.invoke(args=["nous", "metrics", "collect", "--json"]).output)
    assert MetricSample.query.count() == 2 and 0 <= sample["cpu_percent"] <= 100


def test_prune_rolls_up_then_deletes_what_is_past_retention(runner, ctx) -> None:
    # Half past an hour: a sample a minute old is in the current hour whatever the clock says (at a
    # minute past, "a minute ago" is the hour before, complete, and it would be rolled up too).
    now = utcnow().replace(minute=30, second=0, microsecond=0)
    collector.record({"cpu_percent": 40}, at=now - timedelta(days=10), evaluate=False)
    collector.record({"cpu_percent": 60}, at=now - timedelta(minutes=1), evaluate=False)
    result = runner.invoke(args=["nous", "metrics", "prune", "--now", now.isoformat()])
    assert result.exit_code == 0, result.output
    assert "deleted 1 raw sample(s) older than 7 days" in result.output
    assert [s.cpu_percent for s in MetricSample.query.all()] == [60]
    assert MetricRollup.query.one().cpu_percent_avg == 40
    again = json.loads(runner.invoke(args=["nous", "metrics", "prune", "--json", "--now", now.isoformat()]).output)
    assert again == {"hours_rolled_up": 0, "raw_deleted": 0, "hourly_deleted": 0, "alerts_deleted": 0}


def test_prune_can_pretend_a_later_time_and_refuses_nonsense(runner, ctx) -> None:
    collector.record({"cpu_percent": 60}, evaluate=False)
    later = (utcnow() + timedelta(days=8)).isoformat()
    assert runner.invoke(args=["nous", "metrics", "prune", "--now", later]).exit_code == 0
    assert MetricSample.query.count() == 0
    bad = runner.invoke(args=["nous", "metrics", "prune", "--now", "yesterday"])
    assert bad.exit_code == 2 and "not an ISO date" in bad.output


def test_every_metrics_command_has_help(runner) -> None:
    for command in ([], ["collect"], ["prune"]):
        result = runner.invoke(args=["nous", "metrics", *command, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output
