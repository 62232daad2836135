"""`flask nous login-link`, `flask nous logout-all` and `flask nous audit`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import click
from flask import current_app, url_for

from nous import server_address
from nous.admin import service
from nous.audit import service as audit


@click.command("login-link")
@click.option("--email", default=None, help="Admin address (default: the first of NOUS_ADMIN_EMAILS).")
def login_link_command(email: str | None) -> None:
    """Print a one-time sign-in link for the admin (valid 10 minutes, single use)."""
    from nous.cli import cli_actor

    allowed = current_app.config["NOUS_ADMIN_EMAILS"]
    if not allowed:
        raise click.ClickException("NOUS_ADMIN_EMAILS is empty: set the admin's address first")
    email = (email or allowed[0]).strip().lower()
    if email not in allowed:
        raise click.ClickException(f"{email} is not on NOUS_ADMIN_EMAILS ({', '.join(allowed)})")
    token = service.create_login_link(email, actor=cli_actor())
    base = server_address.base_url(current_app.config)  # the running server's, unless SYSTEM_BASE_URL is set
    with current_app.test_request_context(base_url=base):
        click.echo(url_for("admin.login_link", token=token, _external=True))


@click.command("logout-all")
def logout_all_command() -> None:
    """Sign out every admin session, in every browser (a copied cookie included), within a second."""
    from nous.cli import cli_actor

    generation = service.end_every_session(actor=cli_actor())
    click.echo(f"Every admin session is signed out (session generation {generation}).")


@click.command("audit")
@click.option("--actor", default="", help="Actor contains.")
@click.option("--action", default="", help="Action starts with (e.g. auth.).")
@click.option("--target", default="", help="Target contains.")
@click.option("--since", default=None, help="ISO date or time.")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def audit_command(actor: str, action: str, target: str, since: str | None, limit: int, as_json: bool) -> None:
    """List audit events, newest first."""
    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise click.BadParameter(f"{since!r} is not an ISO date like 2026-01-31", param_hint="--since") from None
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
    for e in audit.query(actor=actor, action=action, target=target, since=when, limit=limit):
        if as_json:
            click.echo(json.dumps(e.as_dict(), default=str))
        else:
            click.echo(f"{e.at:%Y-%m-%d %H:%M:%S}  {e.actor:<24} {e.action:<28} {e.target}")
