"""`flask nous tokens …`: admin API tokens from a shell (create, list, revoke)."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from nous.adminapi import tokens
from nous.cli import cli_actor, nous


def refusals(fn: Callable[..., Any]) -> Callable[..., Any]:
    """TokenError → `Error: …` on stderr and exit status 1, with one line per field."""

    @wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except tokens.TokenError as exc:
            lines = [exc.message, *(f"  {k}: {v}" for k, v in exc.errors.items())]
            raise click.ClickException("\n".join(lines)) from None

    return wrapped


@click.group("tokens", cls=AppGroup)
def tokens_group() -> None:
    """Admin API tokens (Authorization: Bearer … on /api/admin/v1)."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, required=True, type=click.Choice(tokens.SCOPES),
              help="A scope the token holds (repeat for several); admin holds them all.")
@click.option("--expires-in", "expires_in", type=click.IntRange(1, tokens.MAX_EXPIRY_DAYS), default=None,
              metavar="DAYS", help="Days until the token stops working (default: never).")
@refusals
def create_command(name: str, scopes: tuple[str, ...], expires_in: int | None) -> None:
    """A new token; printed once, alone on the last line (only its hash is stored)."""
    row, raw = tokens.create(name, list(scopes), expires_in_days=expires_in, actor=cli_actor())
    expiry = f"expires {row.as_dict()['expires_at']}" if row.expires_at else "does not expire"
    click.echo(f"token {row.name} ({', '.join(row.scopes)}; {expiry}); keep it now, it is not shown again:")
    click.echo(raw)


@tokens_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """Tokens with their scopes, creation, expiry, last use and state."""
    rows = tokens.list_tokens()
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if not rows:
        click.echo("no admin API tokens")
    for t in rows:
        used = f"{t['last_used_at'][:16]} from {t['last_used_ip']}" if t["last_used_at"] else "never"
        expires = (t["expires_at"] or "never")[:16]
        click.echo(f"{t['name']:<24} {t['state']:<8} {','.join(t['scopes'])}  created {t['created_at'][:16]}  "
                   f"expires {expires}  last used {used}")


@tokens_group.command("revoke")
@click.argument("name")
@refusals
def revoke_command(name: str) -> None:
    """Revoke a token: requests with it get 401 on every process within a second."""
    row = tokens.revoke(name, actor=cli_actor())
    click.echo(f"revoked token {row.name}")
    if not tokens.announced():
        click.echo("Redis is unreachable: a server that has not noticed may accept the token until it is told. "
                   "Run this again once Redis answers.", err=True)



def init_app(app: Flask) -> None:
    if tokens_group.name not in nous.commands:
        nous.add_command(tokens_group)
