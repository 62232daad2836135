"""The SDKs that registered (shown on the tokens page) and the evaluation counts they send. Kept in
Redis only: safe to lose."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import redis
from flask import current_app

from nous.clock import utcnow
from nous.extensions import get_redis
from nous.flags.cache import EVALS

CLIENTS_KEY = "nous:flags:clients"
CLIENTS_KEPT = 7 * 86400


def record_client(info: Mapping[str, Any], token_name: str, flag_environment: str = "production") -> None:
    """Remember an SDK that registered (shown on the tokens page), with the flag environment its token
    answers for; safe to lose."""
    entry = {k: info.get(k) for k in ("appName", "instanceId", "sdkVersion", "environment", "interval", "started")}
    entry["strategies"] = list(info.get("strategies") or [])[:50]
    entry["token"] = token_name
    entry["flag_environment"] = flag_environment
    entry["seen"] = utcnow().isoformat()
    try:
        conn = get_redis()
        field = f"{entry['appName']}|{entry.get('instanceId') or ''}"[:300]
        pipe = conn.pipeline(transaction=False)
        pipe.hset(CLIENTS_KEY, field, json.dumps(entry, default=str)[:4000])
        pipe.expire(CLIENTS_KEY, CLIENTS_KEPT)
        pipe.execute()
    except (redis.RedisError, OSError):
        current_app.logger.warning("flags: could not record a client registration (Redis unreachable)")


def clients() -> list[dict[str, Any]]:
    try:
        raw = get_redis().hgetall(CLIENTS_KEY)
    except (redis.RedisError, OSError):
        return []
    out = []
    for value in raw.values():
        try:
            out.append(json.loads(value))
        except ValueError:
            continue
    return sorted(out, key=lambda c: c.get("seen") or "", reverse=True)


def record_metrics(toggles: Mapping[str, Mapping[str, int]], known: frozenset[str]) -> int:
    """Add an SDK's counts {flag: {yes, no}} to the evaluation counts (flags this server knows only)."""
    n = 0
    for key, c in toggles.items():
        if key in known:
            EVALS.add(key, int(c.get("yes", 0)), int(c.get("no", 0)))
            n += 1
    return n
