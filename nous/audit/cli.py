"""`flask nous audit`: the audit log in a shell."""

from __future__ import annotations

import json

import click

from nous.audit import service as audit
from nous.cli import utc_time


@click.command("audit")
@click.option("--actor", default="", help="Actor contains.")
@click.option("--action", default="", help="Action starts with (e.g. auth.).")
@click.option("--target", default="", help="Target contains.")
@click.option("--since", default=None, help="ISO date or time.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def audit_command(actor: str, action: str, target: str, since: str | None, limit: int, as_json: bool) -> None:
    """List audit events, newest first."""
    when = utc_time(since, "--since", "an ISO date like 2026-01-31")
    for e in audit.query(actor=actor, action=action, target=target, since=when, limit=limit):
        if as_json:
            click.echo(json.dumps(e.as_dict(), default=str))
        else:
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<24} {e.action:<28} {e.target}")
