"""Feedback: the public API and widget (`api`, blueprint `feedback_api`), the triage console at
/admin/beta/feedback (`routes`, blueprint `feedback`), `flask nous feedback …` (`cli`) and the service
package they share (`service`)."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask

from nous import events
from nous.cli import nous
from nous.feedback.api import api_bp
from nous.feedback.cli import feedback_group
from nous.feedback.routes import bp
from nous.feedback.service import attachments

__all__ = ["api_bp", "bp", "init_app"]


def init_app(app: Flask) -> None:
    attachments.keep_image_memory()
    events.tester_removing.connect(_on_tester_removing)
    if "feedback" not in app.blueprints:
        app.register_blueprint(bp)
        app.register_blueprint(api_bp)
    if "feedback" not in nous.commands:
        nous.add_command(feedback_group)


def _on_tester_removing(_sender: Any, *, tester_id: uuid.UUID, actor: str, ip: str = "") -> Any:
    return attachments.delete_of_tester(tester_id, actor, ip)
