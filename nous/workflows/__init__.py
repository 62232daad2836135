"""Workflows: declarative multi-step automations (JSON or YAML) whose steps run as jobs.

Other areas start the workflows that listen to their events with one call, after their commit:

    from nous.workflows.service import trigger_event
    trigger_event("tester.joined", {"tester": tester.as_dict()})
    trigger_event("flag.changed", {"flag": flag.as_dict(), "actor": actor})

It never raises, runs no step inline and, when no enabled workflow listens, touches no database
(`service.trigger_event` says more). `feedback.created` is wired here to the feedback area's signal.

Pieces: `schema` (documents and their validation), `expressions` (the safe `if`/`${{ }}` language),
`handlers/` (one file per step handler), `engine` (running steps crash-safely on the job layer),
`service` (everything the console, CLI and other areas call), `routes`, `cli`, `examples/`.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, Flask

bp = Blueprint("workflows", __name__, url_prefix="/admin/workflows")
log = logging.getLogger("nous.workflows")


def _on_feedback_created(sender: Any, feedback: dict[str, Any] | None = None, **_: Any) -> None:
    """`feedback.created` → workflows listening to it (connected to the feedback area's signal)."""
    from nous.workflows.service import trigger_event

    if feedback is not None:
        trigger_event("feedback.created", {"feedback": feedback})


def init_app(app: Flask) -> None:
    from nous.cli import nous
    from nous.workflows import routes  # noqa: F401
    from nous.workflows.cli import workflows_group

    if "workflows" not in app.blueprints:
        app.register_blueprint(bp)
    if "workflows" not in nous.commands:
        nous.add_command(workflows_group)
    try:
        from nous.feedback.service import feedback_created
    except ImportError:  # the feedback area is absent: no event to listen to
        return
    feedback_created.connect(_on_feedback_created, weak=False)
