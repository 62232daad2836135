"""Workflows: declarative multi-step automations (JSON or YAML) whose steps run as jobs.

Other areas start the workflows that listen to their events by sending the event (`nous.events`)
after their commit; `init_app` connects `feedback.created`, `tester.joined` and `flag.changed` to
`service.trigger_event`, which never raises, runs no step inline and, when no enabled workflow
listens, touches no database.

Pieces: `schema` (documents and their validation), `expressions` (the safe `if`/`${{ }}` language),
`handlers/` (one file per step handler), `engine` (running steps crash-safely on the job layer),
`service` (everything the console, CLI and other areas call), `routes`, `cli`, `examples/`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask

from nous import events
from nous.workflows import service

bp = Blueprint("workflows", __name__, url_prefix="/admin/workflows")
log = logging.getLogger("nous.workflows")


def _on_feedback_created(sender: Any, feedback: dict[str, Any] | None = None, **_: Any) -> None:
    """`feedback.created` → workflows listening to it."""
    if feedback is not None:
        service.trigger_event("feedback.created", {"feedback": feedback})


def _on_tester_joined(sender: Any, *, tester: dict[str, Any], **_: Any) -> None:
    """`tester.joined` → workflows listening to it."""
    service.trigger_event("tester.joined", {"tester": tester})


def _on_flag_changed(sender: Any, *, data: dict[str, Any], **_: Any) -> None:
    """`flag.changed` → workflows listening to it."""
    service.trigger_event("flag.changed", data)


def init_app(app: Flask) -> None:
    # Loaded with the app, not with the package: routes import `bp` from here, and the CLI the whole area.
    from nous.cli import nous
    from nous.workflows import routes  # noqa: F401
    from nous.workflows.cli import workflows_group

    if "workflows" not in app.blueprints:
        app.register_blueprint(bp)
    if "workflows" not in nous.commands:
        nous.add_command(workflows_group)
    events.feedback_created.connect(_on_feedback_created)
    events.tester_joined.connect(_on_tester_joined)
    events.flag_changed.connect(_on_flag_changed)
