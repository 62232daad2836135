"""Validating a workflow document: the JSON Schema, then the rules a schema cannot express (known
handlers and their parameters, expressions that compile, steps that read only earlier steps)."""

from __future__ import annotations

import difflib
import functools
import re
from typing import TYPE_CHECKING, Any

from croniter import croniter

from nous.workflows import expressions
from nous.workflows import handlers as handler_registry
from nous.workflows.schema.positions import Path, ProblemBuilder

if TYPE_CHECKING:
    from collections.abc import Iterator

    from jsonschema.exceptions import ValidationError

MAX_STEPS = 50
DEFAULT_TIMEOUT = 300
MAX_TIMEOUT = 3600
MAX_BACKOFF = 86_400

# Events a workflow can listen to, with the data each brings (its keys become names in expressions).
EVENTS: dict[str, str] = {
    "feedback.created": "new feedback was stored; data: feedback {id, rating, message, feature, category, "
                        "status, email, tester_id, page_url, app_version, tags, attachments [{id, filename, "
                        "kind, text, text_status, …}], …}",
    "tester.joined": "a tester accepted an invite; data: tester {id, email, role, …}",
    "flag.changed": "a feature flag was changed; data: flag {key, enabled, …}, actor",
}
CONTEXT_NAMES = ("input", "event", "trigger", "steps", "run", "workflow", "settings")
NOTIFY_ON = ("never", "failure", "always")
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
_BARE_TEMPLATE_RE = re.compile(r"(?<!\$)\{\{(.*?)\}\}", re.DOTALL)  # {{ … }} without the $ of ${{ … }}

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


_TYPE_NAMES = {"string": "text", "integer": "a whole number", "number": "a number", "boolean": "true or false",
               "object": "a mapping (fields)", "array": "a list", "null": "null"}


def describe(value: Any) -> str:
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
        return path, f"must be {kinds}, not {describe(error.instance)}", False
    if v == "enum":
        return path, f"{error.instance!r} is not one of {', '.join(map(str, error.validator_value))}", False
    if v == "const":
        return path, f"must be {error.validator_value!r}", False
    if v in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum", "exclusiveMinimum",
             "exclusiveMaximum", "pattern", "maxProperties"):
        return path, error.message.replace("is too short", f"is too short (at least {error.validator_value})") \
            .replace("is too long", f"is too long (at most {error.validator_value})")[:300], False
    return path, error.message[:300], False


def in_words(error: ValidationError) -> str:
    """One JSON Schema error as the editor words it, its path first (for a step's filled-in parameters)."""
    path, message, _key = _schema_message(error)
    return f"{'.'.join(map(str, path))}: {message}" if path else message


def schema_problems(data: Any, out: ProblemBuilder) -> None:
    errors = sorted(_validator().iter_errors(data),
                    key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))))
    for error in errors[:50]:
        path, message, key = _schema_message(error)
        out.add(path, message, key=key)


def _literal(value: Any) -> bool:
    return not any(True for _ in expressions.template_parts(value))


def _check_params(step: dict[str, Any], base: Path, handler: handler_registry.Handler, out: ProblemBuilder) -> None:
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
    from jsonschema import Draft202012Validator  # imported on first use: the web process rarely needs it

    for key, value in params.items():
        if key not in props or not _literal(value):
            continue  # templated values are checked when the step runs, once they have a value
        for error in Draft202012Validator(props[key]).iter_errors(value):
            path, message, is_key = _schema_message(error)
            out.add((*base, "with", key, *path), message, key=is_key)
            break


def _bare_templates(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every `{{ expr }}` written without its `$` in a `with` value, where expr is a valid expression: the
    step would get the braces as text, not the value it names."""
    if isinstance(value, str):
        for match in _BARE_TEMPLATE_RE.finditer(expressions.TEMPLATE_RE.sub(" ", value)):
            try:
                expressions.compile_expression(match.group(1))
            except expressions.ExpressionError:
                continue
            yield path, match.group(1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _bare_templates(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bare_templates(item, (*path, i))


def _expression_problem(source: Any, path: Path, out: ProblemBuilder) -> expressions.Expression | None:
    try:
        return expressions.compile_expression(source)
    except expressions.ExpressionError as exc:
        where = f" at character {exc.offset + 1}" if exc.offset is not None else ""
        out.add(path, f"invalid expression{where}: {exc} (in {str(source).strip()[:80]!r})")
        return None


def _references(steps: list[dict[str, Any]], out: ProblemBuilder) -> None:
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


def semantic_problems(data: dict[str, Any], out: ProblemBuilder) -> None:
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
            for path, src in _bare_templates(step["with"]):
                out.add((*base, "with", *path), f"{{{{{src}}}}} would be passed on as text; an expression is "
                                                f"written ${{{{{src}}}}}")
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
