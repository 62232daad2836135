"""A strategy's constraints and rule written out as one Python function, generated at load time.

Each closure from `constraints` / `strategies` that carries an `inline` description is written out as
statements: the same lookups and the same predicate, in the same order, on the same constants, so the
answers are exactly the closures' (tests/flags check both ways). What this saves is a Python call per
constraint and per predicate on the hot path. Closures without such a description (regexes, CIDRs,
numbers, dates, other rules) are called as they are.

Nothing from the flag's definition becomes source text: field names and values are bound as constants
in the function's namespace under generated names (n0, k0, c0 …), and the source uses only fixed
fragments from this module.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from nous.flags.engine.context import Check, always_true, lookup_str, props_get, resolve_str, semver_key
from nous.flags.engine.hashing import hash32, random_float

_GENERATED_GLOBALS = {
    "__builtins__": {}, "_dict": dict, "_str": str, "_hash": hash32, "_random": random_float,
    "_props_get": props_get, "_resolve_str": resolve_str, "_lookup_str": lookup_str,
    "_semver_key": semver_key,
}
_CONSTANT = re.compile(r"\bK\b")


def generate(checks: tuple[Check, ...], rule: Check, shared: bool = False) -> Any:
    """All `checks`, then `rule`, as one generated function `check(ctx)`.

    With `shared`, `check(ctx, m)`: `m` is a dict the caller makes per context and passes to every flag it
    evaluates for that context (evaluate_all). Each string constraint's answer is kept there under the
    constraint's id, so a constraint that many flags carry (environment IN production, plan IN pro) is
    tested once per context. Identical constraints share an id; the rollout is never shared (it hashes
    with each flag's group)."""
    ns: dict[str, Any] = dict(_GENERATED_GLOBALS)
    lines = ["def check(ctx, m):" if shared else "def check(ctx):"]
    for i, c in enumerate(checks):
        lines += _shared_constraint_lines(i, c, ns) if shared else _constraint_lines(i, c, ns)
    lines += _rule_lines(rule, ns)
    exec(_compiled("\n".join(lines)), ns)  # noqa: S102 - fixed fragments only
    return ns["check"]


class _SharedIds:
    """A short, never reused id per distinct string constraint (field, test, constant, missing, inverted).
    Past LIMIT ids the table starts again under a new generation, so an id made before can never name
    another constraint: functions made before merely stop sharing with those made after."""

    LIMIT = 50_000

    def __init__(self) -> None:
        self._ids: dict[tuple[Any, ...], str] = {}
        self._generation = 0
        self._lock = threading.Lock()  # flags compile in several threads at once (each process's reload)

    def of(self, spec: tuple[Any, ...]) -> str | None:
        try:
            hash(spec)
        except TypeError:  # a constant that cannot be a key: this constraint is not shared
            return None
        with self._lock:
            found = self._ids.get(spec)
            if found is None:
                if len(self._ids) >= self.LIMIT:
                    self._ids.clear()
                    self._generation += 1
                found = self._ids[spec] = f"{self._generation}:{len(self._ids)}"
            return found


_SHARED_IDS = _SharedIds()


def _lookup_lines(i: int, indent: str) -> list[str]:
    """`v` = the string value of constraint i's field, or None (the closures' lookup, written out)."""
    return [f"{indent}{line}" for line in (
        f"v = ctx.get(n{i})",
        "if v is None:",
        "    p = ctx.get('properties')",
        f"    v = p.get(n{i}) if p.__class__ is _dict else _props_get(ctx, n{i})",
        "if v.__class__ is not _str or not v:",
        f"    v = _resolve_str(ctx, n{i}, v)",
    )]


def _constraint_lines(i: int, c: Check, ns: dict[str, Any]) -> list[str]:
    spec = getattr(c, "inline", None)
    if spec is None or spec[0] != "string":
        ns[f"c{i}"] = c
        return [f"    if not c{i}(ctx): return False"]
    _kind, name, expr, const, missing_result, inv = spec
    ns[f"n{i}"], ns[f"k{i}"] = name, const
    expr = _CONSTANT.sub(f"k{i}", expr)
    return [
        *_lookup_lines(i, "    "),
        "    if v is None:",
        "        pass" if missing_result else "        return False",
        f"    elif {'' if inv else 'not '}({expr}):",
        "        return False",
    ]


def _shared_constraint_lines(i: int, c: Check, ns: dict[str, Any]) -> list[str]:
    spec = getattr(c, "inline", None)
    shared = _SHARED_IDS.of(spec[1:]) if spec is not None and spec[0] == "string" else None
    if shared is None:
        return _constraint_lines(i, c, ns)
    _kind, name, expr, const, missing_result, inv = spec
    ns[f"n{i}"], ns[f"k{i}"], ns[f"g{i}"], ns[f"m{i}"] = name, const, shared, missing_result
    expr = _CONSTANT.sub(f"k{i}", expr)
    return [
        f"    r = m.get(g{i})",
        "    if r is None:",
        *_lookup_lines(i, "        "),
        f"        r = m{i} if v is None else {'not' if inv else 'not not'} ({expr})",
        f"        m[g{i}] = r",
        "    if not r:",
        "        return False",
    ]


def _rule_lines(rule: Check, ns: dict[str, Any]) -> list[str]:
    spec = getattr(rule, "inline", None)
    if rule is always_true:
        return ["    return True"]
    if spec is None or spec[0] != "rollout":
        ns["rule"] = rule
        return ["    return rule(ctx)"]
    _kind, stickiness, prefix, pct = spec
    ns["prefix"], ns["pct"] = prefix, pct
    if stickiness is None:  # default stickiness: userId, else sessionId, else random
        lines = [
            "    v = ctx.get('userId')",
            "    if v.__class__ is not _str or not v:",
            "        v = _resolve_str(ctx, 'userId', v) or _lookup_str(ctx, 'sessionId')",
            "        if v is None:",
            "            return _random() * 100 < pct",
        ]
    else:
        ns["stickiness"] = stickiness
        lines = [
            "    v = ctx.get(stickiness)",
            "    if v.__class__ is not _str or not v:",
            "        v = _resolve_str(ctx, stickiness, v)",
            "        if v is None:",
            "            return False",
        ]
    return [*lines, "    return _hash(prefix + v, 0, False) % 100 + 1 <= pct"]


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    """Strategies of the same shape share their source (the values are in the namespace): compile once."""
    return compile(source, "<nous.flags strategy>", "exec")
