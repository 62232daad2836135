"""Step handlers: what a step's `uses:` names. One small function per handler, one file each.

    from nous.workflows.handlers import StepContext, handler

    @handler("text.shout", "Upper-cases a text.", params={"text": {"type": "string"}}, required=["text"])
    def shout(params: dict, ctx: StepContext) -> dict:
        return {"text": params["text"].upper()}

Put that in a module of this package and it is found (`discover()` imports every module here).
`params` are the step's `with` values after their templates are filled in, already checked against
the handler's JSON Schema; the return value (JSON-able) becomes the step's output. Raise `StepError`
for a failure (say whether another attempt could help), `StepSkipped` to skip with a reason.
Extra handler modules (tests, plugins) can be named in NOUS_WORKFLOW_HANDLER_MODULES (comma-separated).
"""

from __future__ import annotations

import importlib
import logging
import os
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("nous.workflows")

HandlerFn = Callable[[dict[str, Any], "StepContext"], Any]


class StepError(Exception):
    """The step failed. `retryable=False` when another attempt cannot help (bad parameters…)."""

    def __init__(self, message: str, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class StepSkipped(Exception):
    """The step does not apply here; the run goes on. The message says why."""


@dataclass
class StepContext:
    """What a handler knows about the step it runs for."""

    run_id: int
    step_id: str
    position: int
    attempt: int
    max_attempts: int
    timeout: float
    workflow: str
    data: Mapping[str, Any]  # the run context expressions see (input, steps' outputs, …)
    instance_path: Path
    delay_next: float | None = None  # set by `delay`: seconds before the next step starts
    notes: list[str] = field(default_factory=list)

    @property
    def actor(self) -> str:
        """Who the audit log names for changes this step makes."""
        return f"workflow:{self.workflow}"[:320]

    def note(self, message: str) -> None:
        self.notes.append(str(message)[:500])


@dataclass(frozen=True)
class Handler:
    name: str
    fn: HandlerFn
    description: str
    schema: dict[str, Any]  # JSON Schema of the step's `with`
    example: dict[str, Any] | None = None

    @property
    def params(self) -> dict[str, Any]:
        return self.schema.get("properties", {})

    @property
    def required(self) -> list[str]:
        return list(self.schema.get("required", []))


HANDLERS: dict[str, Handler] = {}
_discovered = False


def handler(name: str, description: str, *, params: dict[str, Any] | None = None, required: list[str] | None = None,
            example: dict[str, Any] | None = None, any_of: list[dict[str, Any]] | None = None
            ) -> Callable[[HandlerFn], HandlerFn]:
    """Register `fn` as the handler `name` with the JSON Schema of its parameters."""
    schema: dict[str, Any] = {"type": "object", "properties": params or {}, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    if any_of:
        schema["anyOf"] = any_of

    def decorator(fn: HandlerFn) -> HandlerFn:
        existing = HANDLERS.get(name)
        if existing is not None and existing.fn.__module__ != fn.__module__:
            raise ValueError(f"handler {name!r} is already registered by {existing.fn.__module__}")
        HANDLERS[name] = Handler(name, fn, description, schema, example)
        return fn

    return decorator


def discover() -> dict[str, Handler]:
    """Import every handler module of this package (and NOUS_WORKFLOW_HANDLER_MODULES) once."""
    global _discovered
    if not _discovered:
        for info in pkgutil.iter_modules(__path__):
            importlib.import_module(f"{__name__}.{info.name}")
        for extra in filter(None, (m.strip() for m in os.environ.get("NOUS_WORKFLOW_HANDLER_MODULES", "").split(","))):
            try:
                importlib.import_module(extra)
            except ImportError:
                log.exception("workflow handler module could not be imported", extra={"module": extra})
        _discovered = True
    return HANDLERS


def get(name: str) -> Handler | None:
    return discover().get(name)


def names() -> list[str]:
    return sorted(discover())
