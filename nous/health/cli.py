"""`flask nous health` and `flask nous ready`: the health checks from a shell."""

from __future__ import annotations

import sys
import time

import click

from nous.cli import emit
from nous.health import service


@click.command("health")
@click.option("--json", "as_json", is_flag=True, help="Print the health document as JSON.")
@click.option("--allow-warn", is_flag=True, help="Exit 0 on warn as well as on pass.")
def health_command(as_json: bool, allow_warn: bool) -> None:
    """Run every health check; exit 0 when all pass, 1 otherwise."""
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


@click.command("ready")
@click.option("--wait", "wait_seconds", type=click.FloatRange(0, 3600), default=0, show_default=True,
              help="Keep trying this many seconds before giving up.")
def ready_command(wait_seconds: float) -> None:
    """Whether the database and Redis answer: silent and exit 0 when both do, else one line per part that
    does not and exit 1 (what `scripts/run` checks before it migrates and starts)."""
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
