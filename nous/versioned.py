"""A per-process copy of something the database holds, kept fresh through a version key in Redis.

Reads cost nothing most of the time: at most every `check_every` seconds one read asks Redis for the
version (one GET), and the copy is reloaded from the database only when another process changed it
since (a change applies everywhere within about a second, no restart). With Redis unreachable the copy
is reloaded every `offline_reload` seconds instead. Settings and the workflows' listened events use it.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

import redis

from nous.extensions import get_redis

log = logging.getLogger("nous.versioned")

T = TypeVar("T")


class Unavailable(Exception):
    """A loader could not read its source; the copy stays as it is (or `fallback`, before a first load)."""


class Followed(Generic[T]):
    def __init__(self, key: str, load: Callable[[], T], fallback: T, *, check_every: float = 0.5,
                 offline_reload: float = 5.0) -> None:
        self.key, self._load_value, self.check_every, self.offline_reload = key, load, check_every, offline_reload
        self.lock = threading.Lock()
        self.value: T = fallback
        self.version: bytes | None = None
        self.loaded = False
        self.loaded_at = 0.0
        self.checked_at = 0.0
        self.loads = 0  # how many times this process read the database for it (tests, diagnostics)

    def get(self) -> T:
        now = time.monotonic()
        if now - self.checked_at < self.check_every:
            return self.value
        with self.lock:
            if now - self.checked_at < self.check_every:
                return self.value
            try:
                version = get_redis().get(self.key)
            except (redis.RedisError, OSError):
                if not self.loaded or now - self.loaded_at >= self.offline_reload:
                    self._load(None)
            else:
                if not self.loaded or version != self.version:
                    self._load(version)  # read after the version: a change in between bumps it again
            self.checked_at = now
            return self.value

    def _load(self, version: bytes | None) -> None:
        try:
            value = self._load_value()
        except Unavailable:
            return  # not loaded: the next read tries again
        self.value, self.version, self.loaded, self.loaded_at = value, version, True, time.monotonic()
        self.loads += 1

    def changed(self) -> None:
        """After a commit that changed the source: every process reloads on its next look (a new random
        token, so an old copy can never match a version that a flushed Redis counts again), this one at once."""
        try:
            get_redis().set(self.key, uuid.uuid4().hex)
        except (redis.RedisError, OSError):
            log.warning("change not announced: Redis is unreachable; other processes see it within their "
                        "offline reload", extra={"key": self.key})
        with self.lock:
            self.loaded, self.checked_at = False, 0.0
