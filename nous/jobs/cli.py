"""`flask nous worker` and `flask nous jobs list|stats|retry|cancel|delete|schedules|enqueue`."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import click
from flask.cli import AppGroup, with_appcontext

from nous import humanize
from nous.cli import cli_actor
from nous.clock import utcnow
from nous.jobs import service
from nous.jobs.registry import QUEUES
from nous.jobs.worker import run_worker


def _actor() -> str:
    return cli_actor()


def clear_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """What the command asked that cannot be done: one line on stderr and exit 1, never a traceback
    (an unreachable database or Redis is told the same way by the `nous` group for every command)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except service.JobError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def _fmt_ms(ms: float | None) -> str:
    return "-" if ms is None else f"{ms:,.0f}" if ms >= 100 else f"{ms:.1f}"


@click.command("worker")
@with_appcontext
@click.option("--burst", is_flag=True, help="Run the jobs that are queued, then stop.")
@click.option("--queues", default="high,default,low", show_default=True, help="Queues to listen on, in order.")
@click.option("--name", default=None, help="Worker name (default: a random id).")
@click.option("--job-monitoring-interval", type=click.IntRange(1, 300), default=5, show_default=True,
              help="Seconds between heartbeats of a running job.")
@click.option("--heartbeat-grace", type=click.IntRange(1, 3600), default=15, show_default=True,
              help="A job whose heartbeat is this many seconds late counts as abandoned and is retried.")
@click.option("--reconcile-interval", type=click.FloatRange(0.5, 3600), default=10, show_default=True,
              help="Seconds between two passes that put back jobs Redis lost (restart, flush) from the history.")
def worker_command(burst: bool, queues: str, name: str | None, job_monitoring_interval: int,
                   heartbeat_grace: int, reconcile_interval: float) -> None:
    """Run an RQ worker with its scheduler on the queues high, default, low."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    unknown = [q for q in names if q not in QUEUES]
    if unknown or not names:
        raise click.BadParameter(f"unknown queue {', '.join(unknown) or '(none)'}; use high, default, low",
                                 param_hint="--queues")
    run_worker(names, burst=burst, name=name, job_monitoring_interval=job_monitoring_interval,
               heartbeat_grace=heartbeat_grace, reconcile_interval=reconcile_interval)


# AppGroup: every command runs in an app context, however it is invoked (also by the test runner).
jobs_group = AppGroup("jobs", help="Background jobs: list, statistics, retry, cancel.")


@jobs_group.command("list")
@click.option("--status", type=click.Choice(service.STATES), default=None, help="Only jobs in this state.")
@click.option("--task", default="", help="Only this task (e.g. email.send).")
@click.option("--search", "q", default="", help="Text in the task, arguments or error.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
@clear_errors
def list_command(status: str | None, task: str, q: str, limit: int, as_json: bool) -> None:
    """Jobs from the history, newest first."""
    page = service.list_runs(service.RunFilter(status=status or "", task=task, q=q), limit=limit)
    if not page.rows and not as_json:
        click.echo("no jobs match")
    for r in page.rows:
        if as_json:
            d = r.as_dict()
            d.pop("traceback", None)
            click.echo(json.dumps(d, default=str))
        else:
            when = r.enqueued_at.strftime("%Y-%m-%d %H:%M:%S")
            err = f"  {r.error[:60]}" if r.error else ""
            click.echo(f"{r.job_id}  {when}  {r.status:<9} {humanize.attempts_text(r.attempts, r.max_attempts)}  "
                       f"{r.task:<24} "
                       f"{r.args_summary[:40]}{err}")


@jobs_group.command("stats")
@click.option("--hours", type=click.IntRange(1, 24 * 90), default=24, show_default=True, help="Time window.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@clear_errors
def stats_command(hours: int, as_json: bool) -> None:
    """Per task: counts by status, throughput per hour, failure rate, mean and p95 duration."""
    rows = service.stats(hours)
    if as_json:
        click.echo(json.dumps({"hours": hours, "tasks": rows, "queues": service.queues()}, indent=2, default=str))
        return
    click.echo(f"last {hours} h")
    click.echo(f"{'task':<26} {'finished':>8} {'failed':>7} {'active':>7} {'/hour':>8} {'fail %':>7} "
               f"{'mean ms':>9} {'p95 ms':>9}")
    for r in rows:
        c = r["counts"]
        active = sum(c[s] for s in ("queued", "scheduled", "started", "retrying"))
        rate = "-" if r["failure_rate"] is None else f"{100 * r['failure_rate']:.1f}"
        click.echo(f"{r['task']:<26} {c['finished']:>8} {c['failed']:>7} {active:>7} {r['per_hour']:>8} {rate:>7} "
                   f"{_fmt_ms(r['mean_ms']):>9} {_fmt_ms(r['p95_ms']):>9}")
    if not rows:
        click.echo("(no jobs in this window)")
    click.echo("\nqueues: " + ", ".join(f"{q['name']} {q['queued']} waiting/{q['scheduled']} scheduled/"
                                      f"{q['started']} running" for q in service.queues()))


@jobs_group.command("retry")
@click.argument("job_id", required=False)
@click.option("--all-failed", is_flag=True, help="Retry every failed job.")
@click.option("--task", default="", help="With --all-failed: only this task's jobs.")
@clear_errors
def retry_command(job_id: str | None, all_failed: bool, task: str) -> None:
    """Run a failed (or stopped, canceled, waiting) job again, or every failed job."""
    if bool(job_id) == all_failed:
        raise click.UsageError("give a JOB_ID or --all-failed (not both)")
    if all_failed:
        result = service.retry_all_failed(_actor(), task=task)
        click.echo(f"{result['retried']} failed job(s) queued again"
                   + (f"; {result['skipped']} could not run again" if result["skipped"] else ""))
        return
    try:
        service.retry(job_id or "", _actor())
    except service.JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{job_id}: queued again")


@jobs_group.command("cancel")
@click.argument("job_id")
@clear_errors
def cancel_command(job_id: str) -> None:
    """Cancel a waiting job (it never runs) or stop a running one."""
    try:
        status = service.cancel(job_id, _actor())
    except service.JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{job_id}: {status}")


@jobs_group.command("delete")
@click.argument("job_id")
@clear_errors
def delete_command(job_id: str) -> None:
    """Delete a job that is not running, from Redis and from the history."""
    try:
        service.delete_job(job_id, _actor())
    except service.JobError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{job_id}: deleted")


@jobs_group.command("enqueue")
@click.argument("task")
@click.argument("args", nargs=-1)
@click.option("--in", "delay", type=click.IntRange(0, 86400 * 30), default=0, help="Run in this many seconds.")
@clear_errors
def enqueue_command(task: str, args: tuple[str, ...], delay: int) -> None:
    """Enqueue TASK with ARGS (each parsed as JSON when it can be, else text)."""
    values = []
    for a in args:
        try:
            values.append(json.loads(a))
        except ValueError:
            values.append(a)
    try:
        at = utcnow() + timedelta(seconds=delay) if delay else None
        job_id = service.start_task(task, values, at=at, actor=_actor())
    except service.JobError as exc:  # the service's refusals (BadArguments among them); a fault stays loud
        raise click.ClickException(str(exc)) from None
    click.echo(job_id)


@jobs_group.command("schedules")
@clear_errors
def schedules_command() -> None:
    """Recurring jobs with their next run."""
    rows = service.list_schedules()
    if not rows:
        click.echo("no recurring jobs (the worker adds the declared ones when it starts)")
    for s in rows:
        when = s.cron or f"every {s.interval_seconds} s"
        click.echo(f"{s.name:<28} {s.task:<24} {when:<16} next {s.next_run_at:%Y-%m-%d %H:%M:%S}"
                   f"{'' if s.enabled else '  (disabled)'}")
