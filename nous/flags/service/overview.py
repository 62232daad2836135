"""What the console's list and `flags list` show of each flag: state, who gets it in a few words,
last change, the stale marker and the evaluation counts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis

from nous.clock import aware, utcnow
from nous.extensions import get_redis
from nous.flags.cache import is_stale, read_counts
from nous.flags.models import Flag
from nous.flags.service.clients import sdk_usage
from nous.flags.service.environments import check_environment, default_environment, environment_names
from nous.flags.service.versions import list_flags
from nous.settings import service as settings

PERCENT_STRATEGIES = ("gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom")


def counts(environment: str | None = None) -> dict[str, dict[str, int]]:
    """`environment`'s evaluation counts per flag (all time and last 24 h); {} when Redis cannot be reached."""
    try:
        return read_counts(get_redis(), environment=environment or default_environment())
    except (redis.RedisError, OSError):
        return {}


def flag_counts(key: str, environment: str | None = None) -> dict[str, int] | None:
    """Flag `key`'s evaluation counts in `environment` (as counts() has them); None when Redis cannot be reached."""
    try:
        return read_counts(get_redis(), environment=environment or default_environment(), key=key).get(key, {})
    except (redis.RedisError, OSError):
        return None


def usage(key: str) -> list[dict[str, Any]]:
    """Per environment (the admin's order): NOUS's own evaluation counts of flag `key` (`nous`: all time and
    last 24 h) beside what the SDKs reported in the last 24 h (`sdk`: yes/no, variants, the applications and
    SDKs that sent them). Each is None when Redis cannot be reached."""
    return [{"environment": name, "nous": flag_counts(key, name), "sdk": sdk_usage(name, key)}
            for name in environment_names()]


def stale_days() -> int:
    return settings.get("flags.stale_days")


def flag_is_stale(flag: Flag) -> bool:
    return not flag.archived and is_stale(flag.type, aware(flag.updated_at), stale_days())


def _strategy_text(s: Mapping[str, Any]) -> str:
    params = s.get("parameters") or {}
    name = s.get("name")
    if name == "default":
        return "everyone"
    if name == "flexibleRollout":
        return f"{params.get('rollout', '?')} %"
    if name in PERCENT_STRATEGIES:
        return f"{params.get('percentage', '?')} %"
    if name == "userWithId":
        return f"{len([u for u in str(params.get('userIds', '')).split(',') if u.strip()])} user(s)"
    if name == "remoteAddress":
        return "IP list"
    return str(name)


def rollout_summary(flag: Flag) -> str:
    """A few words for the list: who gets the flag (and in which variants, and on which parents)."""
    if not flag.enabled:
        return "off"
    strategies = [s for s in flag.strategies or [] if isinstance(s, Mapping) and s.get("disabled") is not True]
    parts = []
    for s in strategies:
        cons = len(s.get("constraints") or []) + len(s.get("segments") or [])
        parts.append(_strategy_text(s) + (f" if {cons} condition(s)" if cons else ""))
    summary = " or ".join(parts) or "everyone"
    if flag.variants:
        summary += f" · {len(flag.variants)} variant{'' if len(flag.variants) == 1 else 's'}"
    parents = [str(d.get("feature")) for d in flag.dependencies or [] if isinstance(d, Mapping)]
    if parents:
        summary += " · needs " + ", ".join(parents)
    return summary


def overview(q: str = "", archived: bool = False, environment: str | None = None) -> list[dict[str, Any]]:
    """Rows for the console list and `flags list`: state (`environment`'s, and per environment in the
    list's order under "environments": name, on/off, who gets it, scheduled), type, last change, stale
    marker, counts (None when Redis cannot be reached)."""
    environment = check_environment(environment)
    flags = list_flags(q, archived, environment=environment)
    names = environment_names()
    try:
        evals: dict[str, dict[str, int]] | None = read_counts(get_redis(), environment=environment)
    except (redis.RedisError, OSError):
        evals = None  # not known: the counts are None, never a made-up 0
    days = stale_days()
    now = utcnow()
    rows = []
    for f in flags:
        c = evals.get(f.key, {}) if evals is not None else dict.fromkeys(("total", "recent", "recent_yes"))
        rows.append({
            "flag": f, "key": f.key, "type": f.type, "enabled": f.enabled, "archived": f.archived,
            "description": f.description, "version": f.version, "updated_at": aware(f.updated_at),
            "updated_by": f.updated_by, "stale": not f.archived and is_stale(f.type, aware(f.updated_at), days, now),
            "rollout": rollout_summary(f), "evaluations": c.get("total", 0), "evaluations_24h": c.get("recent", 0),
            "on_24h": c.get("recent_yes", 0), "enable_at": aware(f.enable_at), "disable_at": aware(f.disable_at),
            "environments": [{"name": name, "enabled": there.enabled, "rollout": rollout_summary(there),
                              "scheduled": bool(there.enable_at or there.disable_at)}
                             for name in names for there in (f.flag.in_(name),)],
        })
    return rows
