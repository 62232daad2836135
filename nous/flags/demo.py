"""Demo feature flags for `flask nous seed-demo`: one of each kind the console shows, on the features the
demo feedback talks about (a staged rollout with conditions, an A/B experiment with payloads, a kill
switch, a permission for an office network, a flag that waits for its parent, a scheduled launch)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nous.flags import service


def _rollout(pct: int, *constraints: dict[str, Any]) -> dict[str, Any]:
    return {"name": "flexibleRollout", "parameters": {"rollout": str(pct), "stickiness": "default"},
            "constraints": list(constraints)}


def demo_flags(now: datetime | None = None) -> list[dict[str, Any]]:
    launch = (now or datetime.now(UTC)) + timedelta(days=7)
    return [
        {"key": "voice.wake-word", "type": "release", "enabled": True,
         "description": "Hands-free 'Hey NOUS'. Rolling out to a quarter of testers on app 2.4 or newer.",
         "strategies": [_rollout(25, {"contextName": "appVersion", "operator": "SEMVER_GTE", "value": "2.4.0"})]},
        {"key": "calendar.smart-suggestions", "type": "experiment", "enabled": True,
         "description": "Which meeting-time suggestions do testers accept more often?",
         "strategies": [_rollout(100)],
         "variants": [{"name": "control", "weight": 500, "stickiness": "default"},
                      {"name": "ranked-v2", "weight": 500, "stickiness": "default",
                       "payload": {"type": "json", "value": '{"max_suggestions": 3}'}}]},
        {"key": "search.semantic-backend", "type": "kill-switch", "enabled": True,
         "description": "Turn off to send every search back to the keyword index at once."},
        {"key": "email-summary.weekly-digest", "type": "release", "enabled": True,
         "description": "The weekly digest email, for testers on the pro and team plans.",
         "strategies": [_rollout(100, {"contextName": "plan", "operator": "IN", "values": ["pro", "team"]})]},
        {"key": "travel.offline-maps", "type": "permission", "enabled": True,
         "description": "Offline maps, only from the office network while the licence is negotiated.",
         "strategies": [{"name": "remoteAddress", "parameters": {"IPs": "10.20.0.0/16, 192.0.2.10"},
                         "constraints": []}]},
        {"key": "calendar.suggestion-explanations", "type": "release", "enabled": True,
         "description": "Says why a time was suggested; only where smart suggestions are on.",
         "dependencies": [{"feature": "calendar.smart-suggestions"}]},
        {"key": "reminders.natural-language", "type": "release", "enabled": False,
         "description": "'Remind me after lunch' and the like; switches itself on next week.",
         "enable_at": launch.replace(hour=9, minute=0, second=0, microsecond=0).isoformat()},
    ]


def seed(actor: str) -> list[tuple[str, str]]:
    """Create the demo flags that do not exist yet (by key; existing ones stay as the admin made them).
    Returns (key, "created" | "exists") per demo flag."""
    out = []
    for data in demo_flags():
        try:
            service.create_flag(data, actor=actor)
        except service.FlagError as exc:
            if exc.status != 409:  # not "a flag with this key exists"
                raise
            out.append((data["key"], "exists"))
        else:
            out.append((data["key"], "created"))
    return out
