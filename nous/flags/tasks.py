"""RQ entry points of the flags area: the schedule (enable-at / disable-at), every minute."""

from __future__ import annotations

from nous.flags import service
from nous.jobs import task


@task("flags.apply_schedules", retry=(2, [10, 30]), priority=2, timeout=120, cron="* * * * *")
def apply_schedules() -> dict[str, list[str]]:
    """Switches flags on or off whose enable-at / disable-at time has come."""
    return {"changed": service.apply_schedules()}
