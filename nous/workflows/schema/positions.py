"""Where each value of a workflow document starts: the YAML (or JSON) is composed into nodes with
their marks, so every problem found later can name its line, column and field.

YAML is composed into nodes first (PyYAML's `compose` keeps each node's start mark), so a problem
found in the data can be traced back to its line. JSON gets the same positions through the same
path (JSON is YAML's flow style); when that fails the message still names the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import yaml

MAX_NODES = 20_000

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


def field_name(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Positions:
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


class ProblemBuilder:
    """Problems with positions: one place that knows how to point at a field."""

    def __init__(self, positions: Positions) -> None:
        self.positions = positions
        self.problems: list[Problem] = []

    def add(self, path: Path, message: str, key: bool = False, column_offset: int | None = None) -> None:
        line, column = self.positions.at(path, key)
        if column is not None and column_offset:
            column += column_offset
        problem = Problem(message, field_name(path), line, column)
        if problem not in self.problems:
            self.problems.append(problem)


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _walk(node: yaml.Node, path: Path, pos: Positions, problems: ProblemBuilder, seen: set[int]) -> None:
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


def plain_data(value: Any, path: Path, problems: ProblemBuilder) -> Any:
    """YAML's extra types made JSON: dates become ISO text; sets, bytes, NaN are refused."""
    if isinstance(value, dict):
        return {k: plain_data(v, (*path, k), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_data(v, (*path, i), problems) for i, v in enumerate(value)]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(path, "numbers must be finite (no .nan or .inf)")
        return None
    if isinstance(value, bytes | set | tuple):
        problems.add(path, f"{type(value).__name__} values are not supported")
        return None
    return value


def _compose(text: str, problems: ProblemBuilder) -> Any:
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


def load(text: str, fmt: str) -> tuple[Any, ProblemBuilder]:
    problems = ProblemBuilder(Positions())
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
