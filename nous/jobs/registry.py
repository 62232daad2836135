"""Named tasks: the `@task` decorator, the registry it fills and the priority → queue mapping.

A task is a plain module-level function. The decorator leaves it callable as before and records
its policy (retries with the full list of intervals, priority 1–10, timeout); RQ imports it by
its dotted path, so the worker needs nothing but the module to be importable.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from croniter import croniter
from rq import Retry

from nous.jobs import runtime

F = TypeVar("F", bound=Callable[..., Any])

QUEUES = ("high", "default", "low")
NAME_RE = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
DEFAULT_RETRY: tuple[int, Sequence[int]] = (3, (15, 60, 300))
DEFAULT_TIMEOUT = 300
RESULT_TTL = 3600  # seconds RQ keeps a result; the summary lives on in the database
FAILURE_TTL = 7 * 86400

RetrySpec = tuple[int, Sequence[int]] | Retry | None


def queue_for(priority: int) -> str:
    """Priority 1–3 → high, 4–7 → default, 8–10 → low."""
    if not isinstance(priority, int) or isinstance(priority, bool) or not 1 <= priority <= 10:
        raise ValueError(f"priority must be a whole number from 1 to 10, got {priority!r}")
    return "high" if priority <= 3 else "default" if priority <= 7 else "low"


@dataclass(frozen=True)
class Task:
    name: str
    path: str  # what RQ imports: "package.module.function"
    func: Callable[..., Any]
    retry_max: int
    retry_intervals: tuple[int, ...]
    priority: int
    timeout: int
    cron: str | None = None
    interval: int | None = None
    notify_on_failure: bool = False
    description: str = ""

    @property
    def queue(self) -> str:
        return queue_for(self.priority)

    @property
    def max_attempts(self) -> int:
        return 1 + self.retry_max

    def rq_retry(self) -> Retry | None:
        return Retry(self.retry_max, interval=list(self.retry_intervals)) if self.retry_max else None

    def enqueue(self, *args: Any, **kwargs: Any) -> str:
        from nous.jobs import service  # the service imports this registry: imported on use

        return service.enqueue(self.name, *args, **kwargs)


tasks_registry: dict[str, Task] = {}


def _retry_policy(name: str, retry: RetrySpec) -> tuple[int, tuple[int, ...]]:
    if retry is None:
        return 0, ()
    if isinstance(retry, Retry):
        count, intervals = retry.max, list(retry.intervals)
    else:
        try:
            count, intervals = retry
            intervals = list(intervals)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: retry must be (max, [interval, …]), an rq.Retry or None") from None
    if not isinstance(count, int) or count < 0 or count > 50:
        raise ValueError(f"{name}: retry max must be a whole number from 0 to 50")
    if len(intervals) != count or not all(isinstance(i, int) and 0 <= i <= 7 * 86400 for i in intervals):
        raise ValueError(f"{name}: give one interval (seconds, 0–604800) per retry: "
                         f"{count} expected, got {intervals!r}")
    return count, tuple(intervals)


def task(name: str, *, retry: RetrySpec = DEFAULT_RETRY, priority: int = 5, timeout: int = DEFAULT_TIMEOUT,
         cron: str | None = None, interval: int | None = None, notify_on_failure: bool = False) -> Callable[[F], F]:
    """Declare a named task.

        @task("email.send", retry=(5, [10, 30, 60, 300, 900]), priority=3, timeout=60)
        def send_email(outbox_id: int) -> dict: ...

    `retry` is (max retries, one interval in seconds per retry) — exponential backoff written out —
    or None for no automatic retry. `cron` ("*/5 * * * *") or `interval` (seconds) also make it a
    recurring job that the worker keeps scheduled. Arguments must be ids and plain values.
    """
    if not NAME_RE.match(name or ""):
        raise ValueError(f"task name {name!r}: use dotted lower-case words, like 'email.send'")
    retry_max, intervals = _retry_policy(name, retry)
    queue_for(priority)
    if not isinstance(timeout, int) or not 1 <= timeout <= 86400:
        raise ValueError(f"{name}: timeout must be 1–86400 seconds")
    if cron is not None and not croniter.is_valid(cron):
        raise ValueError(f"{name}: {cron!r} is not a cron expression")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        raise ValueError(f"{name}: interval must be a whole number of seconds")

    def decorator(fn: F) -> F:
        path = f"{fn.__module__}.{fn.__qualname__}"
        if "<" in path:
            raise ValueError(f"{name}: tasks must be module-level functions (RQ imports them by name)")

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return runtime.run(name, fn, args, kwargs)

        existing = tasks_registry.get(name)
        if existing is not None and existing.path != path:
            raise ValueError(f"task {name!r} is already declared by {existing.path}")
        tasks_registry[name] = Task(
            name=name, path=path, func=wrapper, retry_max=retry_max, retry_intervals=intervals,
            priority=priority, timeout=timeout, cron=cron, interval=interval,
            notify_on_failure=notify_on_failure, description=(fn.__doc__ or "").strip().split("\n")[0],
        )
        wrapper.task = tasks_registry[name]  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorator


def discover() -> None:
    """Import every area's `tasks` module (the job layer's own among them) so the registry is complete."""
    from nous import AREAS  # the app's package imports the job layer: read on use

    importlib.import_module("nous.jobs.tasks")
    for area in AREAS:
        name = f"nous.{area}.tasks"
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(name)


def get(name: str) -> Task:
    """The task called `name`; raises KeyError with a readable message."""
    if name not in tasks_registry:
        discover()
    try:
        return tasks_registry[name]
    except KeyError:
        raise KeyError(f"no task named {name!r}") from None
