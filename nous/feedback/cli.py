"""`flask nous feedback export`."""

from __future__ import annotations

import json
import sys
from datetime import date

import click
from flask.cli import AppGroup

from nous.exports import csv_lines
from nous.feedback import service
from nous.feedback.models import CATEGORIES, STATUSES


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

