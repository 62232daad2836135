"""`flask nous db report`: the database report in a shell."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from nous.cli import emit
from nous.dbmonitor import service
from nous.extensions import get_redis

db_group = AppGroup("db", help="Database performance report.")

@db_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="Statements to show.")
def db_report_command(as_json: bool, limit: int) -> None:
    """Statement statistics, slow queries with plans and index suggestions."""
    report = service.report(get_redis(), limit=limit)
    if as_json:
        emit(report, True)
        return
    click.echo(f"database: {report['dialect']}   pool: {report['pool']['summary']}")
    click.echo(f"slow-query threshold: {report['slow_query_ms']} ms\n")
    click.echo(f"{'type':<8} {'count':>9} {'mean ms':>9} {'max ms':>9}")
    for kind, s in sorted(report["by_type"].items()):
        click.echo(f"{kind:<8} {s['count']:>9} {s['mean_ms'] or 0:>9.3f} {s['max_ms']:>9.3f}")
    click.echo(f"\n{'count':>8} {'mean':>8} {'p95':>8} {'max':>8}  statement")
    for r in report["statements"]:
        click.echo(f"{r['count']:>8} {r['mean_ms'] or 0:>8.2f} {r['p95_ms'] or 0:>8.2f} {r['max_ms']:>8.2f}"
                   f"  {r['statement'][:100]}")
    click.echo(f"\nslow queries: {len(report['slow_queries'])}")
    for q in report["slow_queries"]:
        click.echo(f"  {q['duration_ms']:>8.1f} ms  {q['statement'][:100]}")
        if q["plan_error"]:
            click.echo(f"             plan unavailable: {q['plan_error']}")
    click.echo("\nindex suggestions:" if report["index_suggestions"] else "\nindex suggestions: none")
    for s in report["index_suggestions"]:
        click.echo(f"  {s}")
