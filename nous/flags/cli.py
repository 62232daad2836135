"""`flask nous flags list|show|create|enable|disable|rollout|override|archive|import|export|history|restore|tokens`.

Exit status 0 on success, 1 with a one-line reason on stderr when the change is refused (2 for a
command used wrongly, from click). Every change is audited with the actor `cli:<user>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click

from nous.cli import cli_actor
from nous.flags import service


def _actor() -> str:
    return cli_actor()


def refusals(fn: Callable[..., Any]) -> Callable[..., Any]:
    """FlagError → `Error: …` on stderr and exit status 1, with one line per field."""

    @wraps(fn)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except service.FlagError as exc:
            lines = [exc.message, *(f"  {k}: {v}" for k, v in exc.errors.items())]
            raise click.ClickException("\n".join(lines)) from None

    return wrapped


environment_option = click.option(
    "--environment", "-e", default=None, metavar="NAME",
    help="The flag environment whose switch, strategies and schedule this reads or changes (default: the "
         "setting flags.environment, production at first).")


def _no_environment(name: object, every: bool) -> click.ClickException:
    names = service.environment_names()
    return click.ClickException(f"There is no environment {name!r}; there are {', '.join(names)}"
                                + (f" (or {service.ALL_ENVIRONMENTS} for every one)." if every else "."))


def _environment(name: str) -> str:
    """An environment named on the command line; an unknown one stops the command (exit status 1) naming the
    ones there are."""
    try:
        return service.check_environment(name)
    except service.FlagError:
        raise _no_environment(name, every=False) from None


def _transfer_environment(name: str | None) -> str | None:
    """The environment an export or import names on the command line (None for none or `*`: every one); an
    unknown one stops the command (exit status 1) naming the ones there are."""
    try:
        return service.transfer_environment(name)
    except service.FlagError:
        raise _no_environment(name, every=True) from None


def _echo_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@click.group("flags")
def flags_group() -> None:
    """Feature flags (changes reach every process within a second)."""


@flags_group.command("list")
@click.option("--archived", is_flag=True, help="List the archived flags instead.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.argument("query", required=False, default="")
@environment_option
@refusals
def list_command(archived: bool, as_json: bool, query: str, environment: str) -> None:
    """Flags with state, type, who gets them, evaluations and last change (QUERY filters by key/description);
    state and who in one environment (the JSON has every environment's)."""
    rows = service.overview(query, archived, environment=environment)
    if as_json:
        _echo_json([{k: v for k, v in r.items() if k != "flag"} for r in rows])
        return
    if not rows:
        click.echo("no flags" + (" in the archive" if archived else ""))
        return
    click.echo(f"{'key':<32} {'state':<5} {'type':<12} {'evals 24h':>9} {'last change':<17} who")
    for r in rows:
        state = "on" if r["enabled"] else "off"
        marks = " (stale)" if r["stale"] else ""
        when = r["updated_at"].strftime("%Y-%m-%d %H:%M") if r["updated_at"] else ""
        evals = "?" if r["evaluations_24h"] is None else r["evaluations_24h"]  # Redis unreachable
        click.echo(f"{r['key']:<32} {state:<5} {r['type']:<12} {evals:>9} {when:<17} "
                   f"{r['rollout']}{marks}")


@flags_group.command("show")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print the flag as JSON.")
@environment_option
@refusals
def show_command(key: str, as_json: bool, environment: str) -> None:
    """One flag: definition, schedule and version, in one environment."""
    flag = service.get_flag(key, environment=environment)
    state = {**flag.state(), "version": flag.version, "updated_by": flag.updated_by,
             "updated_at": flag.updated_at, "stale": service.flag_is_stale(flag)}
    if as_json:
        _echo_json(state)
        return
    click.echo(f"{flag.key}  ({flag.type}, {'on' if flag.enabled else 'off'} in {flag.environment}"
               f"{', archived' if flag.archived else ''}{', stale' if state['stale'] else ''})")
    if flag.description:
        click.echo(f"  {flag.description}")
    click.echo(f"  who: {service.rollout_summary(flag)}")
    click.echo(f"  version {flag.version}, changed {state['updated_at']} by {flag.updated_by}")
    for name in ("enable_at", "disable_at"):
        if state[name]:
            click.echo(f"  {name.replace('_', ' ')}: {state[name]}")
    click.echo(json.dumps({"strategies": state["strategies"], "variants": state["variants"],
                           "dependencies": state["dependencies"]}, indent=2, ensure_ascii=False))
    for tester in service.overriding_testers(flag.key):
        click.echo(f"  override: {tester['email']} forced {'on' if tester['on'] else 'off'}")


@flags_group.command("create")
@click.argument("key")
@click.option("--type", "flag_type", type=click.Choice(service.FLAG_TYPES), default="release", show_default=True)
@click.option("--description", default="", help="What the flag is for.")
@click.option("--enabled/--disabled", default=False, show_default=True)
@environment_option
@refusals
def create_command(key: str, flag_type: str, description: str, enabled: bool, environment: str) -> None:
    """A new flag (no strategies: on for everyone once enabled), switched as asked in one environment
    and off in the others."""
    flag = service.create_flag({"key": key, "type": flag_type, "description": description, "enabled": enabled},
                               actor=_actor(), environment=environment)
    click.echo(f"created {flag.key} ({'on' if flag.enabled else 'off'})")


@flags_group.command("enable")
@click.argument("key")
@environment_option
@refusals
def enable_command(key: str, environment: str) -> None:
    """Switch a flag on in one environment (its strategies there decide who gets it)."""
    flag = service.set_enabled(key, True, actor=_actor(), environment=environment)
    click.echo(f"{flag.key} is on in {flag.environment} (version {flag.version})")


@flags_group.command("disable")
@click.argument("key")
@environment_option
@refusals
def disable_command(key: str, environment: str) -> None:
    """Switch a flag off for everyone in one environment (tester overrides still win)."""
    flag = service.set_enabled(key, False, actor=_actor(), environment=environment)
    click.echo(f"{flag.key} is off in {flag.environment} (version {flag.version})")


@flags_group.command("rollout")
@click.argument("key")
@click.argument("percentage")
@environment_option
@refusals
def rollout_command(key: str, percentage: str, environment: str) -> None:
    """Set the rollout percentage (0–100) of the flag's first flexibleRollout strategy (added if missing)."""
    flag = service.set_rollout(key, percentage, actor=_actor(), environment=environment)
    click.echo(f"{flag.key}: {service.rollout_summary(flag)} (version {flag.version})")


@flags_group.command("override")
@click.argument("key")
@click.argument("tester")
@click.argument("value", type=click.Choice(service.OVERRIDE_VALUES))
@refusals
def override_command(key: str, tester: str, value: str) -> None:
    """Force a flag on or off for one tester (email or id), whatever its strategies say, or clear that."""
    user = service.find_tester(tester)
    if user is None:
        raise click.ClickException(f"{tester}: no such tester")
    service.set_tester_override(user.id, key, value, actor=_actor())
    click.echo(f"override of {key} for {user.email} cleared" if value == "clear"
               else f"{key} forced {value} for {user.email}")


@flags_group.command("archive")
@click.argument("key")
@refusals
def archive_command(key: str) -> None:
    """Archive a flag: off everywhere, hidden from clients, history kept."""
    service.archive_flag(key, actor=_actor())
    click.echo(f"{key} is archived")


@flags_group.command("history")
@click.argument("key")
@click.option("--limit", type=click.IntRange(1, 10_000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the versions with their diffs as JSON.")
@refusals
def history_command(key: str, limit: int, as_json: bool) -> None:
    """Versions of a flag, newest first, with what changed."""
    versions = service.history(key, limit)
    if as_json:
        _echo_json([v.as_dict() for v in versions])
        return
    for v in versions:
        click.echo(f"v{v.version:<4} {v.created_at:%Y-%m-%d %H:%M:%S}  {v.environment:<12} {v.action:<9} {v.actor}"
                   f"{'  (' + v.note + ')' if v.note else ''}")
        for d in v.diff or []:
            click.echo(f"        {d['path']}: {json.dumps(d['before'], ensure_ascii=False)} -> "
                       f"{json.dumps(d['after'], ensure_ascii=False)}")


@flags_group.command("restore")
@click.argument("key")
@click.argument("version", type=click.IntRange(1))
@refusals
def restore_command(key: str, version: int) -> None:
    """Make a flag what it was at VERSION (recorded as a new version)."""
    flag = service.restore_version(key, version, actor=_actor())
    click.echo(f"{key}: restored version {version} as version {flag.version}")


@flags_group.command("export")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="File (default: stdout).")
@click.option("--archived", is_flag=True, help="Include archived flags.")
@click.option("--environment", "-e", default=None, metavar="NAME",
              help="The environment whose switches and strategies are written (default: the setting "
                   "flags.environment); '*' for every environment.")
@click.option("--all-environments", "all_environments", is_flag=True,
              help="Every environment, in Unleash's full export (the same as -e '*').")
@refusals
def export_command(output: str | None, archived: bool, environment: str | None, all_environments: bool) -> None:
    """Write every flag and segment in the Unleash format: as one environment has them
    {"version": 2, "environment", "features", "segments"}, or every environment's switches and strategies
    {"version": 4, "environments", "features", "featureEnvironments", "featureStrategies", "segments", …}."""
    if all_environments and environment not in (None, service.ALL_ENVIRONMENTS):
        raise click.UsageError("Name one environment or --all-environments, not both.")
    chosen = None if all_environments else _transfer_environment(environment or service.default_environment())
    doc = service.export_document(include_archived=archived, environment=chosen)
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}", err=True)
    else:
        click.echo(text, nl=False)


@flags_group.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--mode", type=click.Choice(["merge", "replace"]), default="merge", show_default=True,
              help="merge: add and update; replace: also archive the flags not in the file (the file must "
                   "have every environment: flags and segments are shared).")
@click.option("--environment", "-e", default=None, metavar="NAME",
              help="The environment to import into (default, or '*': as the file says: a one-environment "
                   "file's, else the default one (the setting flags.environment); each environment of a full export "
                   "to the one of its name).")
@refusals
def import_command(path: str, mode: str, environment: str | None) -> None:
    """Apply an Unleash-format file; nothing changes when any part of it is invalid (nor when it names an
    environment this server lacks)."""
    chosen = _transfer_environment(environment)
    raw = click.open_file(path, "rb").read()
    report = service.import_document(service.parse_document(raw), mode=mode, actor=_actor(), environment=chosen)
    click.echo(f"imported ({mode}) into {', '.join(report.environments)}: {len(report.created)} created, "
               f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.archived)} archived, "
               f"{report.segments} segment(s)")
    for note in report.ignored:
        click.echo(f"  not imported, no place for it here: {note}")
    for label, keys in (("created", report.created), ("updated", report.updated), ("archived", report.archived)):
        for key in keys:
            click.echo(f"  {label}: {key}")


@flags_group.group("tokens")
def tokens_group() -> None:
    """Client tokens for the client APIs and the Unleash SDKs."""


@tokens_group.command("create")
@click.argument("name")
@environment_option
@refusals
def token_create_command(name: str, environment: str) -> None:
    """A new client token answering with one environment's flags; printed once (only its hash is stored)."""
    row, raw = service.create_token(name, actor=_actor(), environment=_environment(environment))
    click.echo(f"token {row.id} ({row.name}); keep it now, it is not shown again:", err=True)
    click.echo(raw)


@tokens_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def token_list_command(as_json: bool) -> None:
    """Tokens with their prefix, creation, last use and state."""
    rows = service.list_tokens()
    if as_json:
        _echo_json(rows)
        return
    for t in rows:
        state = f"revoked {t['revoked_at'][:16]}" if t["revoked_at"] else "active"
        click.echo(f"{t['id']:>4}  {t['name']:<24} {t['environment']:<12} {t['prefix']}…  "
                   f"created {t['created_at'][:16]}  "
                   f"last used {(t['last_used_at'] or 'never')[:16]}  {state}")


@tokens_group.command("revoke")
@click.argument("token_id", type=int)
@refusals
def token_revoke_command(token_id: int) -> None:
    """Revoke a token: clients using it get 401 within a second."""
    row = service.revoke_token(token_id, actor=_actor())
    click.echo(f"revoked token {row.id} ({row.name})")
