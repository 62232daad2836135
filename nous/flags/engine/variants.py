"""Weighted sticky variants (flag level or strategy level): their weights, payloads and overrides,
the frozen variant bucket, and the answers in the shapes the engine returns them (dict and JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from nous.flags.engine.context import finite, lookup_str, number, parse_number, string_list
from nous.flags.engine.hashing import VARIANT_SEED, hash32, random_float
from nous.flags.engine.problems import Problems

PAYLOAD_TYPES = frozenset({"string", "json", "csv", "number"})
MAX_WEIGHT = 1000


def disabled(feature_enabled: bool) -> dict:
    """The "disabled" variant: the answer when the flag is off or has no variant to give."""
    return {"name": "disabled", "enabled": False, "feature_enabled": feature_enabled}


def to_json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)


def variant_json(variant: dict) -> str:
    """A variant as evaluate_all_json writes it: "payload" always present (null when none)."""
    return to_json({**variant, "payload": variant.get("payload")})


OFF_JSON = variant_json(disabled(False))
ON_JSON = variant_json(disabled(True))


class Variants:
    """A compiled list of variants; `select()` picks one for a context."""

    __slots__ = ("json", "names", "overrides", "payloads", "prefix", "steps", "stickiness", "total")

    def __init__(self, group: str, stickiness: str) -> None:
        self.names: Any = []
        self.payloads: Any = []
        self.steps: Any = []  # (running weight, index) of the variants with a positive weight
        self.overrides: Any = []  # (context field, values, index)
        self.total: float = 0.0
        self.prefix = group + ":"
        self.stickiness = stickiness
        self.json: tuple[str, ...] = ()

    def add(self, v: Any, at: Problems, seen: set[str]) -> float:
        """Read one variant. Returns its weight when that is a valid one, for the total's rule."""
        if not isinstance(v, Mapping):
            at.add("", "must be an object")
            return 0
        name = v.get("name")
        if not isinstance(name, str) or not name.strip():
            at.add("name", "required non-empty string")
        elif name in seen:
            at.add("name", f'duplicate variant "{name}"')
        else:
            seen.add(name)
        valid_weight = _valid_weight(v.get("weight"), at)
        if "stickiness" in v and v["stickiness"] is not None and (
                not isinstance(v["stickiness"], str) or not v["stickiness"]):
            at.add("stickiness", "must be a non-empty string")
        payload = _payload(v.get("payload"), at.at("payload"))
        overrides = _overrides(v.get("overrides"), at.at("overrides"))
        if isinstance(name, str):
            i = len(self.names)
            self.names.append(name)
            self.payloads.append(payload)
            w = number(v.get("weight"))
            if w is not None and w > 0 and finite(w):
                self.total += w
                self.steps.append((self.total, i))
            self.overrides.extend((field, values, i) for field, values in overrides)
        return valid_weight

    def seal(self) -> None:
        self.names = tuple(self.names)
        self.payloads = tuple(self.payloads)
        self.steps = tuple(self.steps)
        self.overrides = tuple(self.overrides)
        self.total = int(self.total) if float(self.total).is_integer() else self.total
        self.json = tuple(variant_json(self.result(i)) for i in range(len(self.names)))

    def seed(self, ctx: dict) -> str | None:
        s = self.stickiness
        if s == "default":
            return (lookup_str(ctx, "userId") or lookup_str(ctx, "sessionId")
                    or lookup_str(ctx, "remoteAddress"))
        if s == "random":
            return None
        return lookup_str(ctx, s)

    def select(self, ctx: dict) -> int | None:
        if not self.total > 0:
            return None
        for field, values, i in self.overrides:
            if lookup_str(ctx, field) in values:
                return i
        seed = self.seed(ctx)
        if seed is None:
            target = random_float() * self.total + 1  # uniform over (1, total + 1)
        else:
            target = hash32(self.prefix + seed, VARIANT_SEED, False) % self.total + 1
        for running, i in self.steps:
            if running >= target:
                return i
        return self.steps[-1][1]

    def result(self, i: int) -> dict:
        out: dict[str, Any] = {"name": self.names[i], "enabled": True, "feature_enabled": True}
        payload = self.payloads[i]
        if payload is not None:
            out["payload"] = dict(payload)
        return out


def compile_variants(raw: Any, group: str, stickiness: Any, at: Problems) -> Variants | None:
    """A list of variants, or None when it gives none. The stickiness is the first variant's, else
    `stickiness` (the strategy's), else "default"."""
    if raw is None:
        return None
    if not isinstance(raw, list):
        at.add("", "must be a list")
        return None
    first = raw[0] if raw and isinstance(raw[0], Mapping) else {}
    s = first.get("stickiness")
    if not isinstance(s, str) or not s:
        s = stickiness if isinstance(stickiness, str) and stickiness else "default"
    variants = Variants(group, s)
    seen: set[str] = set()
    valid_total = 0.0
    for i, v in enumerate(raw):
        valid_total += variants.add(v, at.at(f"[{i}]"), seen)
    if raw and not valid_total > 0:
        at.add("", "total weight must be greater than 0")
    variants.seal()
    return variants if variants.names else None


def _valid_weight(w: Any, at: Problems) -> float:
    if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= MAX_WEIGHT or (
            isinstance(w, float) and not w.is_integer()):
        at.add("weight", f"must be a whole number from 0 to {MAX_WEIGHT}")
        return 0
    return w


def _payload(payload: Any, at: Problems) -> dict | None:
    """The payload the variant answers with (a copy), checked against its type."""
    if payload is None:
        return None
    if not isinstance(payload, Mapping):
        at.add("", "must be an object with type and value")
        return None
    ptype, pvalue = payload.get("type"), payload.get("value")
    if not isinstance(ptype, str) or ptype not in PAYLOAD_TYPES:
        at.add("type", f'unknown payload type "{ptype}"')
    if not isinstance(pvalue, str):
        at.add("value", "must be a string")
    elif ptype == "json":
        try:
            json.loads(pvalue)
        except (ValueError, RecursionError):  # RecursionError: nested thousands deep
            at.add("value", "not valid JSON")
    elif ptype == "number" and parse_number(pvalue) is None:
        at.add("value", f'not a number "{pvalue}"')
    return dict(payload)


def _overrides(overrides: Any, at: Problems) -> list[tuple[str, frozenset]]:
    """(context field, values) pairs that pick the variant whatever its weight."""
    if overrides is None:
        return []
    if not isinstance(overrides, list):
        at.add("", "must be a list")
        return []
    out = []
    for j, o in enumerate(overrides):
        field = o.get("contextName") if isinstance(o, Mapping) else None
        if not isinstance(field, str) or not field:
            at.add(f"[{j}].contextName", "required non-empty string")
        elif not isinstance(o.get("values"), list) or not all(isinstance(x, str) for x in o["values"]):
            at.add(f"[{j}].values", "required list of strings")
        if isinstance(field, str):
            values = string_list(o.get("values"))
            if values:
                out.append((field, frozenset(values)))
    return out
