"""Step handlers for the tests only (loaded through NOUS_WORKFLOW_HANDLER_MODULES in workers).

`test.record` notes each execution in Redis — `wftest:started:<key>` when it starts and
`wftest:done:<key>` when it completes — so a test can count how often a step really ran.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from nous.extensions import get_redis
from nous.workflows.handlers import StepContext, StepError, handler

MODULE = __name__


def started(key: str) -> list[dict[str, Any]]:
    return [json.loads(v) for v in get_redis().lrange(f"wftest:started:{key}", 0, -1)]


def done(key: str) -> list[dict[str, Any]]:
    return [json.loads(v) for v in get_redis().lrange(f"wftest:done:{key}", 0, -1)]


@handler(
    "test.record",
    "Tests only: notes the execution in Redis, optionally sleeps first and fails the first attempts.",
    params={"key": {"type": "string"}, "value": {}, "sleep": {"type": "number", "minimum": 0},
            "fail_times": {"type": "integer", "minimum": 0}, "error": {"type": "string"},
            "retryable": {"type": "boolean"}},
    required=["key"],
)
def record(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    r = get_redis()
    note = json.dumps({"attempt": ctx.attempt, "run": ctx.run_id, "value": params.get("value"), "at": time.time(),
                       "pid": os.getpid()})
    r.rpush(f"wftest:started:{params['key']}", note)
    if params.get("sleep"):
        time.sleep(float(params["sleep"]))
    if ctx.attempt <= int(params.get("fail_times", 0)):
        raise StepError(params.get("error") or f"planned failure on attempt {ctx.attempt}",
                        retryable=params.get("retryable", True))
    r.rpush(f"wftest:done:{params['key']}", note)
    return {"key": params["key"], "value": params.get("value"), "attempt": ctx.attempt}


@handler("test.boom", "Tests only: raises an unexpected exception.", params={"message": {"type": "string"}})
def boom(params: dict[str, Any], ctx: StepContext) -> None:
    raise ZeroDivisionError(params.get("message", "boom"))


@handler("test.sleep", "Tests only: sleeps (to hit the step timeout).", params={"seconds": {"type": "number"}},
         required=["seconds"])
def sleep(params: dict[str, Any], ctx: StepContext) -> dict[str, float]:
    time.sleep(float(params["seconds"]))
    return {"slept": float(params["seconds"])}
