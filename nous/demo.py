"""`flask nous seed-demo`: demo data for the whole console, so a new install has something to look at.

Each area keeps its own demo rows (`feedback/demo.py`: testers and feedback; `flags/demo.py`: feature
flags; `workflows/examples`: example workflows); this module only puts them together, so it may import
every area and no area imports it. `create_app` adds the command to `flask nous`.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import with_appcontext

from nous.cli import cli_actor, nous
from nous.feedback import demo as feedback_demo
from nous.flags import demo as flags_demo
from nous.workflows.examples import seed_examples


@click.command("seed-demo")
@click.option("--testers", type=click.IntRange(0, 500), default=40, show_default=True)
@click.option("--feedback", "feedback_count", type=click.IntRange(0, 100_000), default=600, show_default=True)
@click.option("--days", type=click.IntRange(1, 365), default=60, show_default=True,
              help="Spread feedback over this many days.")
@click.option("--seed", "seed_value", type=int, default=None, help="Random seed, for the same data every time.")
@click.option("--workflows/--no-workflows", "with_workflows", default=True, show_default=True,
              help="Also install the example workflows (those not there yet, by name).")
@click.option("--flags/--no-flags", "with_flags", default=True, show_default=True,
              help="Also create the demo feature flags (those not there yet, by key).")
@with_appcontext
def seed_demo_command(testers: int, feedback_count: int, days: int, seed_value: int | None,
                      with_workflows: bool, with_flags: bool) -> None:
    """Add realistic demo testers and feedback (example.com addresses), demo feature flags and the
    example workflows; safe to run again."""
    actor = cli_actor()
    result = feedback_demo.seed(actor=actor, testers=testers, feedback=feedback_count, days=days,
                                seed_value=seed_value)
    totals = feedback_demo.counts()
    click.echo(f"added {result.testers_added} testers ({result.testers_skipped} already there) and "
               f"{result.feedback_added} feedback; now {totals['testers']} testers, {totals['feedback']} feedback")
    if with_flags:
        for key, outcome in flags_demo.seed(actor=actor):
            click.echo(f"demo flag {key}: {'added' if outcome == 'created' else 'already there'}")
    if with_workflows:
        for name, outcome in seed_examples(actor=actor):
            click.echo(f"example workflow {name!r}: {'added' if outcome == 'created' else 'already there'}")


def init_app(app: Flask) -> None:
    if "seed-demo" not in nous.commands:
        nous.add_command(seed_demo_command)
