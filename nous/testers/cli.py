"""`flask nous testers list|add|import|export|invite`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from nous.cli import cli_actor
from nous.exports import csv_lines
from nous.testers import service
from nous.testers.models import ROLES


@click.group("testers", cls=AppGroup)
def testers_group() -> None:
    """Beta testers: list, add, import a CSV of emails, export, invite."""


@testers_group.command("list")
@click.option("--search", "q", default="", help="Part of the email address or notes.")
@click.option("--role", type=click.Choice(ROLES, case_sensitive=False), default=None)
@click.option("--state", type=click.Choice(service.STATES), default=None, help="Only testers in this state.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(q: str, role: str | None, state: str | None, as_json: bool) -> None:
    """Testers ordered by email."""
    users = list(service.iter_filtered(q, role or "", state or ""))
    if as_json:
        click.echo(json.dumps([u.as_dict() for u in users], indent=2, ensure_ascii=False))
        return
    for u in users:
        status = "active" if u.is_active else "inactive"
        click.echo(f"{u.email:<40} {u.role:<7} {status:<9} {u.invite_state:<12} {u.id}")
    click.echo(f"{len(users)} tester(s)")


@testers_group.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES, case_sensitive=False), default="TESTER", show_default=True)
@click.option("--notes", default="", help="Free text shown in the console.")
@click.option("--invite", is_flag=True, help="Queue the invite email as well.")
def add_command(email: str, role: str, notes: str, invite: bool) -> None:
    """Add one tester (not invited unless --invite)."""
    try:
        user = service.add(email, role=role, notes=notes, actor=cli_actor(), source="cli")
    except service.TesterError as exc:
        raise click.ClickException(f"{email}: {exc.message}") from None
    click.echo(f"added {user.email} ({user.role}) {user.id}")
    if invite:
        _invite(user.id)


def _invite(user_id: object) -> None:
    try:
        user = service.invite(user_id, actor=cli_actor())
    except service.TesterError as exc:
        raise click.ClickException(f"invite not sent: {exc.message}") from None
    click.echo(f"invite queued for {user.email}: {service.join_url(user)}")


@testers_group.command("invite")
@click.argument("email")
def invite_command(email: str) -> None:
    """Queue the invite email for a tester (again, if already invited)."""
    user = service.get_by_email(email)
    if user is None:
        raise click.ClickException(f"{email}: no such tester")
    _invite(user.id)


@testers_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--invite", is_flag=True, help="Queue invite emails for the testers added.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def import_command(path: str, invite: bool, as_json: bool) -> None:
    """Add testers from a CSV (an `email` column, optional `role` and `notes`) or a list of addresses.

    Prints one line per row: added, or skipped and why. Exit status 1 when nothing could be read.
    """
    raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    text = service.decode_upload(raw)
    try:
        report = service.import_text(text, actor=cli_actor(), invite_added=invite, source="cli")
    except service.TesterError as exc:
        raise click.ClickException(f"nothing imported: {exc.message}") from None
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2, ensure_ascii=False))
        return
    for row in report.rows:
        click.echo(f"line {row.line:>5}  {row.result:<7}  {row.email}" + (f"  ({row.reason})" if row.reason else ""))
    click.echo(f"{report.added} added, {report.skipped} skipped")


@testers_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File (default: stdout).")
def export_command(fmt: str, output: str | None) -> None:
    """Every tester as CSV (safe to open in a spreadsheet) or JSON."""
    out = open(output, "w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        if fmt == "json":
            out.write(json.dumps([u.as_dict() for u in service.iter_filtered()], indent=2, ensure_ascii=False) + "\n")
        else:
            for chunk in csv_lines(service.EXPORT_HEADER, service.export_rows()):
                out.write(chunk)
    finally:
        if output:
            out.close()
    if output:
        click.echo(f"written to {output}", err=True)
