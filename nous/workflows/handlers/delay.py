"""`delay`: wait before the next step (the worker is not held: the next step is scheduled later)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from nous.workflows.handlers import StepContext, handler

MAX_DELAY = 7 * 86400


@handler(
    "delay",
    "Waits `seconds` (up to 7 days) before the next step starts; no worker is held meanwhile.",
    params={"seconds": {"type": "number", "minimum": 0, "maximum": MAX_DELAY}},
    required=["seconds"],
    example={"seconds": 3600},
)
def delay(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    seconds = float(params["seconds"])
    ctx.delay_next = seconds
    until = datetime.now(UTC) + timedelta(seconds=seconds)
    return {"seconds": seconds, "next_step_at": until.isoformat(timespec="seconds")}
