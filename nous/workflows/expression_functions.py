"""The functions and methods of the workflow expression language (`lower(…)`, `join(…)`,
`text.split()`, …) and the size limits every value they build keeps.

Each function estimates the size of what it would build (`size`: ≈ the characters of its JSON
text) and refuses it over the caps below before building anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import re2

MAX_TEXT = 100_000  # characters in a text an expression builds
MAX_ITEMS = 10_000  # items in a list an expression builds
MAX_SIZE = 1_000_000  # size (≈ characters of JSON) of any value an expression builds


class EvaluationError(ValueError):
    """The expression is valid but cannot be computed on this data (e.g. dividing by zero)."""


# --- sizes -------------------------------------------------------------------------------------

def size(value: Any, cap: int = MAX_SIZE) -> int:
    """About how many characters `value` takes as JSON, each shared part counted every time it appears
    (what converting or comparing it costs); stops counting past `cap` (returns cap + 1). Work is at
    most proportional to `cap`: each container is measured once, every item adds at least 3."""
    memo: dict[int, int] = {}

    def walk(v: Any, left: int) -> int:
        if v is None or isinstance(v, bool):
            return 5
        if isinstance(v, str):
            return len(v) + 2
        if isinstance(v, int | float):
            return len(repr(v))
        if isinstance(v, list | tuple | Mapping):
            known = memo.get(id(v))
            if known is not None:
                return known
            total = 2
            pairs = v.items() if isinstance(v, Mapping) else ((None, item) for item in v)
            for key, item in pairs:
                total += 2 + (walk(key, left - total) + 2 if key is not None else 0) + walk(item, left - total)
                if total > left:
                    return cap + 1
            memo[id(v)] = total
            return total
        return len(str(v))

    return min(walk(value, cap), cap + 1)


def check_size(total: int, limit: int, what: str, unit: str = "characters") -> None:
    if total > limit:
        raise EvaluationError(f"{what} would be larger than {limit} {unit}")


def text_size(value: Any, cap: int = MAX_TEXT) -> int:
    """The length `as_text(value)` would have (about), without building it."""
    if isinstance(value, str):
        return len(value)
    if value is None:
        return 0
    return size(value, cap)


# --- functions ---------------------------------------------------------------------------------

def as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list | tuple | Mapping):
        check_size(size(value, MAX_TEXT), MAX_TEXT, "the text")
        return json.dumps(value if isinstance(value, dict | list) else dict(value) if isinstance(value, Mapping)
                          else list(value), ensure_ascii=False, default=str)
    return str(value)


def capped(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise EvaluationError(f"text longer than {MAX_TEXT} characters")
    if isinstance(value, list | tuple) and len(value) > MAX_ITEMS:
        raise EvaluationError(f"list longer than {MAX_ITEMS} items")
    return value


def _number(value: Any, kind: type) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):
        raise EvaluationError(f"{as_text(value)[:40]!r} is not a number") from None


def _matches(text: Any, pattern: Any) -> bool:
    """Regular-expression search with RE2 (linear time: no catastrophic backtracking)."""
    try:
        return re2.search(str(pattern), as_text(text)) is not None
    except re2.error as exc:
        raise EvaluationError(f"bad regular expression {pattern!r}: {exc}") from None


def _join(items: Any, sep: Any = ", ") -> str:
    if not isinstance(items, list | tuple):
        return as_text(items)
    sep = as_text(sep)
    total = len(sep) * max(len(items) - 1, 0)
    for item in items:
        total += text_size(item, MAX_TEXT - total)
        check_size(total, MAX_TEXT, "the joined text")
    return capped(sep.join(as_text(i) for i in items))


def _split(text: Any, sep: Any = None) -> list[str]:
    parts = as_text(text).split(as_text(sep) if sep else None, MAX_ITEMS)  # at most MAX_ITEMS + 1 parts built
    if len(parts) > MAX_ITEMS:
        raise EvaluationError(f"split into more than {MAX_ITEMS} items")
    return parts


def _text_fn(fn: Callable[[str], str]) -> Callable[..., str]:
    """A text → text function that refuses an input too long to copy before copying it."""
    def call(value: Any, *args: Any) -> str:
        text = as_text(value)
        check_size(len(text), MAX_TEXT, "the text")
        return fn(text, *args)
    return call


def _listing(fn: Callable[[Mapping[str, Any]], list[Any]]) -> Callable[..., list[Any]]:
    def call(mapping: Mapping[str, Any]) -> list[Any]:
        if len(mapping) > MAX_ITEMS:
            raise EvaluationError(f"list longer than {MAX_ITEMS} items")
        return fn(mapping)
    return call


def is_in(item: Any, container: Any) -> bool:
    if container is None:
        return False
    if isinstance(container, str):
        return as_text(item) in container if item is not None else False
    if isinstance(container, Mapping):
        try:
            return item in container
        except TypeError:
            return False
    if isinstance(container, list | tuple):
        return item in container
    return False


def _contains(container: Any, item: Any) -> bool:
    return is_in(item, container)


def _default(value: Any, fallback: Any) -> Any:
    return fallback if value is None or value == "" else value


def _length(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, str | list | tuple | Mapping):
        return len(value)
    raise EvaluationError(f"len() of a {type(value).__name__}")


def _round(value: Any, digits: Any = 0) -> Any:
    return round(_number(value, float), int(digits))


def _min_max(fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        items = args[0] if len(args) == 1 and isinstance(args[0], list | tuple) else args
        try:
            return fn(items) if items else None
        except TypeError:
            raise EvaluationError("cannot compare these values") from None
    return call


def _to_json(value: Any) -> str:
    check_size(size(value, MAX_TEXT), MAX_TEXT, "the JSON text")
    if isinstance(value, Mapping) and not isinstance(value, dict):
        value = dict(value)
    return capped(json.dumps(value, ensure_ascii=False, default=str))


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": _length,
    "lower": _text_fn(str.lower),
    "upper": _text_fn(str.upper),
    "trim": _text_fn(str.strip),
    "str": as_text,
    "int": lambda v: _number(v, int) if not isinstance(v, float) else int(v),
    "float": lambda v: _number(v, float),
    "bool": bool,
    "abs": lambda v: abs(_number(v, float) if isinstance(v, str) else v),
    "round": _round,
    "min": _min_max(min),
    "max": _min_max(max),
    "sum": lambda items: sum(_number(i, float) for i in (items or [])),
    "any": lambda items: any(items or []),
    "all": lambda items: all(items or []),
    "contains": _contains,
    "startswith": lambda s, p: as_text(s).startswith(as_text(p)),
    "endswith": lambda s, p: as_text(s).endswith(as_text(p)),
    "matches": _matches,
    "join": _join,
    "split": _split,
    "default": _default,
    "json": _to_json,
}
FUNCTION_ARITY: dict[str, tuple[int, int]] = {
    "len": (1, 1), "lower": (1, 1), "upper": (1, 1), "trim": (1, 1), "str": (1, 1), "int": (1, 1),
    "float": (1, 1), "bool": (1, 1), "abs": (1, 1), "round": (1, 2), "min": (1, 20), "max": (1, 20),
    "sum": (1, 1), "any": (1, 1), "all": (1, 1), "contains": (2, 2), "startswith": (2, 2), "endswith": (2, 2),
    "matches": (2, 2), "join": (1, 2), "split": (1, 2), "default": (2, 2), "json": (1, 1),
}
# Methods callable on values of a type: `feedback.message.lower()`, `data.get("x", 1)`.
METHODS: dict[type, dict[str, Callable[..., Any]]] = {
    str: {"lower": _text_fn(str.lower), "upper": _text_fn(str.upper), "strip": _text_fn(str.strip),
          "startswith": str.startswith, "endswith": str.endswith, "split": lambda s, sep=None: _split(s, sep),
          "count": str.count},
    dict: {"get": lambda d, k, default=None: d.get(k, default), "keys": _listing(lambda d: list(d.keys())),
           "values": _listing(lambda d: list(d.values())),
           "items": _listing(lambda d: [list(kv) for kv in d.items()])},
    list: {"count": list.count, "index": lambda seq, v: seq.index(v) if v in seq else -1},
}
METHOD_NAMES = {name for methods in METHODS.values() for name in methods}
