"""Workflow documents: parse JSON or YAML, validate against the JSON Schema and the rules a schema
cannot express, and report every problem with the line and the field it is about.

    name: Triage crash reports
    trigger:
      event: feedback.created
    steps:
      - id: classify
        uses: feedback.classify
        if: feedback.rating <= 2 and "crash" in lower(feedback.message)
        with:
          feedback: ${{ feedback }}
      - id: tag
        uses: feedback.update
        with: {id: "${{ feedback.id }}", add_tags: ["${{ steps.classify.output.category }}"]}
        retry: {max: 3, backoff: 10}

YAML is composed into nodes first (PyYAML's `compose` keeps each node's start mark), so a problem
found in the data can be traced back to its line. JSON gets the same positions through the same
path (JSON is YAML's flow style); when that fails the message still names the field.
"""

from __future__ import annotations

import difflib
import functools
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import yaml
from croniter import croniter

from nous.workflows import expressions
from nous.workflows import handlers as handler_registry

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

MAX_SOURCE = 200_000  # characters in one document
MAX_NODES = 20_000
MAX_STEPS = 50
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3600
MAX_BACKOFF = 86_400

# Events a workflow can listen to, with the data each brings (its keys become names in expressions).
EVENTS: dict[str, str] = {
    "feedback.created": "new feedback was stored; data: feedback {id, rating, message, feature, category, "
                        "status, email, tester_id, page_url, app_version, tags, …}",
    "tester.joined": "a tester accepted an invite; data: tester {id, email, role, …}",
    "flag.changed": "a feature flag was changed; data: flag {key, enabled, …}, actor",
}
CONTEXT_NAMES = ("input", "event", "trigger", "steps", "run", "workflow", "settings")
NOTIFY_ON = ("never", "failure", "always")
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"

STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id", "uses"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": STEP_ID_PATTERN,
               "x-message": "a step id is a letter or _ followed by letters, digits or _ (at most 64), "
                            "so expressions can name it: steps.<id>.output"},
        "name": {"type": "string", "maxLength": 200},
        "uses": {"type": "string", "minLength": 1, "maxLength": 100},
        "with": {"type": "object"},
        "if": {"type": ["string", "boolean"]},
        "retry": {
            "type": "object", "additionalProperties": False,
            "properties": {
                "max": {"type": "integer", "minimum": 0, "maximum": 10},
                "backoff": {"anyOf": [
                    {"type": "number", "minimum": 0, "maximum": MAX_BACKOFF},
                    {"type": "array", "items": {"type": "number", "minimum": 0, "maximum": MAX_BACKOFF},
                     "minItems": 1, "maxItems": 10},
                ], "x-message": "backoff is seconds before the first retry (doubled for each next one) or a "
                                f"list of seconds, one per retry (each 0–{MAX_BACKOFF})"},
            },
        },
        "timeout": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_TIMEOUT},
        "continue_on_error": {"type": "boolean"},
    },
}
DOCUMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "NOUS workflow",
    "type": "object",
    "required": ["name", "steps"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[^\x00-\x1f\x7f]+$"},
        "description": {"type": "string", "maxLength": 2000},
        "trigger": {
            "anyOf": [
                {"const": "manual"},
                {"type": "object", "required": ["manual"], "additionalProperties": False,
                 "properties": {"manual": {"const": True}}},
                {"type": "object", "required": ["event"], "additionalProperties": False,
                 "properties": {"event": {"enum": sorted(EVENTS)}}},
                {"type": "object", "required": ["cron"], "additionalProperties": False,
                 "properties": {"cron": {"type": "string", "minLength": 9, "maxLength": 100},
                                "input": {"type": "object"}}},
            ],
            "x-message": "trigger is `manual`, `{event: <name>}` (" + ", ".join(sorted(EVENTS)) + ") or "
                         "`{cron: \"<minute hour day month weekday>\"}`",
        },
        "notify": {
            "type": "object", "additionalProperties": False,
            "properties": {"on": {"enum": list(NOTIFY_ON)},
                           "to": {"type": "array", "items": {"type": "string", "minLength": 3, "maxLength": 320},
                                  "maxItems": 10}},
        },
        "steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS, "items": STEP_SCHEMA},
    },
}


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # imported on first use: the web process rarely needs it

    return Draft202012Validator(DOCUMENT_SCHEMA)

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    message: str
    field: str = ""
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = ", ".join(p for p in (f"line {self.line}" if self.line else "", self.field) if p)
        return f"{where}: {self.message}" if where else self.message

    def as_dict(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "field": self.field, "message": self.message,
                "text": str(self)}


class DocumentInvalid(ValueError):
    """The document was refused; `problems` says where and why (first problems first)."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        shown = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(shown + more)


@dataclass
class Document:
    definition: dict[str, Any]
    source: str
    format: str  # json | yaml
    name_line: int | None = None


def field_name(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class _Positions:
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def at(self, path: Path, key: bool = False) -> tuple[int | None, int | None]:
        """Where `path` starts (its key's position with `key`), else its nearest ancestor's."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while True:
            if p in self.values:
                return self.values[p]
            if not p:
                return None, None
            p = p[:-1]


class _Builder:
    """Problems with positions: one place that knows how to point at a field."""

    def __init__(self, positions: _Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, key: bool = False, column_offset: int | None = None) -> None:
        line, column = self.positions.at(path, key)
        if column is not None and column_offset:
            column += column_offset
        problem = Problem(message, field_name(path), line, column)
        if problem not in self.problems:
            self.problems.append(problem)


# --- parsing -----------------------------------------------------------------------------------

def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path, pos: _Positions, problems: _Builder, seen: set[int]) -> None:
    """Record where each value starts; refuse duplicate keys, non-text keys and aliases."""
    if id(node) in seen:
        problems.problems.append(Problem("aliases (*name) are not supported; write the value out",
                                         field_name(path), *_mark(node)))
        return
    seen.add(id(node))
    if len(seen) > MAX_NODES:
        raise DocumentInvalid([Problem(f"the document has more than {MAX_NODES} values")])
    pos.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        first: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                problems.problems.append(Problem("field names must be text", field_name(path), *_mark(key_node)))
                continue
            key = key_node.value
            if key == "<<":
                problems.problems.append(Problem("merge keys (<<) are not supported", field_name(path),
                                                 *_mark(key_node)))
                continue
            if key in first:
                problems.problems.append(Problem(f"duplicate field {key!r} (first on line {first[key]})",
                                                 field_name((*path, key)), *_mark(key_node)))
            first.setdefault(key, key_node.start_mark.line + 1)
            pos.keys[(*path, key)] = _mark(key_node)
            _walk(value_node, (*path, key), pos, problems, seen)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), pos, problems, seen)


def _plain_data(value: Any, path: Path, problems: _Builder) -> Any:
    """YAML's extra types made JSON: dates become ISO text; sets, bytes, NaN are refused."""
    if isinstance(value, dict):
        return {k: _plain_data(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_data(v, (*path, i), problems) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(path, "numbers must be finite (no .nan or .inf)")
        return None
    if isinstance(value, bytes | set | tuple):
        problems.add(path, f"{type(value).__name__} values are not supported")
        return None
    return value


def _compose(text: str, problems: _Builder) -> Any:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _walk(node, (), problems.positions, problems, set())
        if problems.problems:
            return None
        return loader.construct_document(node)
    finally:
        loader.dispose()


def detect_format(text: str) -> str:
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def _load(text: str, fmt: str) -> tuple[Any, _Builder]:
    problems = _Builder(_Positions())
    if fmt == "json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DocumentInvalid([Problem(f"invalid JSON: {exc.msg}", "", exc.lineno, exc.colno)]) from None
        except RecursionError:
            raise DocumentInvalid([Problem("invalid JSON: nested too deeply")]) from None
        try:  # positions (and duplicate keys) through the YAML composer; JSON is its flow style
            _compose(text, problems)
        except (yaml.YAMLError, RecursionError):
            problems.problems.clear()
        return data, problems
    try:
        data = _compose(text, problems)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = " ".join(p for p in (exc.context, exc.problem) if p) or "syntax error"
        raise DocumentInvalid([Problem(f"invalid YAML: {what}", "", mark.line + 1 if mark else None,
                                       mark.column + 1 if mark else None)]) from None
    except yaml.YAMLError as exc:
        raise DocumentInvalid([Problem(f"invalid YAML: {exc}")]) from None
    except ValueError as exc:  # a value YAML cannot build, such as the date 0000-00-00 or 2026-02-30
        raise DocumentInvalid([Problem(f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise DocumentInvalid([Problem("invalid YAML: nested too deeply")]) from None
    return data, problems


# --- validating --------------------------------------------------------------------------------

_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping (fields)", "array": "a list", "null": "null"}


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    return "a mapping"


def _schema_message(error: ValidationError) -> tuple[Path, str, bool]:
    """(path, message, point at the key?) for one JSON Schema error, in words."""
    path: Path = tuple(error.absolute_path)
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    v = error.validator
    if v == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        return path, f"missing required field {missing!r}", False
    if v == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        allowed = ", ".join(error.schema.get("properties", {}))
        if extra:
            return (*path, extra[0]), f"unknown field {extra[0]!r}; the fields here are {allowed}", True
    if custom:
        return path, custom, False
    if v == "type":
        want = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        kinds = " or ".join(_TYPE_NAMES.get(t, t) for t in want)
        return path, f"must be {kinds}, not {_describe(error.instance)}", False
    if v == "enum":
        return path, f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}", False
    if v == "const":
        return path, f"must be {error.validator_value!r}", False
    if v in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
             "exclusiveMaximum", "pattern", "maxProperties"):
        return path, error.message.replace("is too short", f"is too short (at least {error.validator_value})") \
            .replace("is too long", f"is too long (at most {error.validator_value})")[:300], False
    return path, error.message[:300], False


def _schema_problems(data: Any, out: _Builder) -> None:
    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    for error in errors[:50]:
        path, message, key = _schema_message(error)
        out.add(path, message, key=key)


def _literal(value: Any) -> bool:
    return not any(True for _ in expressions.template_parts(value))


def _check_params(step: dict[str, Any], base: Path, handler: handler_registry.Handler, out: _Builder) -> None:
    params = step.get("with") or {}
    props = handler.params
    for key in params:
        if key not in props:
            out.add((*base, "with", key), f"unknown parameter {key!r} for {handler.name}; its parameters are "
                    f"{', '.join(props) or '(none)'}", key=True)
    for key in handler.required:
        if key not in params:
            out.add((*base, "with"), f"missing parameter {key!r} for {handler.name}")
    any_of = handler.schema.get("anyOf") or []
    if any_of and not any(all(k in params for k in alt.get("required", [])) for alt in any_of):
        options = " or ".join("+".join(alt.get("required", [])) for alt in any_of)
        out.add((*base, "with"), f"{handler.name} needs {options}")
    from jsonschema import Draft202012Validator

    for key, value in params.items():
        if key not in props or not _literal(value):
            continue  # templated values are checked when the step runs, once they have a value
        for error in Draft202012Validator(props[key]).iter_errors(value):
            path, message, is_key = _schema_message(error)
            out.add((*base, "with", key, *path), message, key=is_key)
            break


def _expression_problem(source: Any, path: Path, out: _Builder) -> expressions.Expression | None:
    try:
        return expressions.compile_expression(source)
    except expressions.ExpressionError as exc:
        where = f" at character {exc.offset + 1}" if exc.offset is not None else ""
        out.add(path, f"invalid expression{where}: {exc} (in {str(source).strip()[:80]!r})")
        return None


def _references(steps: list[dict[str, Any]], out: _Builder) -> None:
    """Steps may read the outputs of earlier steps only: no unknown, own, later or circular references."""
    index = {s["id"]: i for i, s in enumerate(steps) if isinstance(s.get("id"), str)}
    refs: dict[int, dict[str, Path]] = {}
    for i, step in enumerate(steps):
        found: dict[str, Path] = {}
        sources: list[tuple[Path, str]] = []
        if isinstance(step.get("if"), str):
            sources.append((("steps", i, "if"), step["if"]))
        sources.extend((("steps", i, "with", *p), src) for p, src in expressions.template_parts(step.get("with") or {}))
        for path, src in sources:
            try:
                expr = expressions.compile_expression(src)
            except expressions.ExpressionError:
                continue  # reported already
            for ref in sorted(expr.references()):
                found.setdefault(ref, path)
        refs[i] = found
    graph: dict[int, list[int]] = {}
    for i, found in refs.items():
        for ref, path in found.items():
            if ref not in index:
                out.add(path, f"refers to step {ref!r}, which does not exist; the steps are {', '.join(index)}")
            elif index[ref] == i:
                out.add(path, f"step {ref!r} refers to its own output")
            else:
                graph.setdefault(i, []).append(index[ref])
    in_cycle: set[int] = set()
    for start in sorted(graph):
        stack = [(start, [start])]
        while stack:
            node, trail = stack.pop()
            for nxt in graph.get(node, []):
                if nxt == start:
                    cycle = [*trail, start]
                    if not set(cycle) <= in_cycle:
                        names = " → ".join(steps[c]["id"] for c in cycle)
                        first = steps[cycle[1]]["id"]
                        out.add(refs[start][first], f"cycle in references between steps: {names}; a step can "
                                                    "only use the outputs of the steps before it")
                        in_cycle.update(cycle)
                elif nxt not in trail and len(trail) < len(steps):
                    stack.append((nxt, [*trail, nxt]))
    for i, found in refs.items():
        for ref, path in found.items():
            j = index.get(ref)
            if j is not None and j > i and not {i, j} <= in_cycle:
                out.add(path, f"refers to step {ref!r}, which runs later (step {j + 1}); a step can only use "
                              "the outputs of the steps before it")


def _semantic_problems(data: dict[str, Any], out: _Builder) -> None:
    trigger = data.get("trigger")
    if isinstance(trigger, dict) and isinstance(trigger.get("cron"), str) and not croniter.is_valid(trigger["cron"]):
        out.add(("trigger", "cron"), f"{trigger['cron']!r} is not a cron expression (minute hour day month weekday)")
    steps = data.get("steps")
    if not isinstance(steps, list):
        return
    registry = handler_registry.discover()
    seen: dict[str, int] = {}
    good: list[dict[str, Any]] = []
    for i, step in enumerate(steps):
        if not isinstance(step, dict):
            continue
        base: Path = ("steps", i)
        sid = step.get("id")
        if isinstance(sid, str):
            if sid in seen:
                line = out.positions.at(("steps", seen[sid], "id"))[0]
                out.add((*base, "id"), f"duplicate step id {sid!r} (also step {seen[sid] + 1}"
                                       f"{f' on line {line}' if line else ''})")
            else:
                seen[sid] = i
        uses = step.get("uses")
        handler = registry.get(uses) if isinstance(uses, str) else None
        if isinstance(uses, str) and handler is None:
            close = difflib.get_close_matches(uses, list(registry), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"the handlers are {', '.join(sorted(registry))}"
            out.add((*base, "uses"), f"unknown handler {uses!r}; {hint}")
        if isinstance(step.get("if"), str):
            _expression_problem(step["if"], (*base, "if"), out)
        if isinstance(step.get("with"), dict):
            for path, src in expressions.template_parts(step["with"]):
                _expression_problem(src, (*base, "with", *path), out)
        if handler is not None and isinstance(step.get("with", {}), dict):
            _check_params(step, base, handler, out)
        retry = step.get("retry")
        if isinstance(retry, dict) and isinstance(retry.get("backoff"), list) and isinstance(retry.get("max"), int) \
                and len(retry["backoff"]) > retry["max"] > 0:
            out.add((*base, "retry", "backoff"), f"{len(retry['backoff'])} intervals for {retry['max']} retries; "
                                                 "give at most one per retry")
        if isinstance(sid, str):
            good.append(step)
        else:
            good.append({**step, "id": f"#{i + 1}"})
    _references(good, out)


# --- normalizing -------------------------------------------------------------------------------

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
    data, out = _load(text, fmt)
    if out.problems:
        raise DocumentInvalid(out.problems)
    data = _plain_data(data, (), out)
    if not isinstance(data, dict):
        out.add((), f"the document must be a mapping with name, trigger and steps, not {_describe(data)}")
        raise DocumentInvalid(out.problems)
    _schema_problems(data, out)
    _semantic_problems(data, out)
    if out.problems:
        raise DocumentInvalid(sorted(out.problems, key=lambda p: (p.line or 0, p.column or 0)))
    return Document(normalize(data), text, fmt, out.positions.at(("name",))[0])


# --- writing -----------------------------------------------------------------------------------

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
