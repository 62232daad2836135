"""A workflow document as a whole: parse (text to a normalized definition, or every problem with its
line and field) and write back (the definition in the short form people write, as JSON or YAML)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from nous.workflows.schema.positions import DocumentInvalid, Problem, detect_format, load, plain_data
from nous.workflows.schema.validate import (
    DEFAULT_TIMEOUT,
    MAX_BACKOFF,
    describe,
    schema_problems,
    semantic_problems,
)

MAX_SOURCE = 200_000  # characters in one document


@dataclass
class Document:
    definition: dict[str, Any]
    source: str
    format: str  # json | yaml
    name_line: int | None = None


def _backoff(retry: dict[str, Any]) -> list[float]:
    count = int(retry.get("max", 0))
    backoff = retry.get("backoff", 10)
    if isinstance(backoff, list):
        values = [float(b) for b in backoff] or [10.0]
        return [values[min(i, len(values) - 1)] for i in range(count)]
    return [float(min(float(backoff) * 2 ** i, MAX_BACKOFF)) for i in range(count)]


def normalize(data: dict[str, Any]) -> dict[str, Any]:
    trigger = data.get("trigger", "manual")
    if isinstance(trigger, dict) and "event" in trigger:
        trig: dict[str, Any] = {"type": "event", "event": trigger["event"]}
    elif isinstance(trigger, dict) and "cron" in trigger:
        trig = {"type": "cron", "cron": trigger["cron"].strip(), "input": trigger.get("input") or {}}
    else:
        trig = {"type": "manual"}
    notify = data.get("notify") or {}
    steps = []
    for step in data["steps"]:
        retry = step.get("retry") or {}
        steps.append({
            "id": step["id"], "name": step.get("name", ""), "uses": step["uses"], "with": step.get("with") or {},
            "if": step.get("if"), "retry": {"max": int(retry.get("max", 0)), "backoff": _backoff(retry)},
            "timeout": float(step.get("timeout", DEFAULT_TIMEOUT)),
            "continue_on_error": bool(step.get("continue_on_error", False)),
        })
    return {"name": data["name"].strip(), "description": data.get("description", "").strip(), "trigger": trig,
            "notify": {"on": notify.get("on", "failure"), "to": list(notify.get("to", []))}, "steps": steps}


def parse(text: Any, fmt: str | None = None) -> Document:
    """Parse and validate a workflow document; raises DocumentInvalid naming line and field."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DocumentInvalid([Problem("the document is not UTF-8 text")]) from None
    if not isinstance(text, str):
        raise DocumentInvalid([Problem("the document must be text")])
    if len(text) > MAX_SOURCE:
        raise DocumentInvalid([Problem(f"the document is longer than {MAX_SOURCE} characters")])
    if "\x00" in text:
        raise DocumentInvalid([Problem("the document contains a NUL character")])
    if not text.strip():
        raise DocumentInvalid([Problem("the document is empty", "", 1, 1)])
    fmt = (fmt or detect_format(text)).lower()
    if fmt not in ("json", "yaml"):
        raise DocumentInvalid([Problem(f"unknown format {fmt!r}; use json or yaml")])
    data, out = load(text, fmt)
    if out.problems:
        raise DocumentInvalid(out.problems)
    data = plain_data(data, (), out)
    if not isinstance(data, dict):
        out.add((), f"the document must be a mapping with name, trigger and steps, not {describe(data)}")
        raise DocumentInvalid(out.problems)
    schema_problems(data, out)
    semantic_problems(data, out)
    if out.problems:
        raise DocumentInvalid(sorted(out.problems, key=lambda p: (p.line or 0, p.column or 0)))
    return Document(normalize(data), text, fmt, out.positions.at(("name",))[0])


def to_document(definition: dict[str, Any]) -> dict[str, Any]:
    """The definition back in the short form people write (defaults left out)."""
    trig = definition.get("trigger", {"type": "manual"})
    trigger: Any = "manual"
    if trig["type"] == "event":
        trigger = {"event": trig["event"]}
    elif trig["type"] == "cron":
        trigger = {"cron": trig["cron"], **({"input": trig["input"]} if trig.get("input") else {})}
    doc: dict[str, Any] = {"name": definition["name"]}
    if definition.get("description"):
        doc["description"] = definition["description"]
    doc["trigger"] = trigger
    notify = definition.get("notify") or {}
    if notify and (notify.get("on", "failure") != "failure" or notify.get("to")):
        doc["notify"] = {k: v for k, v in notify.items() if v}
    steps = []
    for s in definition["steps"]:
        step: dict[str, Any] = {"id": s["id"]}
        if s.get("name"):
            step["name"] = s["name"]
        step["uses"] = s["uses"]
        if s.get("if") is not None:
            step["if"] = s["if"]
        if s.get("with"):
            step["with"] = s["with"]
        if s.get("retry", {}).get("max"):
            step["retry"] = {"max": s["retry"]["max"], "backoff": [_num(b) for b in s["retry"]["backoff"]]}
        if s.get("timeout", DEFAULT_TIMEOUT) != DEFAULT_TIMEOUT:
            step["timeout"] = _num(s["timeout"])
        if s.get("continue_on_error"):
            step["continue_on_error"] = True
        steps.append(step)
    doc["steps"] = steps
    return doc


def _num(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def dump(definition: dict[str, Any], fmt: str) -> str:
    doc = to_document(definition)
    if fmt == "json":
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=100)


def iter_problems(text: str, fmt: str | None = None) -> Iterator[Problem]:
    """The problems of a document (none when it is valid): for validation as you type."""
    try:
        parse(text, fmt)
    except DocumentInvalid as exc:
        yield from exc.problems
