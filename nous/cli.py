"""`flask nous …`: the maintainer's commands. Each area adds its own group or commands to `nous` in its
`init_app`; this module holds only the group and what the commands share.

Every command of the group (and Flask-Migrate's `flask db …`) shares one failure path for the parts it
runs on: a database or Redis that cannot be reached (or a database without its tables) ends the command
with one line naming it and exit status 1, never a traceback.
"""

from __future__ import annotations

import getpass
import json
from datetime import datetime
from typing import Any

import click
import redis
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from nous.inputs import InputError, parse_datetime

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


def utc_time(text: str | None, param_hint: str, expected: str = "an ISO date or time") -> datetime | None:
    """An option's ISO date or time, read as the web reads one (nous.inputs.parse_datetime: UTC when it names
    no zone, within its years), None when not given; a usage error otherwise."""
    try:
        return parse_datetime(text, param_hint)
    except InputError as exc:
        raise click.BadParameter(f"{text!r} is not {expected} ({exc.message})", param_hint=param_hint) from None


def emit(data: object, as_json: bool) -> None:
    """Print a result as JSON (machine) or let the caller print text (human)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))


def init_app(app: Flask) -> None:
    if "nous" not in app.cli.commands:
        app.cli.add_command(nous)
    migrations = app.cli.commands.get("db")  # Flask-Migrate's `flask db …`: the same one-line failures
    if isinstance(migrations, click.Group) and not isinstance(migrations, NousGroup):
        app.cli.add_command(NousGroup("db", commands=migrations.commands, callback=migrations.callback,
                                      params=migrations.params, help=migrations.help))
