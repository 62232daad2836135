"""Tasks used by the tests. The worker subprocesses import this module by the dotted paths RQ stores."""

from __future__ import annotations

import os
import time

from rq import Retry, get_current_job

from nous.extensions import get_redis
from nous.jobs import report_progress, task


def _key(name: str) -> str:
    job = get_current_job()
    return f"test:{name}:{job.id if job else 'inline'}"


@task("tests.flaky", retry=(2, [1, 2]), priority=2, timeout=30)
def flaky(message: str = "flaky says no") -> None:
    """Fails every time, noting when each attempt ran."""
    get_redis().rpush(_key("attempts"), repr(time.time()))
    raise RuntimeError(message)


@task("tests.mark", retry=None, priority=5, timeout=30)
def mark(label: str = "") -> dict[str, float]:
    """Notes that (and when) it ran."""
    now = time.time()
    get_redis().rpush(_key("ran"), repr(now))
    return {"ran_at": now, "label": label}


@task("tests.slow", retry=(2, [0, 0]), priority=5, timeout=60)
def slow(seconds: float = 4.0) -> str:
    """Runs for a while (noting its pid), then counts one completion."""
    r = get_redis()
    r.set(_key("pid"), os.getpid())
    r.rpush(_key("started"), repr(time.time()))
    steps = 20
    for i in range(steps):
        report_progress(100 * i / steps, f"step {i + 1}")
        time.sleep(seconds / steps)
    r.incr(_key("completed"))
    return "done"


@task("tests.echo", retry=None, priority=9, timeout=30)
def echo(*args: object, **kwargs: object) -> dict[str, object]:
    """Returns what it was given."""
    return {"args": list(args), "kwargs": kwargs}


@task("tests.policy", retry=Retry(3, interval=[10, 60, 300]), priority=2, timeout=45)
def policy(x: int) -> int:
    """Doubles x (declared with an rq.Retry object)."""
    return x * 2


@task("tests.alerting", retry=None, priority=5, timeout=30, notify_on_failure=True)
def alerting() -> None:
    """Fails; its failure is emailed to the admin."""
    raise ValueError("the nightly report could not be built")
