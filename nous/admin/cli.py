"""`flask nous login-link` and `flask nous logout-all`."""

from __future__ import annotations

import click
from flask import current_app, url_for

from nous import server_address
from nous.admin import service
from nous.cli import cli_actor


@click.command("login-link")
@click.option("--email", default=None, help="Admin address (default: the first of NOUS_ADMIN_EMAILS).")
def login_link_command(email: str | None) -> None:
    """Print a one-time sign-in link for the admin (valid 10 minutes, single use)."""
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
    generation = service.end_every_session(actor=cli_actor())
    click.echo(f"Every admin session is signed out (session generation {generation}).")
