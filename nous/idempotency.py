"""`Idempotency-Key`: a request sent again after its answer was lost is carried out once.

A client sends a key of its own with a request that creates something, and the same key when it sends
that request again. The first request claims the key in Redis with a fingerprint of what it asks for
(`fingerprint`), runs, and keeps what a retry needs to be answered the same (`Claim.keep`); a request
that fails or is refused gives the key back (`Claim.forget`), so the same key may try again. A retry
with the key of a request still running gets `InProgress` (409), with the key of another request
`Reused` (422). Used by the admin API (every creating POST) and the feedback API (the widget's retry).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import redis

log = logging.getLogger("nous.idempotency")

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_MAX = 255
KEY_RULE = f"1 to {KEY_MAX} visible ASCII characters"
KEPT_SECONDS = 24 * 3600
RUNNING_SECONDS = 120  # a request still running after this long is taken as lost
_KEY = re.compile(rf"[\x21-\x7e]{{1,{KEY_MAX}}}")


class InProgress(Exception):
    """The first request with this key has not been answered yet."""


class Reused(Exception):
    """The key was sent before with another request."""


def valid_key(key: str) -> bool:
    return _KEY.fullmatch(key) is not None


def fingerprint(*parts: bytes) -> str:
    """What a request asks for (its body, and whatever else tells two requests apart), to tell a retry from
    another request sent under the same key. Each part goes in with its length (no part is copied)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


@dataclass
class Claim:
    conn: redis.Redis
    name: str  # the Redis key
    fp: str
    kept: dict[str, Any] = field(default_factory=dict)  # a replay: what the first request kept

    @classmethod
    def take(cls, conn: redis.Redis, prefix: str, scope: str, fp: str) -> Claim:
        """Claim the key (`scope`: the key and whatever else it is unique within) for this request, or find
        what the first request with it kept (`kept`). Raises InProgress, Reused, and Redis's errors."""
        name = prefix + hashlib.sha256(scope.encode()).hexdigest()
        if conn.set(name, json.dumps({"fp": fp}), nx=True, ex=RUNNING_SECONDS):
            return cls(conn, name, fp)
        stored = conn.get(name)
        kept = json.loads(stored) if stored else {}
        if kept.get("fp") != fp:
            raise Reused
        if "answer" not in kept:
            raise InProgress
        return cls(conn, name, fp, kept["answer"])

    def keep(self, answer: dict[str, Any]) -> None:
        """What a retry is answered with, for KEPT_SECONDS."""
        self._write(lambda: self.conn.set(self.name, json.dumps({"fp": self.fp, "answer": answer}),
                                          ex=KEPT_SECONDS))

    def forget(self) -> None:
        """Nothing was made: the same key may try again."""
        self._write(lambda: self.conn.delete(self.name))

    def _write(self, call: Any) -> None:
        # Once the request has run, Redis going away must not turn what it did into an error: the answer is
        # given without being kept.
        try:
            call()
        except (redis.RedisError, OSError) as exc:
            log.warning("idempotency key not kept", extra={"dependency": "Redis", "error": str(exc)})
