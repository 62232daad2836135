"""`flask nous feedback export` and `flask nous seed-demo`."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask.cli import AppGroup, with_appcontext

from nous.exports import csv_lines
from nous.feedback import service
from nous.feedback.models import CATEGORIES, STATUSES


def _actor() -> str:
    from nous.cli import cli_actor

    return cli_actor()


@click.group("feedback", cls=AppGroup)
def feedback_group() -> None:
    """Feedback from testers."""


@feedback_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True,
              help="CSV is safe to open in a spreadsheet; JSON is one object per line.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File (default: stdout).")
@click.option("--status", type=click.Choice([*STATUSES, "all"]), default=None, help="Default: everything but spam.")
@click.option("--rating", type=click.IntRange(1, 5), default=None)
@click.option("--category", type=click.Choice(CATEGORIES), default=None)
@click.option("--feature", default="", help="Exact feature name.")
@click.option("--tag", default="")
@click.option("--search", "q", default="", help="Text in the message.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), default=None, help="From this day (YYYY-MM-DD).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Up to and including this day.")
def export_command(fmt: str, output: str | None, status: str | None, rating: int | None, category: str | None,
                   feature: str, tag: str, q: str, since: date | None, until: date | None) -> None:
    """Export feedback, newest first, streamed (constant memory at any size)."""
    f = service.Filter(q=q, rating=rating, feature=feature, category=category or "", status=status or "",
                       tag=service.normalize_tag(tag), since=since.date() if since else None,  # type: ignore[attr-defined]
                       until=until.date() if until else None)  # type: ignore[attr-defined]
    out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    n = 0
    try:
        if fmt == "json":
            for row, tags in service.iter_filtered(f):
                out.write(json.dumps(row.as_dict(tags), ensure_ascii=False) + "\n")
                n += 1
        else:
            def counted():
                nonlocal n
                for r in service.export_rows(f):
                    n += 1
                    yield r

            for chunk in csv_lines(service.EXPORT_HEADER, counted()):
                out.write(chunk)
    finally:
        if output:
            out.close()
    click.echo(f"{n} feedback exported" + (f" to {output}" if output else ""), err=True)


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
    from nous.feedback import demo

    result = demo.seed(actor=_actor(), testers=testers, feedback=feedback_count, days=days, seed_value=seed_value)
    totals = demo.counts()
    click.echo(f"added {result.testers_added} testers ({result.testers_skipped} already there) and "
               f"{result.feedback_added} feedback; now {totals['testers']} testers, {totals['feedback']} feedback")
    if with_flags:
        from nous.flags import demo as flags_demo

        for key, outcome in flags_demo.seed(actor=_actor()):
            click.echo(f"demo flag {key}: {'added' if outcome == 'created' else 'already there'}")
    if with_workflows:
        _seed_workflows()


def _seed_workflows() -> None:
    try:
        from nous.workflows.examples import seed_examples
    except ImportError:  # the workflows area is not installed: nothing to add
        return
    for name, outcome in seed_examples(actor=_actor()):
        click.echo(f"example workflow {name!r}: {'added' if outcome == 'created' else 'already there'}")
