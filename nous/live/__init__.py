"""Live operations: the metrics collector, alert rules, and `/ws/live` streaming to the dashboard.

Other areas tell live viewers about changes through the named events of `nous.events`, which live
relays to its topics (RELAYS below); the topics and the shape of each event are documented in
`nous.live.events`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

from nous import events as nous_events  # `events` is the name of this package's topics module
from nous import held
from nous.cli import nous
from nous.live.events import TOPICS, publish
from nous.live.hub import Hub

bp = Blueprint("live", __name__)

from nous.live import routes  # noqa: E402,F401  # the routes register on `bp`
from nous.live.alerts import fmt  # noqa: E402
from nous.live.cli import metrics_group  # noqa: E402


def _relay(topic: str) -> Any:
    """A listener that hands a named event's `event` (the live shape of `topic`) to live viewers."""
    def relay(sender: Any, *, event: dict[str, Any], **_: Any) -> None:
        publish(topic, event)
    relay.__name__ = f"relay_{topic}"
    return relay


# Named event → live topic. Kept as module attributes: blinker holds listeners weakly.
RELAYS = {
    nous_events.job_changed: _relay("jobs"),
    nous_events.feedback_updated: _relay("feedback"),
    nous_events.tester_changed: _relay("testers"),
    nous_events.flags_announced: _relay("flags"),
    nous_events.run_changed: _relay("workflows"),
}

__all__ = ["TOPICS", "bp", "init_app", "publish"]


def init_app(app: Flask) -> None:
    hub = app.extensions["nous.live.hub"] = Hub(lambda: app.extensions["nous.redis"])
    held.register(app, "live sockets", hub.count)
    if "live" not in app.blueprints:
        app.register_blueprint(bp)
    if metrics_group.name not in nous.commands:
        nous.add_command(metrics_group)
    app.jinja_env.filters["live_value"] = fmt
    for signal, relay in RELAYS.items():
        signal.connect(relay)
