"""`flask nous metrics …`: collect a sample now, roll up and prune the metric history."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from nous.cli import emit, utc_time
from nous.live import collector, service
from nous.live.alerts import fmt
from nous.live.models import FIGURES
from nous.settings import service as settings

metrics_group = AppGroup("metrics", help="System metrics and alerts: sample now, prune the history.")


@metrics_group.command("collect")
@click.option("--json", "as_json", is_flag=True, help="Print the sample as JSON.")
def collect_command(as_json: bool) -> None:
    """Take one sample now (as the collector job does) and evaluate the alert rules."""
    row = collector.collect()
    event = row.as_event()
    if as_json:
        emit(event, True)
        return
    click.echo(f"sample {row.id} at {event['at']} on {row.host}")
    for figure in FIGURES:
        click.echo(f"  {figure.label:<14} {fmt(event[figure.key], figure.unit)}")
    for name, why in (row.failing_checks or {}).items():
        click.echo(f"  failing check  {name}: {why}")


@metrics_group.command("prune")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.option("--now", "now_text", default=None, metavar="ISO-TIME", hidden=True,
              help="Pretend it is this time (UTC), for trying retention out.")
def prune_command(as_json: bool, now_text: str | None) -> None:
    """Roll complete hours up, then delete samples, roll-ups and cleared alerts past their retention."""
    result = service.prune(utc_time(now_text, "--now"))
    if as_json:
        emit(result, True)
        return
    click.echo(f"rolled up {result['hours_rolled_up']} hour(s); deleted {result['raw_deleted']} raw sample(s) "
               f"older than {settings.get('metrics.raw_retention_days')} days, {result['hourly_deleted']} hourly "
               f"roll-up(s) and {result['alerts_deleted']} cleared alert(s) older than "
               f"{settings.get('metrics.rollup_retention_days')} days")
