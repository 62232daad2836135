"""A whole flag: its strategies, variants and dependencies compiled (`Flag`), checked in the same pass
(`validate_feature`), and how a compiled flag resolves for a context."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from nous.flags.engine.context import Check, SharedCheck, always_false, always_true
from nous.flags.engine.problems import Problems
from nous.flags.engine.strategies import NO_SEGMENT_CHECKS, Strategy, seg_key
from nous.flags.engine.variants import (
    OFF_JSON,
    ON_JSON,
    Variants,
    compile_variants,
    disabled,
    to_json,
)

FLAG_TYPES = ("release", "experiment", "operational", "kill-switch", "permission")  # in the console's order

Dependency = tuple[Any, bool, frozenset]  # (parent name or None when unreadable, expect enabled, variants)


def _everyone(_ctx: dict, _m: dict) -> bool:
    return True  # no strategies: on for everyone (Unleash)


class Flag:
    """One compiled flag. Problems with its definition go to `at`; the flag still compiles, and what
    cannot be understood evaluates to off."""

    __slots__ = (
        "checks",
        "deps",
        "enabled",
        "fast",
        "fn",
        "fn_shared",
        "json_off",
        "json_on",
        "key_json",
        "name",
        "no_strategies",
        "simple",
        "strategies",
        "variants",
    )

    def __init__(self, raw: Mapping, segments: Mapping | None, at: Problems) -> None:
        name = raw.get("name")
        if not isinstance(name, str) or not name.strip():
            at.add("name", "required non-empty string")
        self.name: str = name if isinstance(name, str) else ""
        enabled = raw.get("enabled")
        if not isinstance(enabled, bool):
            at.add("enabled", "required true or false")
        self.enabled = enabled is True
        ftype = raw.get("type")
        if ftype is not None and (not isinstance(ftype, str) or ftype not in FLAG_TYPES):
            at.add("type", f'unknown type "{ftype}" (one of {", ".join(sorted(FLAG_TYPES))})')
        at.boolean(raw, "impressionData")
        strategies = raw.get("strategies")
        if strategies is not None and not isinstance(strategies, list):
            at.add("strategies", "must be a list")
            self.enabled = False
            strategies = None
        self.strategies = tuple(Strategy(i, s, self.name, segments, at.at(f"strategies[{i}]"))
                                for i, s in enumerate(strategies or ()))
        self.checks = tuple(s.check for s in self.strategies)
        self.no_strategies = not self.strategies
        self.fn = self._any(self.checks)
        self.fn_shared = self._any_shared(tuple(s.shared for s in self.strategies))
        self.variants: Variants | None = compile_variants(raw.get("variants"), self.name, None, at.at("variants"))
        self.deps = _dependencies(raw.get("dependencies"), self.name, at.at("dependencies"))
        # is_enabled's short cut: the whole answer for a dict context, None when dependencies decide
        self.fast: Check | None = (self.fn if not self.deps else None) if self.enabled else always_false
        # evaluate_all's: no dependencies and no variants, so `fn` alone gives the answer and the
        # variant is "disabled"; the JSON of either answer is made here, once
        self.simple = self.enabled and not self.deps and self.variants is None and all(
            s.variants is None for s in self.strategies)
        self.key_json = to_json(self.name)
        self.json_on = f'{self.key_json}:{{"enabled":true,"variant":{ON_JSON}}}'
        self.json_off = f'{self.key_json}:{{"enabled":false,"variant":{OFF_JSON}}}'

    @staticmethod
    def _any(checks: tuple[Check, ...]) -> Check:
        """On when any strategy matches; on for everyone without strategies (Unleash)."""
        if not checks:
            return always_true
        if len(checks) == 1:
            return checks[0]

        def any_strategy(ctx: dict) -> bool:
            for check in checks:
                if check(ctx):
                    return True
            return False

        return any_strategy

    @staticmethod
    def _any_shared(checks: tuple[SharedCheck, ...]) -> SharedCheck:
        """`_any` for checks that share constraint answers per context (evaluate_all)."""
        if not checks:
            return _everyone
        if len(checks) == 1:
            return checks[0]

        def any_strategy(ctx: dict, m: dict) -> bool:
            for check in checks:
                if check(ctx, m):
                    return True
            return False

        return any_strategy

    def first_match(self, ctx: dict) -> Strategy | None:
        for s in self.strategies:
            if s.check(ctx):
                return s
        return None


def _dependencies(deps: Any, name: str, at: Problems) -> tuple[Dependency, ...]:
    """Parent flags (one level only). An unreadable dependency is never satisfied."""
    if deps is not None and not isinstance(deps, list):
        at.add("", "must be a list")
        return ((None, True, frozenset()),)
    out: list[Dependency] = []
    for i, d in enumerate(deps or ()):
        here = at.at(f"[{i}]")
        if not isinstance(d, Mapping):
            here.add("", "must be an object")
            out.append((None, True, frozenset()))
            continue
        parent = d.get("feature")
        if not isinstance(parent, str) or not parent.strip():
            here.add("feature", "required flag name")
        elif parent == name:
            here.add("feature", "a flag cannot depend on itself")
        here.boolean(d, "enabled")
        variants = d.get("variants")
        if variants is not None and (not isinstance(variants, list) or not all(
                isinstance(v, str) for v in variants)):
            here.add("variants", "must be a list of variant names")
        if not isinstance(parent, str):
            out.append((None, True, frozenset()))
            continue
        names = frozenset(v for v in variants if isinstance(v, str)) if isinstance(variants, list) else frozenset()
        out.append((parent, d.get("enabled") is not False, names))
    return tuple(out)


def validate_feature(feature: Any, segment_ids: Iterable[Any] | None = None) -> list[str]:
    """Human-readable problems with one flag in the Unleash client-API format; [] when valid: the
    problems its compile pass finds. With `segment_ids`, referenced segments must be among them (their
    constraints are not known here, so a strategy with segments is compiled without them)."""
    if not isinstance(feature, Mapping):
        return ["feature: must be an object"]
    at = Problems()
    segments = None if segment_ids is None else dict.fromkeys(map(seg_key, segment_ids), NO_SEGMENT_CHECKS)
    Flag(feature, segments, at)
    return at.found


_PLACES = ((re.compile(r"strategies\[(\d+)\]\.?"), "strategy"), (re.compile(r"constraints\[(\d+)\]"), "condition"))


def notices(feature: Any) -> list[str]:
    """What an admin should know about a definition that is valid but does not do what it seems to
    (an IN condition set to ignore case, say), in words: "Strategy 1, condition 2: …"."""
    if not isinstance(feature, Mapping):
        return []
    at = Problems()
    Flag(feature, None, at)
    out = []
    for note in at.notes:
        for pattern, word in _PLACES:
            note = pattern.sub(lambda m, w=word: f"{w} {int(m.group(1)) + 1}, ", note)
        note = note.replace(", :", ":").strip()
        out.append(note[:1].upper() + note[1:])
    return out


# --------------------------------------------------------------------------- resolution


def override(overrides: Any, key: Any) -> bool | None:
    """A tester's override of `key`: True/False, None when there is none (or it is unusable)."""
    if overrides is None:
        return None
    try:
        o = overrides.get(key)
    except Exception:  # noqa: BLE001 - unusable overrides are no overrides
        return None
    return o if o is True or o is False else None


def resolve(flags: dict, flag: Flag, ctx: dict, overrides: Any) -> tuple[bool, Strategy | None]:
    """(on?, the strategy that matched) with overrides and dependencies applied."""
    o = override(overrides, flag.name)
    if o is False:
        return False, None
    if o is True:
        return True, flag.first_match(ctx)
    if not flag.enabled:
        return False, None
    if flag.deps and not deps_ok(flags, flag, ctx, overrides):
        return False, None
    if flag.no_strategies:
        return True, None
    s = flag.first_match(ctx)
    return s is not None, s


def variant_of(flag: Flag, enabled: bool, strategy: Strategy | None, ctx: dict) -> dict:
    if not enabled:
        return disabled(False)
    for variants in (strategy.variants if strategy is not None else None, flag.variants):
        if variants is not None:
            i = variants.select(ctx)
            if i is not None:
                return variants.result(i)
    return disabled(True)


def variant_text(flag: Flag, enabled: bool, strategy: Strategy | None, ctx: dict) -> str:
    """variant_of() as the JSON text made at load time."""
    if not enabled:
        return OFF_JSON
    for variants in (strategy.variants if strategy is not None else None, flag.variants):
        if variants is not None:
            i = variants.select(ctx)
            if i is not None:
                return variants.json[i]
    return ON_JSON


def dep_status(flags: dict, dep: Dependency, ctx: dict, overrides: Any) -> tuple[bool, str]:
    """(satisfied?, why) for one dependency of a flag."""
    name, expect_enabled, variants = dep
    parent = flags.get(name) if name is not None else None
    if parent is None:
        return False, "parent flag not found" if name is not None else "unreadable dependency"
    if parent.deps:
        return False, "parent has dependencies of its own (only one level is allowed)"
    want_variant = expect_enabled and bool(variants)
    enabled, strategy = resolve(flags, parent, ctx, overrides)
    variant = variant_of(parent, enabled, strategy, ctx)["name"] if want_variant else None
    if not expect_enabled:
        return (not enabled), "parent is " + ("enabled" if enabled else "disabled")
    if not enabled:
        return False, "parent is disabled"
    if want_variant and variant not in variants:
        return False, f'parent variant "{variant}" is not one of the required variants'
    return True, "parent is enabled" + (f' with variant "{variant}"' if want_variant else "")


def deps_ok(flags: dict, flag: Flag, ctx: dict, overrides: Any) -> bool:
    for dep in flag.deps:
        if not dep_status(flags, dep, ctx, overrides)[0]:
            return False
    return True
