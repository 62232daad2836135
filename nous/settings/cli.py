"""`flask nous settings get|set|history|import|export`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from nous.cli import cli_actor
from nous.settings import service
from nous.settings.registry import DEFINITIONS, SettingError


def _fmt_for(path: str, fmt: str | None) -> str:
    if fmt:
        return fmt
    return "json" if path.endswith(".json") else "yaml"


@click.group("settings")
def settings_group() -> None:
    """Runtime settings (applied in every process within a second)."""


@settings_group.command("get")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def get_command(key: str | None, as_json: bool) -> None:
    """Show one setting, or all of them with their meaning."""
    if key is not None and key not in DEFINITIONS:
        raise click.ClickException(str(SettingError(key, "no such setting")))
    values = service.stored_values()  # from the database: a default is never shown for a setting it cannot read
    if key is not None:
        values = {key: values[key]}
    if as_json:
        click.echo(json.dumps(values, indent=2))
        return
    for k, v in values.items():
        click.echo(f"{k} = {json.dumps(v)}")
        if not key:
            click.echo(f"    {DEFINITIONS[k].help}")


@settings_group.command("set")
@click.argument("key")
@click.argument("value")
def set_command(key: str, value: str) -> None:
    """Change a setting. VALUE may be JSON (lists, objects) or plain text."""
    raw: object = value
    if value[:1] in "[{":
        try:
            raw = json.loads(value)
        except ValueError:
            raise click.ClickException(f"{key}: {value!r} is not valid JSON") from None
    try:
        new = service.set_value(key, raw, actor=cli_actor())
    except SettingError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{key} = {json.dumps(new)}")


@settings_group.command("history")
@click.argument("key", required=False, default="")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
def history_command(key: str, limit: int) -> None:
    """Changes with old and new values, newest first."""
    if key and key not in DEFINITIONS:
        raise click.ClickException(f"{key}: no such setting")
    for e in service.history(key, limit):
        click.echo(f"{e['at']}  {e['actor']:<24} {e['target']}: "
                   f"{json.dumps(e['before'])} -> {json.dumps(e['after'])}")


@settings_group.command("export")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File (default: stdout).")
def export_command(fmt: str, output: str | None) -> None:
    """Write every setting as YAML or JSON."""
    text = service.export(fmt, stored=True)  # never the defaults in place of settings it cannot read
    if output:
        Path(output).write_text(text)
    else:
        sys.stdout.write(text)


@settings_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default=None, help="Default: from the file name.")
def import_command(path: str, fmt: str | None) -> None:
    """Apply a YAML/JSON file of settings: all of them, or none if any is invalid."""
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"nothing imported: {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") \
            from None
    try:
        changes = service.import_text(text, _fmt_for(path, fmt), actor=cli_actor())
    except (SettingError, ValueError) as exc:
        raise click.ClickException(f"nothing imported: {exc}") from None
    for key, (old, new) in changes.items():
        click.echo(f"{key}: {json.dumps(old)} -> {json.dumps(new)}")
    click.echo(f"{len(changes)} setting(s) changed")
