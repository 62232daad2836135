"""Sites the widget was refused on (kept in Redis for the Settings page), and allowing one of them."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from nous.extensions import get_redis
from nous.feedback.service.common import ValidationFailed
from nous.settings import registry as setting_types
from nous.settings import service as settings

log = logging.getLogger("nous.feedback")

REFUSED_KEY = "nous:feedback:refused-origins"  # sorted set: origin -> time of its last refusal
REFUSED_COUNTS_KEY = "nous:feedback:refused-origins:counts"  # hash: origin -> refusals
REFUSED_KEEP = 20  # the most recent ones; anyone can send any Origin header, so the list stays small
REFUSED_DAYS = 30
ORIGIN_MAX = 200
_ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$")
# One refusal, atomically: last time, count, and the oldest entries dropped beyond the bound.
_REFUSED_LUA = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  local gone = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


@dataclass(frozen=True)
class RefusedOrigin:
    origin: str
    count: int
    last: datetime


def web_origin(raw: str) -> str | None:
    """`raw` as an origin a site can be allowed by (https://app.example.com[:port], lower case), or None:
    "null" (sandboxed frames, files), "*", paths, odd characters."""
    raw = (raw or "").strip()
    if not raw or len(raw) > ORIGIN_MAX or raw == "*":
        return None
    try:
        [origin] = setting_types.parse("feedback.widget_origins", [raw])
    except (setting_types.SettingError, ValueError):
        return None
    return origin if _ORIGIN_RE.match(origin) else None


def record_refused_origin(raw: str) -> None:
    """Note that the widget was refused on this site (for the Settings page). Best effort: never raises."""
    origin = web_origin(raw)
    if origin is None:
        return
    conn = get_redis()
    try:
        conn.register_script(_REFUSED_LUA)(keys=[REFUSED_KEY, REFUSED_COUNTS_KEY],
                                           args=[origin, time.time(), REFUSED_KEEP, REFUSED_DAYS * 86400])
    except (redis.RedisError, OSError) as exc:
        log.warning("refused widget origin not recorded: Redis unreachable",
                    extra={"origin": origin, "error": str(exc).splitlines()[0][:200] if str(exc) else ""})



def refused_origins() -> list[RefusedOrigin]:
    """Sites refused in the last 30 days that are still not allowed, the latest first.
    Raises redis.RedisError when Redis is unreachable."""
    conn = get_redis()
    since = time.time() - REFUSED_DAYS * 86400
    with conn.pipeline(transaction=False) as pipe:
        pipe.zrevrangebyscore(REFUSED_KEY, "+inf", since, withscores=True)
        pipe.hgetall(REFUSED_COUNTS_KEY)
        rows, counts = pipe.execute()
    allowed = set(settings.get("feedback.widget_origins"))
    out = []
    for member, score in rows:
        origin = member.decode() if isinstance(member, bytes) else str(member)
        if origin in allowed or "*" in allowed:
            continue
        count = counts.get(member if isinstance(member, bytes) else origin.encode(), b"1")
        out.append(RefusedOrigin(origin, int(count), datetime.fromtimestamp(score, UTC)))
    return out


def allow_origin(raw: str, actor: str, ip: str = "") -> str:
    """Add a site to the setting feedback.widget_origins (audited) and drop it from the refused list.
    Returns the origin as stored; raises ValidationFailed for something that is not a site's origin."""
    origin = web_origin(raw)
    if origin is None:
        raise ValidationFailed({"origin": f"{str(raw)[:100]!r} is not a site's origin like https://app.example.com"})
    current = list(settings.get("feedback.widget_origins"))
    if origin not in current and "*" not in current:
        settings.set_value("feedback.widget_origins", [*current, origin], actor=actor, ip=ip)
    try:
        with get_redis().pipeline() as pipe:
            pipe.zrem(REFUSED_KEY, origin)
            pipe.hdel(REFUSED_COUNTS_KEY, origin)
            pipe.execute()
    except (redis.RedisError, OSError):
        pass  # allowed all the same; the list leaves out allowed sites anyway
    return origin
