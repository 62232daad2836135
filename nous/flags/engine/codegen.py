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
    out = _Writer(ns, "", "return False", shared=shared)
    lines = ["def check(ctx, m):" if shared else "def check(ctx):"]
    lines += _indented("    ", out.strategy(checks, rule, lambda expr: [f"return {expr}"]))
    exec(_compiled("\n".join(lines)), ns)  # noqa: S102 - fixed fragments only
    return ns["check"]


FUSED_MAX = 64  # flags per generated function; more are evaluated by several in turn

Strategies = tuple[tuple[tuple[Check, ...], Check], ...]  # (checks, rule) per strategy


def generate_all(flags: list[tuple[Strategies | None, Any, str, str]]) -> Any:
    """Several flags' answers as one generated function `answers(ctx) -> (texts, answers)`, in order.

    Each flag is (strategies, other, on, off). With `strategies` — (checks, rule) per strategy, for a
    flag that is on when any strategy matches (on for everyone without strategies) — its answer is
    True/False and its text `on` or `off`. Without, `other(ctx)` gives (answer, text). A flag whose checks
    raise is off with the text `off`, as evaluate_all's loop has it. String constraints that several
    flags carry are tested once per call, their answers kept in locals (as `generate(shared=True)` keeps
    them in `m`). `texts` is a tuple of the flags' texts, `answers` of their answers."""
    ns: dict[str, Any] = {**_GENERATED_GLOBALS, "_Exception": Exception}
    body: list[str] = []
    kept: dict[str, str] = {}
    for f, (strategies, other, on, off) in enumerate(flags):
        ns[f"on{f}"], ns[f"off{f}"] = on, off
        if strategies is None:
            ns[f"o{f}"] = other
            body += ["try:", f"    a{f}, t{f} = o{f}(ctx)", "except _Exception:", f"    a{f}, t{f} = False, off{f}"]
            continue
        if not strategies:
            body += [f"a{f} = True", f"t{f} = on{f}"]
            continue
        body += ["e = False", "try:"]
        for s, (checks, rule) in enumerate(strategies):
            out = _Writer(ns, f"_{f}_{s}", "break", shared=True, kept=kept)
            loop = ["while True:", *_indented("    ", out.strategy(checks, rule, _set_and_break))]
            body += _indented("    ", loop if s == 0 else ["if not e:", *_indented("    ", loop)])
        body += ["except _Exception:", "    e = False", f"a{f} = e", f"t{f} = on{f} if e else off{f}"]
    lines = ["def answers(ctx):"]
    if kept:
        lines.append("    " + " = ".join(kept.values()) + " = None")
    lines += _indented("    ", body)
    count = range(len(flags))
    lines.append(f"    return ({''.join(f't{f}, ' for f in count)}), ({''.join(f'a{f}, ' for f in count)})")
    exec(_compiled_all("\n".join(lines)), ns)  # noqa: S102 - fixed fragments only
    return ns["answers"]


def _set_and_break(expr: str) -> list[str]:
    return [f"if {expr}:", "    e = True", "break"]


def _indented(indent: str, lines: list[str]) -> list[str]:
    return [indent + line for line in lines]


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


class _Writer:
    """The statements of one strategy: its constraints, then its rule, under names suffixed with `tag` in
    the namespace `ns`. A constraint that fails runs `fail`; the rule's answer goes to `answer(expr)`.
    `shared`: string constraints keep their answers per context — in the dict `m`, or, given `kept` (the
    generated ids' local names so far), in locals of the enclosing function."""

    def __init__(self, ns: dict[str, Any], tag: str, fail: str, shared: bool = False,
                 kept: dict[str, str] | None = None) -> None:
        self.ns, self.tag, self.fail, self.shared, self.kept = ns, tag, fail, shared, kept

    def strategy(self, checks: tuple[Check, ...], rule: Check, answer: Any) -> list[str]:
        lines: list[str] = []
        for i, c in enumerate(checks):
            lines += self._shared(i, c) if self.shared else self._constraint(i, c)
        return lines + self._rule(rule, answer)

    def _lookup(self, i: int) -> list[str]:
        """`v` = the string value of constraint i's field, or None (the closures' lookup, written out)."""
        n = f"n{i}{self.tag}"
        return [
            f"v = ctx.get({n})",
            "if v is None:",
            "    p = ctx.get('properties')",
            f"    v = p.get({n}) if p.__class__ is _dict else _props_get(ctx, {n})",
            "if v.__class__ is not _str or not v:",
            f"    v = _resolve_str(ctx, {n}, v)",
        ]

    def _constraint(self, i: int, c: Check) -> list[str]:
        spec = getattr(c, "inline", None)
        t = f"{i}{self.tag}"
        if spec is None or spec[0] != "string":
            self.ns[f"c{t}"] = c
            return [f"if not c{t}(ctx): {self.fail}"]
        _kind, name, expr, const, missing_result, inv = spec
        self.ns[f"n{t}"], self.ns[f"k{t}"] = name, const
        expr = _CONSTANT.sub(f"k{t}", expr)
        return [
            *self._lookup(i),
            "if v is None:",
            "    pass" if missing_result else f"    {self.fail}",
            f"elif {'' if inv else 'not '}({expr}):",
            f"    {self.fail}",
        ]

    def _shared(self, i: int, c: Check) -> list[str]:
        spec = getattr(c, "inline", None)
        shared = _SHARED_IDS.of(spec[1:]) if spec is not None and spec[0] == "string" else None
        if shared is None:
            return self._constraint(i, c)
        _kind, name, expr, const, missing_result, inv = spec
        t = f"{i}{self.tag}"
        self.ns[f"n{t}"], self.ns[f"k{t}"], self.ns[f"g{t}"], self.ns[f"m{t}"] = name, const, shared, missing_result
        expr = _CONSTANT.sub(f"k{t}", expr)
        if self.kept is None:
            read, keep = f"m.get(g{t})", f"m[g{t}] = r"
        else:
            local = self.kept.setdefault(shared, f"h{len(self.kept)}")
            read, keep = local, f"{local} = r"
        return [
            f"r = {read}",
            "if r is None:",
            *_indented("    ", self._lookup(i)),
            f"    r = m{t} if v is None else {'not' if inv else 'not not'} ({expr})",
            f"    {keep}",
            "if not r:",
            f"    {self.fail}",
        ]

    def _rule(self, rule: Check, answer: Any) -> list[str]:
        spec = getattr(rule, "inline", None)
        if rule is always_true:
            return answer("True")
        t = self.tag
        if spec is None or spec[0] != "rollout":
            self.ns[f"rule{t}"] = rule
            return answer(f"rule{t}(ctx)")
        _kind, stickiness, prefix, pct = spec
        self.ns[f"prefix{t}"], self.ns[f"pct{t}"] = prefix, pct
        if stickiness is None:  # default stickiness: userId, else sessionId, else random
            lines = [
                "v = ctx.get('userId')",
                "if v.__class__ is not _str or not v:",
                "    v = _resolve_str(ctx, 'userId', v) or _lookup_str(ctx, 'sessionId')",
                "    if v is None:",
                *_indented("        ", answer(f"_random() * 100 < pct{t}")),
            ]
        else:
            self.ns[f"stickiness{t}"] = stickiness
            lines = [
                f"v = ctx.get(stickiness{t})",
                "if v.__class__ is not _str or not v:",
                f"    v = _resolve_str(ctx, stickiness{t}, v)",
                "    if v is None:",
                f"        {self.fail}",
            ]
        return [*lines, *answer(f"_hash(prefix{t} + v, 0, False) % 100 + 1 <= pct{t}")]


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    """Strategies of the same shape share their source (the values are in the namespace): compile once."""
    return compile(source, "<nous.flags strategy>", "exec")


@lru_cache(maxsize=64)
def _compiled_all(source: str) -> Any:
    """generate_all's: the same shapes of flags (values changed) compile once (64 runs: 4,096 flags)."""
    return compile(source, "<nous.flags evaluate_all>", "exec")
