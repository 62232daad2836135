"""`flask nous workflows list|show|import|export|run|runs|cancel`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from nous import humanize
from nous.cli import cli_actor, emit
from nous.extensions import db
from nous.workflows import schema, service
from nous.workflows.engine import iso


def _actor() -> str:
    return cli_actor()


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


@click.group("workflows")
def workflows_group() -> None:
    """Workflows: list, import, export, run."""


@workflows_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def list_command(as_json: bool) -> None:
    """Every workflow with its trigger, state and last run."""
    workflows = service.list_workflows()
    last = service.last_runs([w.id for w in workflows])
    if as_json:
        emit([{**service.workflow_as_dict(w), "last_run": service.run_as_dict(last[w.id]) if w.id in last else None}
              for w in workflows], True)
        return
    if not workflows:
        click.echo("no workflows; add one with `flask nous workflows import FILE`")
        return
    click.echo(f"{'id':>4}  {'name':<36} {'state':<9} {'trigger':<28} {'steps':>5}  last run")
    for w in workflows:
        r = last.get(w.id)
        run = f"#{r.id} {r.status}" if r else "-"
        click.echo(f"{w.id:>4}  {w.name[:36]:<36} {'enabled' if w.enabled else 'disabled':<9} "
                   f"{w.trigger_label[:28]:<28} {len(w.steps):>5}  {run}")


@workflows_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default=None,
              help="Format of the files (default: from the extension or the content).")
@click.option("--enable/--disable", "enabled", default=None,
              help="Enable or disable the imported workflows (default: new ones enabled, others unchanged).")
def import_command(files: tuple[Path, ...], fmt: str | None, enabled: bool | None) -> None:
    """Create or update workflows from JSON or YAML files (matched by name)."""
    failed = 0
    for path in files:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            click.echo(f"{path}: cannot read: {exc}", err=True)
            failed += 1
            continue
        file_fmt = fmt or {".json": "json", ".yaml": "yaml", ".yml": "yaml"}.get(path.suffix.lower())
        try:
            wf, what = service.import_document(text, _actor(), fmt=file_fmt, enabled=enabled)
        except schema.DocumentInvalid as exc:
            failed += 1
            click.echo(f"{path}: refused", err=True)
            for p in exc.problems:
                click.echo(f"  {path}:{p.line or '?'}: {p.field + ': ' if p.field else ''}{p.message}", err=True)
            continue
        click.echo(f"{path}: {what} workflow {wf.name!r} (id {wf.id}, version {wf.version}, "
                   f"{'enabled' if wf.enabled else 'disabled'})")
    if failed:
        sys.exit(1)


@workflows_group.command("export")
@click.argument("name")
@click.option("--format", "fmt", type=click.Choice(["json", "yaml"]), default=None,
              help="Output format (default: the format it was written in).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of standard output.")
def export_command(name: str, fmt: str | None, output: Path | None) -> None:
    """Print (or write) a workflow's document, by name or id."""
    try:
        wf = service.find(name)
        text, _ = service.export(wf.id, fmt)
    except service.WorkflowError as exc:
        _fail(str(exc))
        return
    if output is None:
        click.echo(text, nl=not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")


@workflows_group.command("run")
@click.argument("name")
@click.option("--input", "input_", default="", help="Input as a JSON object, or @file.json.")
@click.option("--wait", is_flag=True,
              help="Wait for the run to end (a worker must be running); exit 1 unless it succeeded.")
@click.option("--timeout", type=click.IntRange(1, 86400), default=600, show_default=True,
              help="Seconds to wait with --wait.")
def run_command(name: str, input_: str, wait: bool, timeout: int) -> None:
    """Start a run of a workflow now (its steps run on the workers)."""
    if input_.startswith("@"):
        try:
            input_ = Path(input_[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            _fail(f"cannot read the input file: {exc}")
    try:
        wf = service.find(name)
        run_id = service.run_now(wf.id, input_, _actor())
    except service.WorkflowError as exc:
        _fail(str(exc))
        return
    click.echo(f"run {run_id} of {wf.name!r} queued")
    if not wait:
        return
    deadline = time.monotonic() + timeout
    while True:
        db.session.expire_all()
        run = service.get_run(run_id)
        if not run.active:
            break
        if time.monotonic() > deadline:
            _fail(f"run {run_id} is still {run.status} after {timeout} s")
        time.sleep(0.5)
    detail = service.run_detail(run_id)
    for s in detail["steps"]:
        extra = s.error or s.note
        click.echo(f"  {s.step_id:<24} {s.status:<10} attempts {s.attempts}" + (f"  {extra[:100]}" if extra else ""))
    failed = sum(1 for s in detail["steps"] if s.status == "failed")
    outcome = humanize.run_status_text(run.status, failed)
    click.echo(f"run {run_id}: {outcome}" + (f" ({run.error})" if run.error else ""))
    sys.exit(0 if run.status == "succeeded" else 1)


@workflows_group.command("runs")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def runs_command(name: str | None, limit: int, as_json: bool) -> None:
    """Recent runs (of one workflow, or all)."""
    try:
        wid = service.find(name).id if name else None
    except service.WorkflowError as exc:
        _fail(str(exc))
        return
    page = service.list_runs(wid, limit=limit)
    if as_json:
        emit([service.run_as_dict(r) for r in page.rows], True)
        return
    failed = service.failed_step_counts([r.id for r in page.rows])
    statuses = [humanize.run_status_text(r.status, failed.get(r.id, 0)) for r in page.rows]
    width = max([10, *map(len, statuses)])  # "succeeded with 2 failed steps" keeps the columns after it in line
    for r, status in zip(page.rows, statuses, strict=True):
        click.echo(f"#{r.id:<6} {r.workflow_name[:32]:<32} {status:<{width}} {r.trigger:<7} {engine_iso(r.created_at)}"
                   + (f"  {r.error[:80]}" if r.error else ""))


def engine_iso(value: object) -> str:
    return (iso(value) or "")[:19]


@workflows_group.command("cancel")
@click.argument("run_id", type=int)
def cancel_command(run_id: int) -> None:
    """Cancel a queued or running run."""
    try:
        run = service.cancel_run(run_id, _actor())
    except service.WorkflowError as exc:
        _fail(str(exc))
        return
    click.echo(f"run {run.id}: {run.status}")
