"""A per-process copy of something the database holds, kept fresh through a version key in Redis.

Reads cost nothing most of the time: at most every `check_every` seconds one read asks Redis for the
version (one GET), and the copy is reloaded from the database only when another process changed it
since (a change applies everywhere within about a second, no restart). Every change writes a new
random token, never a counter: a Redis restarted empty counts from zero again, and a counter would
repeat a version a process still holds, so that process would miss the change. With Redis
unreachable the copy is reloaded every `offline_reload` seconds instead, and a copy loaded then announces
a new version once Redis answers again (a change made meanwhile, even by a process that has ended since,
could not be announced); with the database unreachable the last copy is kept and the load is tried again
after `retry_after` seconds.
Settings, the workflows' listened events, the admin sessions and tokens, and the flags use it.

A copy made for one `app` can be read without an app context (the flags are evaluated from any
thread): it asks that app's Redis and loads inside that app's context.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

import redis
from flask import Flask, current_app, has_app_context

from nous.extensions import get_redis

log = logging.getLogger("nous.versioned")

T = TypeVar("T")

# The version of a copy loaded while Redis was unreachable: equal to nothing Redis can answer, so the
# copy is reloaded once Redis answers again (a change made meanwhile could not be announced).
OFFLINE = object()
NEVER = float("-inf")


class Unavailable(Exception):
    """A loader could not read its source; the copy stays as it is (or `fallback`, before a first load)."""


class Followed(Generic[T]):
    """`get()` answers the current copy. `changed()` after a commit tells every process to reload.

    Readers never wait for a reload once a first copy exists (they answer from the current one while
    a single thread reloads); before the first load they wait for it rather than answer `fallback`.

    `app`: the copy belongs to that app (its Redis, its database), readable outside any app context.
    `before_check`: called before each version check, for work that travels with it (the flags'
    evaluation counts)."""

    def __init__(self, key: str, load: Callable[[], T], fallback: T, *, check_every: float = 0.5,
                 offline_reload: float = 5.0, retry_after: float | None = None,
                 connection: Callable[[], redis.Redis] | None = None, app: Flask | None = None,
                 before_check: Callable[[], None] | None = None) -> None:
        self.key, self._load_value, self.fallback = key, load, fallback
        self.check_every, self.offline_reload = check_every, offline_reload
        self.retry_after = check_every if retry_after is None else retry_after
        self.app = app
        if connection is None:
            connection = get_redis if app is None else lambda: app.extensions["nous.redis"]
        self.connection = connection
        self._before_check = before_check
        self.lock = threading.Lock()
        self.loads = 0  # how many times this process read the database for it (tests, diagnostics)
        self._forget()

    def _forget(self) -> None:
        self.value: T = self.fallback
        self.version: object = None
        self.loaded = False
        self.stale = False  # changed here, or the last load failed: load again regardless of the version
        self.unannounced = False  # changed here while Redis was unreachable: announce once it answers
        self.checked_at = self.loaded_at = self.retry_at = NEVER

    def reset(self) -> None:
        """Forget the copy, as a freshly started process (tests)."""
        with self.lock:
            self._forget()

    def get(self) -> T:
        if time.monotonic() - self.checked_at < self.check_every:
            return self.value
        return self.refresh()

    def recheck(self) -> T:
        """Ask for the version now rather than after `check_every` (one GET; a reload only when it changed):
        for a reader that missed something another process may have just added. Callers bound how often.
        Other readers go on answering from the copy meanwhile."""
        return self.refresh(force=True)

    def refresh(self, force: bool = False, wait: bool = False) -> T:
        """The copy after a look at the version (`force`: even within `check_every`). A reader that finds
        another thread looking answers from the current copy meanwhile, unless it must `wait` for that look
        (a reader that needs the copy of the version Redis holds now, like the flags' delta log)."""
        if self._before_check is not None:
            self._before_check()
        if not wait and self.loaded and not self.stale and self.lock.locked():
            return self.value  # another thread is looking (Redis may be hanging): answer from the copy meanwhile
        with self.lock:
            now = time.monotonic()
            if not force and now - self.checked_at < self.check_every:
                return self.value
            if self.loaded:
                self.checked_at = now  # other threads keep answering from the current copy meanwhile
            try:
                version: object = self.connection().get(self.key)
            except (redis.RedisError, OSError):
                version = OFFLINE
                due = not self.loaded or self.stale or now - self.loaded_at >= self.offline_reload
            else:
                # Back from an outage: Redis may answer the version it had, though a change was made meanwhile
                # that could not be announced — by this process (`unannounced`) or by one that has since
                # ended (a CLI command). A copy loaded while Redis was away announces once, so every process
                # (and what follows the version, like the flags' delta log) reloads and sees such a change.
                if self.unannounced or (self.loaded and self.version is OFFLINE):
                    announced = self._announce()
                    if announced is not None:
                        version, self.stale = announced, True  # reloaded now, under the version just written
                due = not self.loaded or self.stale or version != self.version
            if due and now >= self.retry_at:
                self._load(version, now)  # read after the version: a change in between announces again
            if not self.stale or now < self.retry_at:
                self.checked_at = now  # (a change announced during the load leaves it due at once)
            return self.value

    def _load(self, version: object, now: float) -> None:
        self.stale = False  # before reading: a change announced meanwhile sets it again
        try:
            value = self._read()
        except Unavailable:
            self.stale, self.retry_at = True, now + self.retry_after
            return
        self.value, self.version, self.loaded, self.loaded_at = value, version, True, now
        self.loads += 1

    def _read(self) -> T:
        """The loader's answer, inside the app's context when the copy has an app and it is not current."""
        app = self.app
        if app is None or (has_app_context() and current_app._get_current_object() is app):  # type: ignore[attr-defined]
            return self._load_value()
        with app.app_context():
            return self._load_value()

    def changed(self) -> None:
        """After a commit that changed the source: every process reloads on its next look (a new random
        token, so no process can hold it already), this one at once."""
        if self._announce() is None:
            log.warning("change not announced: Redis is unreachable; other processes see it within their "
                        "offline reload, or once this one reaches Redis again", extra={"key": self.key})
        self.stale, self.checked_at, self.retry_at = True, NEVER, NEVER

    def _announce(self) -> bytes | None:
        """Write a new version and answer it; None (and announce on the next look that reaches Redis) when
        unreachable. Until then a process that did not look while Redis was away keeps the version it holds."""
        token = uuid.uuid4().hex
        try:
            self.connection().set(self.key, token)
        except (redis.RedisError, OSError):
            self.unannounced = True
            return None
        self.unannounced = False
        return token.encode()
