"""`flask nous email test|outbox`."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from nous.audit import service as audit
from nous.cli import cli_actor
from nous.email import service
from nous.email.models import SENT, STATUSES

email_group = AppGroup("email", help="Email: connection test and the outbox.")


@email_group.command("test")
@click.option("--to", "to", default=None, help="Also send the test email to this address (now, from this process).")
def test_command(to: str | None) -> None:
    """Connect to the SMTP server as configured (EMAIL_*); with --to, send a test email. Exit 1 on failure."""
    if to is not None:
        try:
            to = service.check_address(to)
        except service.EmailError as exc:
            raise click.BadParameter(str(exc), param_hint="--to") from None
    ok, detail = service.test_connection()
    click.echo(("ok: " if ok else "failed: ") + detail)
    if not ok:
        sys.exit(1)
    if to:
        actor = cli_actor()
        msg = service.create_message(to, "test", {"sent_by": actor}, actor=actor)
        msg = service.send_now(msg.id)
        audit.record(actor, "email.test", to, after={"outbox_id": msg.id, "status": msg.status})
        if msg.status != SENT:
            click.echo(f"not sent (outbox #{msg.id}): {msg.last_error}")
            sys.exit(1)
        click.echo(f"sent to {to} (outbox #{msg.id}, {msg.message_id})")


@email_group.command("outbox")
@click.option("--status", type=click.Choice(STATUSES), default=None, help="Only messages in this state.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines.")
def outbox_command(status: str | None, limit: int, as_json: bool) -> None:
    """Messages in the outbox, newest first, with their fate."""
    rows, _ = service.list_outbox(status=status or "", limit=limit)
    if not rows and not as_json:
        click.echo("the outbox is empty" if not status else f"no {status} messages")
    for m in rows:
        if as_json:
            click.echo(json.dumps(m.as_dict(), default=str))
        else:
            err = f"  {m.last_error[:70]}" if m.last_error else ""
            click.echo(f"#{m.id:<6} {m.created_at:%Y-%m-%d %H:%M}  {m.status:<8} x{m.attempts}  {m.to_addr:<30} "
                       f"{m.subject[:50]}{err}")
