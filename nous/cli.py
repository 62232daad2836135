"""`flask nous …`: the maintainer's commands. Each area adds its own group or commands here.

Every command of the group (and Flask-Migrate's `flask db …`) shares one failure path for the parts it
runs on: a database or Redis that cannot be reached (or a database without its tables) ends the command
with one line naming it and exit status 1, never a traceback.
"""

from __future__ import annotations

import getpass
import json
import sys
import time
from typing import Any

import click
import redis
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

MIGRATE_HINT = "run `flask db upgrade`"


def _first_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split("\n")[0].split())
    return text[:300] or type(exc).__name__


def unreachable(exc: BaseException) -> str | None:
    """One line saying which part the failure `exc` (or an exception it came from) could not reach, or
    None when it is not such a failure."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            reason = _first_line(current.orig if current.orig is not None else current)
            if getattr(current.orig, "sqlstate", None) == "42P01" or "no such table" in reason:
                return f"the database (DATABASE_URL) has no tables yet, {MIGRATE_HINT}: {reason}"
            if isinstance(current, (OperationalError, InterfaceError)) or current.connection_invalidated:
                return f"the database (DATABASE_URL) is unreachable: {reason}"
        if isinstance(current, (redis.ConnectionError, redis.TimeoutError)):
            return f"Redis (REDIS_URL) is unreachable: {_first_line(current)}"
        current = current.__cause__ or current.__context__
    return None


class NousGroup(AppGroup):
    """A command group whose commands end with one line when a part is unreachable (`unreachable`)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except Exception as exc:
            reason = unreachable(exc)
            if reason is None:
                raise
            raise click.ClickException(reason) from None


nous = NousGroup("nous", help="Operate the NOUS Beta Console from a shell.")


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


@nous.command("ready")
@click.option("--wait", "wait_seconds", type=click.FloatRange(0, 3600), default=0, show_default=True,
              help="Keep trying this many seconds before giving up.")
def ready_command(wait_seconds: float) -> None:
    """Whether the database and Redis answer: silent and exit 0 when both do, else one line per part that
    does not and exit 1 (what `scripts/run` checks before it migrates and starts)."""
    from nous.health import service

    deadline = time.monotonic() + wait_seconds
    while True:
        failed = {name: c.get("output", "failed") for name, c in service.readiness().items() if c["status"] != "pass"}
        if not failed or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    names = {"database": "the database (DATABASE_URL)", "redis": "Redis (REDIS_URL)"}
    for name, output in failed.items():
        click.echo(f"Error: {names.get(name, name)} is unreachable: {output}", err=True)
    sys.exit(1 if failed else 0)


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
    migrations = app.cli.commands.get("db")  # Flask-Migrate's `flask db …`: the same one-line failures
    if isinstance(migrations, click.Group) and not isinstance(migrations, NousGroup):
        app.cli.add_command(NousGroup("db", commands=migrations.commands, callback=migrations.callback,
                                      params=migrations.params, help=migrations.help))
