"""`flask nous …`: the maintainer's commands. Each area adds its own group or commands here."""

from __future__ import annotations

import getpass
import json
import sys

import click
from flask import Flask
from flask.cli import AppGroup

nous = AppGroup("nous", help="Operate the NOUS Beta Console from a shell.")


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def emit(data: object, as_json: bool) -> None:
    """Print a result as JSON (machine) or let the caller print text (human)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


@nous.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the health document as JSON.")
@click.option("--allow-warn", is_flag=True, help="Exit 0 on warn as well as on pass.")
def health_command(as_json: bool, allow_warn: bool) -> None:
    """Run every health check; exit 0 when all pass, 1 otherwise."""
    from nous.health import service

    doc = service.detailed()
    if as_json:
        emit(doc, True)
    else:
        click.echo(f"status: {doc['status']}  (release {doc['releaseId']})")
        for name, results in doc["checks"].items():
            for r in results:
                value = "" if r["observedValue"] is None else f"{r['observedValue']} {r['observedUnit']}"
                mark = {"pass": "+", "warn": "!", "fail": "-"}[r["status"]]
                click.echo(f"[{mark}] {name:<28} {value:<16} {r.get('output', '')}".rstrip())
    ok = doc["status"] == "pass" or (allow_warn and doc["status"] == "warn")
    sys.exit(0 if ok else 1)


@nous.group("db")
def db_group() -> None:
    """Database performance report."""


@db_group.command("report")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True, help="Statements to show.")
def db_report_command(as_json: bool, limit: int) -> None:
    """Statement statistics, slow queries with plans and index suggestions."""
    from nous.dbmonitor import service
    from nous.extensions import get_redis

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


def init_app(app: Flask) -> None:
    if "nous" not in app.cli.commands:
        app.cli.add_command(nous)
