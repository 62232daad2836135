"""A submission sent again is stored once: the widget's `Idempotency-Key` (nous.idempotency).

The widget sends one key per submission and the same key again when it retries after its answer was lost
(a network failure, a gateway's 502-504): the server may have stored the first one. A submission with
the key of one stored in the last day is answered with that one's id; one that was refused gives its key
back, so the same key with corrected fields is stored. With Redis unreachable keys are not checked: the
submission is stored as it would be without one (a lost answer may then mean a second copy).
"""

from __future__ import annotations

import logging

import redis

from nous import idempotency
from nous.extensions import get_redis

log = logging.getLogger("nous.feedback")

PREFIX = "nous:feedback:idem:"


def take(key: str, fingerprint: str) -> idempotency.Claim | None:
    """The key's claim (`kept["id"]`: the id the first submission with it got), or None with Redis away.
    Raises idempotency.InProgress and idempotency.Reused."""
    try:
        return idempotency.Claim.take(get_redis(), PREFIX, key, fingerprint)
    except (redis.RedisError, OSError) as exc:
        log.warning("resent submissions cannot be recognised: Redis is unavailable", extra={"error": str(exc)})
        return None
