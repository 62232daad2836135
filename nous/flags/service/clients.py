"""The SDKs that registered (shown on the tokens page) and the evaluation counts they send. Kept in
Redis only: safe to lose."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import redis
from flask import current_app

from nous.clock import utcnow
from nous.extensions import get_redis
from nous.flags.cache import HOURS_KEPT
from nous.text import clean_text

CLIENTS_KEY = "nous:flags:clients"
CLIENTS_KEPT = 7 * 86400


APPS_KEPT = 100  # applications remembered per flag and environment; more are not added until some expire
# HSET the field unless the hash already holds ARGV[3] others: one token cannot fill Redis with names
_REMEMBER_APP = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 or redis.call('HLEN', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""


CLIENTS_MAX = 500  # SDK instances remembered: a token cannot fill Redis; the one seen longest ago makes room
CLIENTS_SEEN_KEY = "nous:flags:clients:seen"  # sorted set {field: when it last registered}
_CLIENT_FIELDS = {"appName": 200, "instanceId": 200, "sdkVersion": 100, "environment": 100, "started": 64}
# KEYS: the hash, the sorted set; ARGV: field, entry, CLIENTS_MAX, CLIENTS_KEPT, now (ms). Instances not seen for
# CLIENTS_KEPT seconds go; a new one past CLIENTS_MAX takes the place of the one seen longest ago.
_REMEMBER_CLIENT = """
local now, kept = tonumber(ARGV[5]), tonumber(ARGV[4])
for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - kept * 1000)) do
  redis.call('HDEL', KEYS[1], gone)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - kept * 1000)
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 then
  while redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) do
    local oldest = redis.call('ZPOPMIN', KEYS[2])
    local victim = oldest[1] or redis.call('HRANDFIELD', KEYS[1])
    redis.call('HDEL', KEYS[1], victim)
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], kept)
redis.call('EXPIRE', KEYS[2], kept)
return 1
"""


def _shown(value: Any, limit: int) -> Any:
    return clean_text(value)[:limit] if isinstance(value, str) else value


def record_client(info: Mapping[str, Any], token_name: str, flag_environment: str,
                  token_id: int | None = None) -> None:
    """Remember an SDK that registered (shown on the tokens page), with the flag environment its token
    answers for; safe to lose. Each text is cut to what the page shows (so the entry is always whole JSON);
    at most CLIENTS_MAX instances, each for CLIENTS_KEPT seconds after it last registered."""
    entry = {k: _shown(info.get(k), limit) for k, limit in _CLIENT_FIELDS.items()}
    entry["interval"] = info.get("interval")
    entry["strategies"] = [_shown(str(s), 100) for s in list(info.get("strategies") or [])[:50]]
    entry["token"] = token_name
    entry["token_id"] = token_id  # the tokens page shows its environment as it is now (a rename since)
    entry["flag_environment"] = flag_environment
    entry["seen"] = utcnow().isoformat()
    try:
        conn = get_redis()
        field = f"{info.get('appName')}|{info.get('instanceId') or ''}"[:300]  # as _registered_sdk looks it up
        conn.register_script(_REMEMBER_CLIENT)(keys=[CLIENTS_KEY, CLIENTS_SEEN_KEY], args=[
            field, json.dumps(entry, default=str), CLIENTS_MAX, CLIENTS_KEPT, time.time_ns() // 1_000_000])
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


SDK_PREFIX = "nous:flags:sdk:{environment}:"  # an environment's name holds no ':' (nor a glob character)
APPS_PREFIX = "nous:flags:sdk-apps:{environment}:"
SDK_HOUR_KEY = SDK_PREFIX + "{hour}:{flag}"  # hash {yes, no, v|variant: count}: one flag, one hour
APPS_KEY = APPS_PREFIX + "{flag}"  # hash {application: JSON {app, sdk, seen}}
APPS_PER_FLAG = 20  # applications shown per flag and environment (the ones seen last)


def sdk_name(header: str, body: Mapping[str, Any]) -> str:
    """The SDK and version of a metrics report: its `unleash-sdk` header (as the official SDKs send it),
    else the report's own sdkVersion."""
    return (header.strip() or str(body.get("sdkVersion") or "").strip())[:100]


def _registered_sdk(app_name: str, instance_id: str) -> str | None:
    """The SDK an application named when it registered (POST /api/client/register)."""
    try:
        raw = get_redis().hget(CLIENTS_KEY, f"{app_name}|{instance_id}"[:300])
        return (json.loads(raw).get("sdkVersion") or None) if raw else None
    except (redis.RedisError, OSError, ValueError, AttributeError):
        return None


def record_metrics(toggles: Mapping[str, Mapping[str, Any]], variants: Mapping[str, frozenset[str]], *,
                   environment: str, app_name: str, instance_id: str = "", sdk: str = "") -> int:
    """Keep an SDK's report {flag: {yes, no, variants}} for `environment` (flags this server knows only,
    `variants`: each one's variant names), per UTC hour, with the application and SDK that sent it. Kept
    apart from NOUS's own evaluation counts: the SDKs evaluate in their own processes, and these are their
    figures. Variants the flag does not have are left out ("disabled", the SDKs' answer when it is off,
    is kept), and at most APPS_KEPT applications per flag: what a client token can make Redis hold is
    bounded by the flags. Returns the number of flags kept; safe to lose (Redis down: dropped, warned)."""
    ours = {key: c for key, c in toggles.items() if key in variants}
    if not ours:
        return 0
    hour = int(time.time()) // 3600
    app = json.dumps({"app": app_name[:200], "sdk": sdk or _registered_sdk(app_name, instance_id) or "unknown",
                      "seen": utcnow().isoformat()})
    try:
        conn = get_redis()
        remember = conn.register_script(_REMEMBER_APP)
        pipe = conn.pipeline(transaction=False)
        for key, c in ours.items():
            counts_key = SDK_HOUR_KEY.format(environment=environment, hour=hour, flag=key)
            for answer in ("yes", "no"):
                if c.get(answer):
                    pipe.hincrby(counts_key, answer, int(c[answer]))
            for variant, n in (c.get("variants") or {}).items():
                if n and (variant in variants[key] or variant == "disabled"):
                    pipe.hincrby(counts_key, f"v|{variant}", int(n))
            pipe.expire(counts_key, HOURS_KEPT * 3600)
            remember(keys=[APPS_KEY.format(environment=environment, flag=key)],
                     args=[app_name[:200], app, APPS_KEPT, HOURS_KEPT * 3600], client=pipe)
        pipe.execute()
    except (redis.RedisError, OSError):
        current_app.logger.warning("flags: could not keep an SDK's metrics (Redis unreachable)")
        return 0
    return len(ours)


def sdk_usage(environment: str, key: str, hours: int = 24) -> dict[str, Any] | None:
    """What the SDKs reported for flag `key` in `environment` over the last `hours` hours: {yes, no, total,
    variants: {name: count}, apps: [{app, sdk, seen}] last seen first}; None when Redis cannot be reached."""
    now_hour = int(time.time()) // 3600
    try:
        pipe = get_redis().pipeline(transaction=False)
        for h in range(hours):
            pipe.hgetall(SDK_HOUR_KEY.format(environment=environment, hour=now_hour - h, flag=key))
        pipe.hgetall(APPS_KEY.format(environment=environment, flag=key))
        *hourly, raw_apps = pipe.execute()
    except (redis.RedisError, OSError):
        return None
    out: dict[str, Any] = {"yes": 0, "no": 0, "variants": {}}
    for data in hourly:
        for raw_field, raw_n in data.items():
            field = raw_field.decode()
            if field in ("yes", "no"):
                out[field] += int(raw_n)
            elif field.startswith("v|"):
                out["variants"][field[2:]] = out["variants"].get(field[2:], 0) + int(raw_n)
    out["total"] = out["yes"] + out["no"]
    apps = []
    for value in raw_apps.values():
        try:
            apps.append(json.loads(value))
        except ValueError:
            continue
    out["apps"] = sorted(apps, key=lambda a: a.get("seen") or "", reverse=True)[:APPS_PER_FLAG]
    return out
