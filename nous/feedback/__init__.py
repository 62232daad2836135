"""Feedback: the public API and widget, and the triage console at /admin/beta/feedback."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("feedback", __name__)

from nous.feedback import api, routes  # noqa: E402,F401


def init_app(app: Flask) -> None:
    from nous.cli import nous
    from nous.feedback.cli import feedback_group, seed_demo_command

    app.register_blueprint(bp)
    if "feedback" not in nous.commands:
        nous.add_command(feedback_group)
    if "seed-demo" not in nous.commands:
        nous.add_command(seed_demo_command)
