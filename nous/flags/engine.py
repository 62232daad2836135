"""Feature-flag evaluation engine: pure Python, no Flask, database or Redis.

Semantics follow Unleash's public client specification (github.com/Unleash/client-specification):
flags in the Unleash client-API feature format, activation strategies, constraints, segments,
weighted sticky variants and one level of flag dependencies. Why our own code: Unleash's Python SDK
ties evaluation to its HTTP poller, disk cache and scheduler; we need a pure evaluator over our own
flag store that answers in microseconds, so this module ports the specification instead.

`Engine.load()` compiles the flags once into small closures (values into frozensets, CIDRs, regexes,
semantic versions and dates parsed once), so that `Engine.is_enabled()` only walks those closures.
Nothing here raises on bad input, logs or prints: a flag, strategy or constraint that cannot be
understood evaluates to off. `validate_feature()` reports such problems in words, to refuse bad
imports and admin edits before they reach the engine.

Frozen algorithm (ALGORITHM_VERSION = 1). Changing any of this moves testers between buckets, so it
must never change; a different algorithm needs a new version number and a migration plan:

* strategy bucket: ``murmur3_32(f"{groupId}:{value}", seed=0)`` (unsigned, UTF-8) ``% 100 + 1``; on when
  ``percentage > 0`` and ``bucket <= percentage``. ``groupId`` defaults to the flag name.
* variant bucket: ``murmur3_32(f"{groupId}:{value}", seed=86028157) % total_weight + 1``, the first
  variant whose running weight sum reaches it wins. ``groupId`` is the flag name for flag variants and
  the strategy's ``groupId`` (else the flag name) for strategy variants.
* stickiness ``default``: userId, else sessionId (variants also try remoteAddress), else random.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import math
import random
import re
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from operator import eq, ge, gt, le, lt
from typing import Any

import mmh3
import re2
import semver

__all__ = [
    "ALGORITHM_VERSION",
    "FLAG_TYPES",
    "OPERATORS",
    "STRATEGIES",
    "STRATEGY_SEED",
    "VARIANT_SEED",
    "Engine",
    "bucket",
    "validate_feature",
]

ALGORITHM_VERSION = 1  # frozen: see the module docstring; hashing must never change under this number
STRATEGY_SEED = 0
VARIANT_SEED = 86028157

STRATEGIES = frozenset({
    "default", "userWithId", "flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId",
    "gradualRolloutRandom", "remoteAddress",
})
_MULTI_VALUE_OPERATORS = frozenset({
    "IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH", "IN_CIDR",
})
_SINGLE_VALUE_OPERATORS = frozenset({
    "NUM_EQ", "NUM_GT", "NUM_GTE", "NUM_LT", "NUM_LTE", "DATE_AFTER", "DATE_BEFORE",
    "SEMVER_EQ", "SEMVER_GT", "SEMVER_GTE", "SEMVER_LT", "SEMVER_LTE", "REGEX",
})
OPERATORS = _MULTI_VALUE_OPERATORS | _SINGLE_VALUE_OPERATORS
FLAG_TYPES = frozenset({"release", "experiment", "operational", "kill-switch", "permission"})
PAYLOAD_TYPES = frozenset({"string", "json", "csv", "number"})

_COMPARE = {"EQ": eq, "GT": gt, "GTE": ge, "LT": lt, "LTE": le}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CACHE_LIMIT = 4096  # entries per memo (answers per context value, parsed values); cleared when full

_hash = mmh3.hash
_random = random.random

Check = Callable[[dict], bool]


def _false(_ctx: dict) -> bool:
    return False


def _true(_ctx: dict) -> bool:
    return True


def bucket(group_id: str, value: str, modulus: int = 100, seed: int = STRATEGY_SEED) -> int:
    """The frozen bucket (1..modulus) of `value` in `group_id`; see ALGORITHM_VERSION."""
    return _hash(f"{group_id}:{value}", seed, False) % modulus + 1


# --------------------------------------------------------------------------- context values


def _props_get(ctx: dict, name: str) -> Any:
    props = ctx.get("properties")
    if props.__class__ is dict:
        return props.get(name)
    if props is None or not isinstance(props, Mapping):
        return None
    return props.get(name)


def _lookup(ctx: dict, name: str) -> Any:
    """The context value for `name`: top level first, then `properties`; None and "" mean missing."""
    v = ctx.get(name)
    if v is None or (v.__class__ is str and not v):
        v = _props_get(ctx, name)
        if v is None or (v.__class__ is str and not v):
            return None
    return v


def _to_str(v: Any) -> str | None:
    """Scalars as the strings a JSON client would send; anything else is not a usable value."""
    if isinstance(v, str):
        return str(v) or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isfinite(v) and v.is_integer() and abs(v) < 1e16:
            return str(int(v))
        return repr(v)
    return None


def _resolve_str(ctx: dict, name: str, v: Any) -> str | None:
    """Slow path of a string lookup, given `v = ctx.get(name)` that was not a non-empty str."""
    if v is None or v.__class__ is str:  # absent or "": look in properties
        v = _props_get(ctx, name)
        if v.__class__ is str:
            return v or None
        if v is None:
            return None
    return _to_str(v)


def _lookup_str(ctx: dict, name: str) -> str | None:
    v = ctx.get(name)
    if v.__class__ is str and v:
        return v
    return _resolve_str(ctx, name, v)


def _normalize_context(context: Any) -> dict:
    if context.__class__ is dict:
        return context
    if isinstance(context, Mapping):
        try:
            return dict(context)
        except Exception:  # noqa: BLE001 - a broken mapping is an empty context, never an error
            return {}
    return {}


@lru_cache(maxsize=_CACHE_LIMIT)
def _parse_number(s: str) -> float | None:
    s = s.strip()
    if not s or "_" in s:
        return None
    try:
        x = float(s)
    except ValueError:
        return None
    return None if math.isnan(x) else x


def _number(v: Any) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return None if isinstance(v, float) and math.isnan(v) else v
    if isinstance(v, str):
        return _parse_number(v)
    return None


def _datetime_micros(dt: datetime) -> int:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (dt - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=_CACHE_LIMIT)
def _parse_date(s: str) -> int | None:
    """ISO 8601 → microseconds since the epoch (UTC); a date or time without a zone is UTC."""
    try:
        return _datetime_micros(datetime.fromisoformat(s.strip()))
    except (ValueError, OverflowError):
        return None


def _date(v: Any) -> int | None:
    if isinstance(v, datetime):
        try:
            return _datetime_micros(v)
        except (ValueError, OverflowError):
            return None
    if isinstance(v, str):
        return _parse_date(v)
    return None


def _now_micros() -> int:
    return time.time_ns() // 1000


@lru_cache(maxsize=_CACHE_LIMIT)
def _semver_key(s: str) -> tuple | None:
    """A sort key with SemVer 2.0 precedence (pre-releases before the release, build ignored)."""
    try:
        v = semver.Version.parse(s.strip())
    except (ValueError, TypeError):
        return None
    if not v.prerelease:
        return (v.major, v.minor, v.patch, 1, ())
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in v.prerelease.split("."))
    return (v.major, v.minor, v.patch, 0, ids)


@lru_cache(maxsize=_CACHE_LIMIT)
def _parse_ip(s: str) -> tuple[tuple[int, int], ...]:
    """(version, integer) of the address, plus its IPv4 form when IPv4-mapped; () when invalid."""
    try:
        ip = ipaddress.ip_address(s.strip())
    except ValueError:
        return ()
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        return ((6, int(ip)), (4, int(mapped)))
    return ((ip.version, int(ip)),)


def _parse_network(s: Any) -> tuple[int, int, int] | None:
    """An IP or CIDR as (version, network integer, netmask integer); None when invalid."""
    if not isinstance(s, str) or not s.strip():
        return None
    try:
        net = ipaddress.ip_network(s.strip(), strict=False)
    except ValueError:
        return None
    return (net.version, int(net.network_address), int(net.netmask))


def _in_networks(value: str, networks: tuple[tuple[int, int, int], ...]) -> bool:
    for version, address in _parse_ip(value):
        for net_version, network, mask in networks:
            if version == net_version and address & mask == network:
                return True
    return False


def _re2_options(case_insensitive: bool) -> re2.Options:
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    options.case_sensitive = not case_insensitive
    return options


def _compile_regex(pattern: str, case_insensitive: bool) -> Callable[[str], bool] | None:
    """An RE2 search (unanchored, like Unleash) as a boolean function; None when RE2 refuses it."""
    try:
        re2.compile(pattern, _re2_options(case_insensitive))  # validates, with RE2's error on refusal
        regex_set = re2.Set.SearchSet(_re2_options(case_insensitive))
        regex_set.Add(pattern)
        regex_set.Compile()
    except (re2.error, TypeError, ValueError):
        return None
    match = regex_set.Match
    return lambda s: bool(match(s))


# --------------------------------------------------------------------------- constraints


def _string_list(values: Any) -> list[str] | None:
    """Usable string values, trimmed, empty ones dropped (as Unleash does); None if not a list."""
    if isinstance(values, str):
        values = [values]
    if not isinstance(values, (list, tuple)):
        return None
    out = []
    for v in values:
        s = _to_str(v)
        if s is not None:
            s = s.strip()
            if s:
                out.append(s)
    return out


def _constraint_values(c: Mapping) -> list[str] | None:
    values = c.get("values")
    if values is None:
        values = c.get("value")
        if values is None:
            return None
    return _string_list(values)


def _constraint_value(c: Mapping) -> Any:
    value = c.get("value")
    if value is None or value == "":
        values = c.get("values")
        if isinstance(values, (list, tuple)) and len(values) == 1:
            value = values[0]
    return value


def _string_check(name: str, pred: Callable[[str], bool], missing: bool, inv: bool,
                  memo: bool = False, inline: tuple[str, Any] | None = None) -> Check:
    """`pred` on the context value as a string (`missing` when the field is absent), then negated
    when inverted. With `memo`, answers are remembered per value (a cache that is safe to lose,
    cleared when full): only for dear predicates (RE2, CIDR), as a miss costs more than a cheap test.
    `inline` = (expression over `v` and `K`, the constant K) is the same predicate as source text, so
    that `_generate` can write it into a strategy's compiled function (see there)."""
    missing_result = missing is not inv
    if not memo:

        def check(ctx: dict) -> bool:
            v = ctx.get(name)
            if v is None:
                p = ctx.get("properties")
                v = p.get(name) if p.__class__ is dict else _props_get(ctx, name)
            if v.__class__ is not str or not v:
                v = _resolve_str(ctx, name, v)
                if v is None:
                    return missing_result
            return pred(v) is not inv

        if inline is not None:
            check.inline = ("string", name, inline[0], inline[1], missing_result, inv)  # type: ignore[attr-defined]
        return check

    results: dict[str, bool] = {}
    remembered = results.get

    def memo_check(ctx: dict) -> bool:
        v = ctx.get(name)
        if v is None:
            p = ctx.get("properties")
            v = p.get(name) if p.__class__ is dict else _props_get(ctx, name)
        if v.__class__ is not str or not v:
            v = _resolve_str(ctx, name, v)
            if v is None:
                return missing_result
        r = remembered(v)
        if r is None:
            r = pred(v) is not inv
            if len(results) >= _CACHE_LIMIT:
                results.clear()
            results[v] = r
        return r

    return memo_check


def _compile_constraint(c: Any) -> Check:
    """One constraint as `check(context) -> bool`. An unusable constraint is always false, even when
    inverted; a missing or unparsable context value gives false, which `inverted` then negates."""
    if not isinstance(c, Mapping):
        return _false
    name = c.get("contextName")
    op = c.get("operator")
    if not isinstance(name, str) or not name or not isinstance(op, str):
        return _false
    inv = c.get("inverted") is True
    ci = c.get("caseInsensitive") is True

    if op in _MULTI_VALUE_OPERATORS:
        values = _constraint_values(c)
        if values is None:
            return _false
        if op in ("IN", "NOT_IN"):
            member = frozenset(v.lower() for v in values) if ci else frozenset(values)
            contains = member.__contains__
            pred = (lambda s: contains(s.lower())) if ci else contains
            expr = "v.lower() in K" if ci else "v in K"
            if op == "IN":
                return _string_check(name, pred, False, inv, inline=(expr, member))
            return _string_check(name, lambda s: not pred(s), True, inv, inline=(f"not ({expr})", member))
        if op == "IN_CIDR":
            networks = tuple(n for n in map(_parse_network, values) if n is not None)
            return _string_check(name, lambda s: _in_networks(s, networks), False, inv, memo=True)
        needles = tuple(v.lower() for v in values) if ci else tuple(values)
        subject = "v.lower()" if ci else "v"
        inline: tuple[str, Any] | None = None
        if op == "STR_STARTS_WITH":
            pred = (lambda s: s.lower().startswith(needles)) if ci else (
                lambda s: s.startswith(needles))
            inline = (f"{subject}.startswith(K)", needles)
        elif op == "STR_ENDS_WITH":
            pred = (lambda s: s.lower().endswith(needles)) if ci else (
                lambda s: s.endswith(needles))
            inline = (f"{subject}.endswith(K)", needles)
        else:
            if ci:
                pred = lambda s: any(n in s.lower() for n in needles)  # noqa: E731
            else:
                pred = lambda s: any(n in s for n in needles)  # noqa: E731
            if len(needles) == 1:
                inline = (f"K in {subject}", needles[0])
        return _string_check(name, pred, False, inv, inline=inline)

    if op not in _SINGLE_VALUE_OPERATORS:
        return _false
    value = _constraint_value(c)

    if op.startswith("NUM_"):
        target = _number(value)
        if target is None:
            return _false
        cmp = _COMPARE[op[4:]]

        def num_check(ctx: dict) -> bool:
            v = _lookup(ctx, name)
            x = None if v is None else _number(v)
            if x is None:
                return inv
            return cmp(x, target) is not inv

        return num_check

    if op.startswith("DATE_"):
        target = _date(value)
        if target is None:
            return _false
        after = op == "DATE_AFTER"
        now_if_missing = name == "currentTime"

        def date_check(ctx: dict) -> bool:
            v = _lookup(ctx, name)
            if v is None:
                if not now_if_missing:
                    return inv
                t = _now_micros()
            else:
                t = _date(v)
                if t is None:
                    return inv
            return (t > target if after else t < target) is not inv

        return date_check

    if op.startswith("SEMVER_"):
        target = _semver_key(value) if isinstance(value, str) else None
        if target is None:
            return _false
        cmp = _COMPARE[op[7:]]

        def semver_pred(s: str) -> bool:
            k = _semver_key(s)
            return k is not None and cmp(k, target)

        symbol = {"EQ": "==", "GT": ">", "GTE": ">=", "LT": "<", "LTE": "<="}[op[7:]]
        return _string_check(name, semver_pred, False, inv,
                             inline=(f"(k := _semver_key(v)) is not None and k {symbol} K", target))

    # REGEX
    if not isinstance(value, str) or not value:
        return _false
    search = _compile_regex(value, ci)
    if search is None:
        return _false
    return _string_check(name, search, False, inv, memo=True)


def _plain(v: Any) -> Any:
    """A context value as JSON can carry it, for explain()."""
    if v is None or isinstance(v, (str, bool, int, float)):
        return v
    if isinstance(v, datetime):
        return v.isoformat()
    return repr(v)


def _describe_constraint(c: Any) -> dict:
    if not isinstance(c, Mapping):
        return {"problem": "not an object"}
    out = {k: c.get(k) for k in ("contextName", "operator", "values", "value") if k in c}
    out["inverted"] = c.get("inverted") is True
    out["caseInsensitive"] = c.get("caseInsensitive") is True
    return out


# --------------------------------------------------------------------------- strategies


def _percentage(v: Any) -> float:
    x = _number(v)
    return math.nan if x is None else float(x)


def _rollout(group: str, pct: float, stickiness: str) -> Check:
    """flexibleRollout and gradualRollout*: on when 0 < pct and bucket(groupId, value) <= pct."""
    if not pct > 0:  # also NaN
        return _false
    if stickiness == "random":
        return lambda _ctx: _random() * 100 < pct
    if stickiness == "default" and pct >= 100:
        return _true
    prefix = group + ":"
    h = _hash

    if stickiness == "default":

        def default_rollout(ctx: dict) -> bool:
            v = ctx.get("userId")
            if v.__class__ is not str or not v:
                v = _resolve_str(ctx, "userId", v) or _lookup_str(ctx, "sessionId")
                if v is None:
                    return _random() * 100 < pct
            return h(prefix + v, 0, False) % 100 + 1 <= pct

        default_rollout.inline = ("rollout", None, prefix, pct)  # type: ignore[attr-defined]
        return default_rollout

    def field_rollout(ctx: dict) -> bool:
        v = ctx.get(stickiness)
        if v.__class__ is not str or not v:
            v = _resolve_str(ctx, stickiness, v)
            if v is None:
                return False
        return h(prefix + v, 0, False) % 100 + 1 <= pct

    field_rollout.inline = ("rollout", stickiness, prefix, pct)  # type: ignore[attr-defined]
    return field_rollout


def _split_list(v: Any) -> list[str] | None:
    if isinstance(v, str):
        return [p.strip() for p in v.split(",") if p.strip()]
    return _string_list(v)


def _compile_rule(name: Any, params: Mapping, flag_name: str) -> Check:
    """The strategy's own rule, without constraints and segments."""
    group = params.get("groupId")
    group = group if isinstance(group, str) and group else flag_name
    if name == "default":
        return _true
    if name == "flexibleRollout":
        stickiness = params.get("stickiness")
        stickiness = stickiness if isinstance(stickiness, str) and stickiness else "default"
        return _rollout(group, _percentage(params.get("rollout")), stickiness)
    if name == "gradualRolloutUserId":
        return _rollout(group, _percentage(params.get("percentage")), "userId")
    if name == "gradualRolloutSessionId":
        return _rollout(group, _percentage(params.get("percentage")), "sessionId")
    if name == "gradualRolloutRandom":
        return _rollout(group, _percentage(params.get("percentage")), "random")
    if name == "userWithId":
        ids = frozenset(_split_list(params.get("userIds")) or ())
        if not ids:
            return _false
        return lambda ctx: _lookup_str(ctx, "userId") in ids
    if name == "remoteAddress":
        entries = _split_list(params.get("IPs")) or []
        exact = frozenset(entries)
        networks = tuple(n for n in map(_parse_network, entries) if n is not None)

        def remote_address(ctx: dict) -> bool:
            v = _lookup_str(ctx, "remoteAddress")
            if v is None:
                return False
            return v in exact or _in_networks(v, networks)

        return remote_address
    return _false


# --------------------------------------------------------------------------- strategy code generation

_GENERATED_GLOBALS = {
    "__builtins__": {}, "_dict": dict, "_str": str, "_hash": _hash, "_random": _random,
    "_props_get": _props_get, "_resolve_str": _resolve_str, "_lookup_str": _lookup_str,
    "_semver_key": _semver_key,
}
_CONSTANT = re.compile(r"\bK\b")


def _generate(checks: tuple[Check, ...], rule: Check) -> Check:
    """One strategy's constraints and rule as a single Python function, generated at load time.

    Each closure from `_compile_constraint` / `_rollout` that carries an `inline` description is
    written out as statements: the same lookups and the same predicate, in the same order, on the
    same constants, so the answers are exactly the closures' (tests/flags check both ways). What
    this saves is a Python call per constraint and per predicate on the hot path. Closures without
    such a description (regexes, CIDRs, numbers, dates, other rules) are called as they are.

    Nothing from the flag's definition becomes source text: field names and values are bound as
    constants in the function's namespace under generated names (n0, k0, c0 …), and the source uses
    only fixed fragments from this module."""
    ns: dict[str, Any] = dict(_GENERATED_GLOBALS)
    lines = ["def check(ctx):"]
    for i, c in enumerate(checks):
        spec = getattr(c, "inline", None)
        if spec is None or spec[0] != "string":
            ns[f"c{i}"] = c
            lines.append(f"    if not c{i}(ctx): return False")
            continue
        _kind, name, expr, const, missing_result, inv = spec
        ns[f"n{i}"], ns[f"k{i}"] = name, const
        expr = _CONSTANT.sub(f"k{i}", expr)
        lines += [
            f"    v = ctx.get(n{i})",
            "    if v is None:",
            "        p = ctx.get('properties')",
            f"        v = p.get(n{i}) if p.__class__ is _dict else _props_get(ctx, n{i})",
            "    if v.__class__ is not _str or not v:",
            f"        v = _resolve_str(ctx, n{i}, v)",
            "    if v is None:",
            "        pass" if missing_result else "        return False",
            f"    elif {'' if inv else 'not '}({expr}):",
            "        return False",
        ]
    spec = getattr(rule, "inline", None)
    if rule is _true:
        lines.append("    return True")
    elif spec is not None and spec[0] == "rollout":
        _kind, stickiness, prefix, pct = spec
        ns["prefix"], ns["pct"] = prefix, pct
        if stickiness is None:  # default stickiness: userId, else sessionId, else random
            lines += [
                "    v = ctx.get('userId')",
                "    if v.__class__ is not _str or not v:",
                "        v = _resolve_str(ctx, 'userId', v) or _lookup_str(ctx, 'sessionId')",
                "        if v is None:",
                "            return _random() * 100 < pct",
            ]
        else:
            ns["stickiness"] = stickiness
            lines += [
                "    v = ctx.get(stickiness)",
                "    if v.__class__ is not _str or not v:",
                "        v = _resolve_str(ctx, stickiness, v)",
                "        if v is None:",
                "            return False",
            ]
        lines.append("    return _hash(prefix + v, 0, False) % 100 + 1 <= pct")
    else:
        ns["rule"] = rule
        lines.append("    return rule(ctx)")
    exec(_compiled("\n".join(lines)), ns)  # noqa: S102 - fixed fragments only
    return ns["check"]


@lru_cache(maxsize=1024)
def _compiled(source: str) -> Any:
    """Strategies of the same shape share their source (the values are in the namespace): compile once."""
    return compile(source, "<nous.flags strategy>", "exec")


def _seg_key(v: Any) -> Any:
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isdigit():
        return int(v.strip())
    return v if isinstance(v, str) else None


class _Segment:
    __slots__ = ("checks", "id", "raw_constraints")

    def __init__(self, seg: Mapping) -> None:
        self.id = seg.get("id")
        raw = seg.get("constraints")
        if raw is None:
            raw = []
        self.raw_constraints = raw if isinstance(raw, list) else []
        self.checks: tuple[Check, ...] = (
            tuple(map(_compile_constraint, raw)) if isinstance(raw, list) else (_false,)
        )


class _Variants:
    """Weighted sticky variants (flag level or strategy level)."""

    __slots__ = ("json", "names", "overrides", "payloads", "prefix", "steps", "stickiness", "total")

    def __init__(self, variants: list, group: str, stickiness: str) -> None:
        names: list[str] = []
        payloads: list[dict | None] = []
        steps: list[tuple[float, int]] = []
        overrides: list[tuple[str, frozenset, int]] = []
        total = 0.0
        for v in variants:
            if not isinstance(v, Mapping) or not isinstance(v.get("name"), str):
                continue
            i = len(names)
            names.append(v["name"])
            payload = v.get("payload")
            payloads.append(dict(payload) if isinstance(payload, Mapping) else None)
            w = _number(v.get("weight"))
            if w is not None and w > 0 and math.isfinite(w):
                total += w
                steps.append((total, i))
            ovs = v.get("overrides")
            for o in ovs if isinstance(ovs, list) else ():
                if isinstance(o, Mapping) and isinstance(o.get("contextName"), str):
                    vals = _string_list(o.get("values"))
                    if vals:
                        overrides.append((o["contextName"], frozenset(vals), i))
        self.names = tuple(names)
        self.payloads = tuple(payloads)
        self.steps = tuple(steps)
        self.total = int(total) if float(total).is_integer() else total
        self.prefix = group + ":"
        self.stickiness = stickiness
        self.overrides = tuple(overrides)
        self.json = tuple(_variant_json(self.result(i)) for i in range(len(self.names)))

    def seed(self, ctx: dict) -> str | None:
        s = self.stickiness
        if s == "default":
            return (_lookup_str(ctx, "userId") or _lookup_str(ctx, "sessionId")
                    or _lookup_str(ctx, "remoteAddress"))
        if s == "random":
            return None
        return _lookup_str(ctx, s)

    def select(self, ctx: dict) -> int | None:
        if not self.total > 0:
            return None
        for field, values, i in self.overrides:
            if _lookup_str(ctx, field) in values:
                return i
        seed = self.seed(ctx)
        if seed is None:
            target = _random() * self.total + 1  # uniform over (1, total + 1)
        else:
            target = _hash(self.prefix + seed, VARIANT_SEED, False) % self.total + 1
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


def _compile_variants(raw: Any, group: str, stickiness: Any) -> _Variants | None:
    if not isinstance(raw, list) or not raw:
        return None
    first = raw[0] if isinstance(raw[0], Mapping) else {}
    s = first.get("stickiness")
    if not isinstance(s, str) or not s:
        s = stickiness if isinstance(stickiness, str) and stickiness else "default"
    compiled = _Variants(raw, group, s)
    return compiled if compiled.names else None


class _Strategy:
    __slots__ = (
        "check",
        "constraints",
        "group",
        "index",
        "known",
        "name",
        "params",
        "problems",
        "raw_constraints",
        "rule",
        "segments",
        "variants",
    )

    def __init__(self, index: int, raw: Any, flag_name: str, segments: Mapping) -> None:
        self.index = index
        self.variants: _Variants | None = None
        self.segments: list[tuple[Any, _Segment | None]] = []
        self.constraints: tuple[Check, ...] = ()
        self.raw_constraints: list = []
        self.params: Mapping = {}
        self.problems: list[str] = []  # why this strategy can never match; shown by explain()
        if not isinstance(raw, Mapping):
            self.name, self.known, self.group = None, False, flag_name
            self.rule = self.check = _false
            self.problems.append("strategy is not an object")
            return
        self.name = raw.get("name")
        self.known = self.name in STRATEGIES
        if not self.known:
            self.problems.append(f'unknown strategy "{self.name}"')
        if raw.get("disabled") is True:
            self.problems.append("strategy is disabled")
        params = raw.get("parameters")
        self.params = params = params if isinstance(params, Mapping) else {}
        group = params.get("groupId")
        self.group = group if isinstance(group, str) and group else flag_name
        self.rule = _compile_rule(self.name, params, flag_name) if self.known else _false
        raw_constraints = raw.get("constraints")
        if isinstance(raw_constraints, list):
            self.raw_constraints = raw_constraints
            self.constraints = tuple(map(_compile_constraint, raw_constraints))
        elif raw_constraints is not None:
            self.problems.append("constraints is not a list")
        raw_segments = raw.get("segments") or []
        if not isinstance(raw_segments, list):
            self.problems.append("segments is not a list")
            raw_segments = []
        seg_checks: list[Check] = []
        for sid in raw_segments:
            seg = segments.get(_seg_key(sid))
            self.segments.append((sid, seg))
            if seg is None:
                self.problems.append(f'unknown segment "{sid}"')
            else:
                seg_checks.extend(seg.checks)
        self.variants = _compile_variants(raw.get("variants"), self.group, params.get("stickiness"))
        checks = (*seg_checks, *self.constraints)
        self.check = _false if self.problems else self._combine(checks, self.rule)

    @staticmethod
    def _combine(checks: tuple[Check, ...], rule: Check) -> Check:
        """All constraint checks, then the rule, as one generated function (see `_generate`); the
        closures chained when that is not possible."""
        try:
            return _generate(checks, rule)
        except Exception:  # noqa: BLE001 - never expected; the closures give the same answers
            return _Strategy._chain(checks, rule)

    @staticmethod
    def _chain(checks: tuple[Check, ...], rule: Check) -> Check:
        """All constraint checks, then the rule: unrolled for short lists (the common case)."""
        if not checks:
            return rule
        if len(checks) == 1:
            a = checks[0]
            return lambda ctx: a(ctx) and rule(ctx)
        if len(checks) == 2:
            a, b = checks
            return lambda ctx: a(ctx) and b(ctx) and rule(ctx)
        if len(checks) == 3:
            a, b, c = checks
            return lambda ctx: a(ctx) and b(ctx) and c(ctx) and rule(ctx)

        def check(ctx: dict) -> bool:
            for c in checks:
                if not c(ctx):
                    return False
            return rule(ctx)

        return check


class _Flag:
    __slots__ = (
        "checks",
        "deps",
        "enabled",
        "fast",
        "fn",
        "json_off",
        "json_on",
        "key_json",
        "name",
        "no_strategies",
        "simple",
        "strategies",
        "variants",
    )

    def __init__(self, raw: Mapping, segments: Mapping) -> None:
        self.name: str = raw["name"]
        self.enabled = raw.get("enabled") is True
        strategies = raw.get("strategies")
        if strategies is None:
            strategies = []
        if not isinstance(strategies, list):
            self.enabled = False
            strategies = []
        self.strategies = tuple(_Strategy(i, s, self.name, segments) for i, s in enumerate(strategies))
        self.checks = tuple(s.check for s in self.strategies)
        self.no_strategies = not self.strategies
        self.fn = self._any(self.checks)
        self.variants = _compile_variants(raw.get("variants"), self.name, None)
        deps = raw.get("dependencies")
        compiled: list[tuple[Any, bool, frozenset]] = []
        if deps is not None and not isinstance(deps, list):
            deps = [None]  # unreadable dependencies: never satisfied
        for d in deps or ():
            if not isinstance(d, Mapping) or not isinstance(d.get("feature"), str):
                compiled.append((None, True, frozenset()))
                continue
            variants = d.get("variants")
            names = frozenset(v for v in variants if isinstance(v, str)) if isinstance(
                variants, list) else frozenset()
            compiled.append((d["feature"], d.get("enabled") is not False, names))
        self.deps = tuple(compiled)
        # is_enabled's short cut: the whole answer for a dict context, None when dependencies decide
        self.fast: Check | None = (self.fn if not self.deps else None) if self.enabled else _false
        # evaluate_all's: no dependencies and no variants, so `fn` alone gives the answer and the
        # variant is "disabled"; the JSON of either answer is made here, once
        self.simple = self.enabled and not self.deps and self.variants is None and all(
            s.variants is None for s in self.strategies)
        self.key_json = _json(self.name)
        self.json_on = f'{self.key_json}:{{"enabled":true,"variant":{_ON_JSON}}}'
        self.json_off = f'{self.key_json}:{{"enabled":false,"variant":{_OFF_JSON}}}'

    @staticmethod
    def _any(checks: tuple[Check, ...]) -> Check:
        """On when any strategy matches; on for everyone without strategies (Unleash)."""
        if not checks:
            return _true
        if len(checks) == 1:
            return checks[0]

        def any_strategy(ctx: dict) -> bool:
            for check in checks:
                if check(ctx):
                    return True
            return False

        return any_strategy

    def first_match(self, ctx: dict) -> _Strategy | None:
        for s in self.strategies:
            if s.check(ctx):
                return s
        return None


# --------------------------------------------------------------------------- engine


def _override(overrides: Any, key: Any) -> bool | None:
    if overrides is None:
        return None
    try:
        o = overrides.get(key)
    except Exception:  # noqa: BLE001 - unusable overrides are no overrides
        return None
    return o if o is True or o is False else None


def _disabled(feature_enabled: bool) -> dict:
    return {"name": "disabled", "enabled": False, "feature_enabled": feature_enabled}


def _json(v: Any) -> str:
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False, default=str)


def _variant_json(variant: dict) -> str:
    """A variant as evaluate_all_json writes it: "payload" always present (null when none)."""
    return _json({**variant, "payload": variant.get("payload")})


_OFF_JSON = _variant_json(_disabled(False))
_ON_JSON = _variant_json(_disabled(True))


def _private_copy(v: Mapping) -> Mapping:
    """The engine keeps its own copy, so later edits of the caller's dicts change nothing."""
    try:
        return copy.deepcopy(v)
    except Exception:  # noqa: BLE001 - an uncopyable object: compile from the original
        return v


def _as_list(v: Any) -> list:
    if v is None:
        return []
    if isinstance(v, Mapping):
        return [v]
    try:
        return list(v)
    except TypeError:
        return []


class Engine:
    """Compiled flags; `load()` swaps the whole set atomically, evaluation never touches I/O."""

    def __init__(self, features: Iterable[Mapping] = (), segments: Iterable[Mapping] = ()) -> None:
        self._flags: dict[str, _Flag] = {}
        # {key: check(context) -> bool}: the whole answer for a plain dict context and no overrides,
        # for flags without dependencies (the rest are not in it). A check may raise on strange
        # input, which callers must treat as off, as is_enabled() does.
        self.direct: dict[str, Check] = {}
        self.load(features, segments)

    def load(self, features: Iterable[Mapping], segments: Iterable[Mapping] = ()) -> None:
        """Compile `features` (Unleash client-API format) and `segments` ([{id, constraints}])."""
        segs: dict[Any, _Segment] = {}
        for s in _as_list(segments):
            if isinstance(s, Mapping) and _seg_key(s.get("id")) is not None:
                segs[_seg_key(s.get("id"))] = _Segment(_private_copy(s))
        flags: dict[str, _Flag] = {}
        for f in _as_list(features):
            if not isinstance(f, Mapping) or not isinstance(f.get("name"), str):
                continue
            try:
                flags[f["name"]] = _Flag(_private_copy(f), segs)
            except Exception:  # noqa: BLE001 - a flag that cannot be compiled is off, never an error
                flags[f["name"]] = _Flag({"name": f["name"], "enabled": False}, {})
        self._flags = flags
        self.direct = {key: flag.fast for key, flag in flags.items() if flag.fast is not None}

    def keys(self) -> list[str]:
        return list(self._flags)

    def __contains__(self, key: object) -> bool:
        try:
            return key in self._flags
        except TypeError:
            return False

    def __len__(self) -> int:
        return len(self._flags)

    # -- evaluation

    def is_enabled(self, key: str, context: Mapping | None = None,
                   overrides: Mapping[str, bool] | None = None) -> bool:
        """True when the flag is on for this context; a tester override (True/False) wins."""
        if overrides is not None:
            o = _override(overrides, key)
            if o is not None:
                return o
        try:
            flags = self._flags
            flag = flags.get(key)
            if flag is None:
                return False
            fast = flag.fast
            if fast is not None and context.__class__ is dict:
                return fast(context)
            if not flag.enabled:
                return False
            ctx = context if context.__class__ is dict else _normalize_context(context)
            if flag.deps and not self._deps_ok(flags, flag, ctx, overrides):
                return False
            return flag.fn(ctx)
        except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
            return False

    def get_variant(self, key: str, context: Mapping | None = None,
                    overrides: Mapping[str, bool] | None = None) -> dict:
        """{"name", "enabled", "payload"?, "feature_enabled"}; "disabled" when off or no variants."""
        try:
            flags = self._flags
            ctx = _normalize_context(context)
            flag = flags.get(key)
            if flag is None:
                return _disabled(_override(overrides, key) is True)
            enabled, strategy = self._resolve(flags, flag, ctx, overrides)
            return self._variant(flag, enabled, strategy, ctx)
        except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
            return _disabled(False)

    def evaluate_all(self, context: Mapping | None = None,
                     overrides: Mapping[str, bool] | None = None) -> dict[str, dict]:
        """{key: {"enabled": bool, "variant": {...}}} for every flag, each evaluated once."""
        flags = self._flags
        ctx = _normalize_context(context)
        out: dict[str, dict] = {}
        for key, flag in flags.items():
            try:
                if flag.simple and (overrides is None or _override(overrides, key) is None):
                    enabled = bool(flag.fn(ctx))
                    variant = _disabled(enabled)
                else:
                    enabled, strategy = self._resolve(flags, flag, ctx, overrides)
                    variant = self._variant(flag, enabled, strategy, ctx)
            except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
                enabled, variant = False, _disabled(False)
            out[key] = {"enabled": enabled, "variant": variant}
        return out

    def evaluate_all_json(self, context: Mapping | None = None,
                          overrides: Mapping[str, bool] | None = None) -> tuple[str, list[tuple[str, bool]]]:
        """evaluate_all() as compact JSON text — each variant with "payload" (null when none) — and
        the answers as [(key, enabled)]. The text is joined from pieces made at load time, so no
        dict is built and nothing is encoded per call."""
        flags = self._flags
        ctx = _normalize_context(context)
        parts: list[str] = []
        answers: list[tuple[str, bool]] = []
        for key, flag in flags.items():
            try:
                if flag.simple and (overrides is None or _override(overrides, key) is None):
                    enabled = bool(flag.fn(ctx))
                    parts.append(flag.json_on if enabled else flag.json_off)
                else:
                    enabled, strategy = self._resolve(flags, flag, ctx, overrides)
                    variant = self._variant_text(flag, enabled, strategy, ctx)
                    parts.append(f'{flag.key_json}:{{"enabled":{"true" if enabled else "false"},'
                                 f'"variant":{variant}}}')
            except Exception:  # noqa: BLE001 - evaluation never raises: bad input means off
                enabled = False
                parts.append(flag.json_off)
            answers.append((key, enabled))
        return "{" + ",".join(parts) + "}", answers

    def _resolve(self, flags: dict, flag: _Flag, ctx: dict,
                 overrides: Any) -> tuple[bool, _Strategy | None]:
        o = _override(overrides, flag.name)
        if o is False:
            return False, None
        if o is True:
            return True, flag.first_match(ctx)
        if not flag.enabled:
            return False, None
        if flag.deps and not self._deps_ok(flags, flag, ctx, overrides):
            return False, None
        if flag.no_strategies:
            return True, None
        s = flag.first_match(ctx)
        return s is not None, s

    @staticmethod
    def _variant(flag: _Flag, enabled: bool, strategy: _Strategy | None, ctx: dict) -> dict:
        if not enabled:
            return _disabled(False)
        for variants in (strategy.variants if strategy is not None else None, flag.variants):
            if variants is not None:
                i = variants.select(ctx)
                if i is not None:
                    return variants.result(i)
        return _disabled(True)

    @staticmethod
    def _variant_text(flag: _Flag, enabled: bool, strategy: _Strategy | None, ctx: dict) -> str:
        """_variant() as the JSON text made at load time."""
        if not enabled:
            return _OFF_JSON
        for variants in (strategy.variants if strategy is not None else None, flag.variants):
            if variants is not None:
                i = variants.select(ctx)
                if i is not None:
                    return variants.json[i]
        return _ON_JSON

    def _parent_state(self, flags: dict, parent: _Flag, ctx: dict, overrides: Any,
                      want_variant: bool) -> tuple[bool, str | None]:
        enabled, strategy = self._resolve(flags, parent, ctx, overrides)
        if not want_variant:
            return enabled, None
        return enabled, self._variant(parent, enabled, strategy, ctx)["name"]

    def _dep_status(self, flags: dict, dep: tuple, ctx: dict, overrides: Any) -> tuple[bool, str]:
        name, expect_enabled, variants = dep
        parent = flags.get(name) if name is not None else None
        if parent is None:
            return False, "parent flag not found" if name is not None else "unreadable dependency"
        if parent.deps:
            return False, "parent has dependencies of its own (only one level is allowed)"
        want_variant = expect_enabled and bool(variants)
        enabled, variant = self._parent_state(flags, parent, ctx, overrides, want_variant)
        if not expect_enabled:
            return (not enabled), "parent is " + ("enabled" if enabled else "disabled")
        if not enabled:
            return False, "parent is disabled"
        if want_variant and variant not in variants:
            return False, f'parent variant "{variant}" is not one of the required variants'
        return True, "parent is enabled" + (f' with variant "{variant}"' if want_variant else "")

    def _deps_ok(self, flags: dict, flag: _Flag, ctx: dict, overrides: Any) -> bool:
        for dep in flag.deps:
            if not self._dep_status(flags, dep, ctx, overrides)[0]:
                return False
        return True

    # -- explanation for the admin preview

    def explain(self, key: str, context: Mapping | None = None,
                overrides: Mapping[str, bool] | None = None) -> dict:
        """Why the flag is on or off for this context: every dependency, strategy, segment and
        constraint with its outcome. Evaluated once, so `enabled` and `variant` agree."""
        flags = self._flags
        ctx = _normalize_context(context)
        flag = flags.get(key) if isinstance(key, str) else None
        o = _override(overrides, key)
        out: dict[str, Any] = {"key": key, "found": flag is not None, "override": o,
                               "flag_enabled": bool(flag and flag.enabled), "dependencies": [],
                               "strategies": [], "matched_strategy": None}
        if flag is None:
            out.update(enabled=o is True, reason="unknown flag" if o is None else
                       f"tester override: {'on' if o else 'off'}", variant=_disabled(o is True))
            return out
        try:
            return self._explain(flags, flag, ctx, overrides, o, out)
        except Exception as exc:  # noqa: BLE001 - never raise from the preview either
            out.update(enabled=False, reason=f"evaluation failed: {type(exc).__name__}",
                       variant=_disabled(False))
            return out

    def _explain(self, flags: dict, flag: _Flag, ctx: dict, overrides: Any, o: bool | None,
                 out: dict) -> dict:
        deps_ok = True
        for name, expect_enabled, variants in flag.deps:
            ok, why = self._dep_status(flags, (name, expect_enabled, variants), ctx, overrides)
            deps_ok = deps_ok and ok
            out["dependencies"].append({"feature": name, "expect_enabled": expect_enabled,
                                        "variants": sorted(variants), "satisfied": ok,
                                        "reason": why})
        matched: _Strategy | None = None
        for s in flag.strategies:
            info = self._explain_strategy(s, ctx)
            out["strategies"].append(info)
            if matched is None and info["matched"]:
                matched = s
        if o is not None:
            enabled, reason = o, f"tester override: {'on' if o else 'off'}"
        elif not flag.enabled:
            enabled, reason = False, "flag is switched off"
        elif not deps_ok:
            enabled, reason = False, "a dependency is not satisfied"
        elif flag.no_strategies:
            enabled, reason = True, "flag has no strategies: on for everyone"
        elif matched is not None:
            enabled, reason = True, f"strategy {matched.index} ({matched.name}) matched"
        else:
            enabled, reason = False, "no strategy matched"
        strategy = matched if enabled else None
        out.update(enabled=enabled, reason=reason,
                   matched_strategy=strategy.index if strategy is not None else None,
                   variant=self._variant(flag, enabled, strategy, ctx))
        return out

    @staticmethod
    def _explain_strategy(s: _Strategy, ctx: dict) -> dict:
        info: dict[str, Any] = {"index": s.index, "name": s.name, "known": s.known,
                                "parameters": dict(s.params), "segments": [], "constraints": [],
                                "problems": list(s.problems)}
        all_ok = not s.problems
        for sid, seg in s.segments:
            if seg is None:
                info["segments"].append({"id": sid, "found": False, "passed": False, "constraints": []})
                continue
            rows = Engine._explain_constraints(seg.raw_constraints, seg.checks, ctx)
            passed = all(r["passed"] for r in rows) and len(seg.checks) == len(rows)
            info["segments"].append({"id": sid, "found": True, "passed": passed, "constraints": rows})
            all_ok = all_ok and passed
        info["constraints"] = rows = Engine._explain_constraints(s.raw_constraints, s.constraints, ctx)
        all_ok = all_ok and all(r["passed"] for r in rows)
        rule_passed = s.rule(ctx)
        info["rule"] = Engine._explain_rule(s, s.params, ctx, rule_passed)
        info["matched"] = bool(all_ok and rule_passed)
        return info

    @staticmethod
    def _explain_constraints(raw: list, checks: tuple[Check, ...], ctx: dict) -> list[dict]:
        rows = []
        for c, check in zip(raw, checks, strict=False):
            row = _describe_constraint(c)
            name = c.get("contextName") if isinstance(c, Mapping) else None
            row["context_value"] = _plain(_lookup(ctx, name)) if isinstance(name, str) else None
            row["passed"] = bool(check(ctx))
            if isinstance(c, Mapping) and c.get("operator") not in OPERATORS:
                row["problem"] = f'unknown operator "{c.get("operator")}"'
            rows.append(row)
        return rows

    @staticmethod
    def _explain_rule(s: _Strategy, params: Mapping, ctx: dict, passed: bool) -> dict:
        rule: dict[str, Any] = {"passed": passed}
        if s.name in ("flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId",
                      "gradualRolloutRandom"):
            stickiness = {"gradualRolloutUserId": "userId", "gradualRolloutSessionId": "sessionId",
                          "gradualRolloutRandom": "random"}.get(s.name)
            if stickiness is None:
                st = params.get("stickiness")
                stickiness = st if isinstance(st, str) and st else "default"
            pct_key = "rollout" if s.name == "flexibleRollout" else "percentage"
            if stickiness == "default":
                value = _lookup_str(ctx, "userId") or _lookup_str(ctx, "sessionId")
            elif stickiness == "random":
                value = None
            else:
                value = _lookup_str(ctx, stickiness)
            rule.update(percentage=params.get(pct_key), stickiness=stickiness, group_id=s.group,
                        stickiness_value=value,
                        bucket=bucket(s.group, value) if value is not None else None,
                        random=value is None and stickiness in ("default", "random"))
        elif s.name == "userWithId":
            rule.update(user_ids=params.get("userIds"), user_id=_lookup_str(ctx, "userId"))
        elif s.name == "remoteAddress":
            rule.update(ips=params.get("IPs"), remote_address=_lookup_str(ctx, "remoteAddress"))
        return rule


# --------------------------------------------------------------------------- validation


def _is_number(v: Any) -> bool:
    return _number(v) is not None and math.isfinite(float(_number(v)))  # type: ignore[arg-type]


def _check_bool(obj: Mapping, key: str, path: str, problems: list[str]) -> None:
    if key in obj and obj[key] is not None and not isinstance(obj[key], bool):
        problems.append(f"{path}{key}: must be true or false")


def _validate_constraint(c: Any, path: str, problems: list[str]) -> None:
    if not isinstance(c, Mapping):
        problems.append(f"{path}: must be an object")
        return
    name, op = c.get("contextName"), c.get("operator")
    if not isinstance(name, str) or not name.strip():
        problems.append(f"{path}.contextName: required non-empty string")
    if not isinstance(op, str) or op not in OPERATORS:
        problems.append(f'{path}.operator: unknown operator "{op}"')
        return
    _check_bool(c, "inverted", path + ".", problems)
    _check_bool(c, "caseInsensitive", path + ".", problems)
    if op in _MULTI_VALUE_OPERATORS:
        values = c.get("values")
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            problems.append(f"{path}.values: required list of strings")
            return
        if op == "IN_CIDR":
            for v in values:
                if _parse_network(v) is None:
                    problems.append(f'{path}.values: invalid IP address or CIDR "{v}"')
        return
    value = c.get("value")
    if value is None or value == "":
        problems.append(f"{path}.value: required")
    elif op.startswith("NUM_"):
        if not _is_number(value):
            problems.append(f'{path}.value: not a number "{value}"')
    elif not isinstance(value, str):
        problems.append(f"{path}.value: must be a string")
    elif op.startswith("DATE_"):
        if _date(value) is None:
            problems.append(f'{path}.value: not an ISO 8601 date and time "{value}"')
    elif op.startswith("SEMVER_"):
        if _semver_key(value) is None:
            problems.append(f'{path}.value: not a semantic version "{value}"')
    elif _compile_regex(value, c.get("caseInsensitive") is True) is None:
        problems.append(f'{path}.value: not a valid RE2 regular expression "{value}"')


def _validate_constraints(cs: Any, path: str, problems: list[str]) -> None:
    if cs is None:
        return
    if not isinstance(cs, list):
        problems.append(f"{path}: must be a list")
        return
    for i, c in enumerate(cs):
        _validate_constraint(c, f"{path}[{i}]", problems)


def _validate_percentage(params: Mapping, key: str, path: str, problems: list[str]) -> None:
    v = params.get(key)
    x = _number(v) if v is not None else None
    if x is None or not 0 <= x <= 100:
        problems.append(f"{path}.parameters.{key}: must be a number from 0 to 100")


def _validate_variants(vs: Any, path: str, problems: list[str]) -> None:
    if vs is None:
        return
    if not isinstance(vs, list):
        problems.append(f"{path}: must be a list")
        return
    seen: set[str] = set()
    total = 0.0
    for i, v in enumerate(vs):
        p = f"{path}[{i}]"
        if not isinstance(v, Mapping):
            problems.append(f"{p}: must be an object")
            continue
        name = v.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{p}.name: required non-empty string")
        elif name in seen:
            problems.append(f'{p}.name: duplicate variant "{name}"')
        else:
            seen.add(name)
        w = v.get("weight")
        if isinstance(w, bool) or not isinstance(w, (int, float)) or not 0 <= w <= 1000 or (
                isinstance(w, float) and not w.is_integer()):
            problems.append(f"{p}.weight: must be a whole number from 0 to 1000")
        else:
            total += w
        if "stickiness" in v and v["stickiness"] is not None and (
                not isinstance(v["stickiness"], str) or not v["stickiness"]):
            problems.append(f"{p}.stickiness: must be a non-empty string")
        payload = v.get("payload")
        if payload is not None:
            if not isinstance(payload, Mapping):
                problems.append(f"{p}.payload: must be an object with type and value")
            else:
                ptype, pvalue = payload.get("type"), payload.get("value")
                if ptype not in PAYLOAD_TYPES:
                    problems.append(f'{p}.payload.type: unknown payload type "{ptype}"')
                if not isinstance(pvalue, str):
                    problems.append(f"{p}.payload.value: must be a string")
                elif ptype == "json":
                    try:
                        json.loads(pvalue)
                    except (ValueError, RecursionError):  # RecursionError: nested thousands deep
                        problems.append(f"{p}.payload.value: not valid JSON")
                elif ptype == "number" and _parse_number(pvalue) is None:
                    problems.append(f'{p}.payload.value: not a number "{pvalue}"')
        overrides = v.get("overrides")
        if overrides is not None:
            if not isinstance(overrides, list):
                problems.append(f"{p}.overrides: must be a list")
            else:
                for j, o in enumerate(overrides):
                    op = f"{p}.overrides[{j}]"
                    if not isinstance(o, Mapping) or not isinstance(o.get("contextName"), str) \
                            or not o.get("contextName"):
                        problems.append(f"{op}.contextName: required non-empty string")
                    elif not isinstance(o.get("values"), list) or not all(
                            isinstance(x, str) for x in o["values"]):
                        problems.append(f"{op}.values: required list of strings")
    if vs and not total > 0:
        problems.append(f"{path}: total weight must be greater than 0")


def _validate_strategy(s: Any, path: str, segment_ids: set | None, problems: list[str]) -> None:
    if not isinstance(s, Mapping):
        problems.append(f"{path}: must be an object")
        return
    name = s.get("name")
    if name not in STRATEGIES:
        problems.append(f'{path}.name: unknown strategy "{name}"')
    params = s.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        problems.append(f"{path}.parameters: must be an object")
        params = {}
    if name == "flexibleRollout":
        _validate_percentage(params, "rollout", path, problems)
        st = params.get("stickiness")
        if st is not None and (not isinstance(st, str) or not st):
            problems.append(f"{path}.parameters.stickiness: must be a non-empty string")
    elif name in ("gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom"):
        _validate_percentage(params, "percentage", path, problems)
    elif name == "userWithId":
        ids = _split_list(params.get("userIds"))
        if not ids:
            problems.append(f"{path}.parameters.userIds: required comma-separated user ids")
    elif name == "remoteAddress":
        ips = params.get("IPs")
        if not isinstance(ips, str) or not ips.strip():
            problems.append(f"{path}.parameters.IPs: required comma-separated IPs or CIDRs")
        else:
            for entry in _split_list(ips) or []:
                if _parse_network(entry) is None:
                    problems.append(f'{path}.parameters.IPs: invalid IP address or CIDR "{entry}"')
    group = params.get("groupId")
    if group is not None and not isinstance(group, str):
        problems.append(f"{path}.parameters.groupId: must be a string")
    _validate_constraints(s.get("constraints"), f"{path}.constraints", problems)
    segs = s.get("segments")
    if segs is not None:
        if not isinstance(segs, list):
            problems.append(f"{path}.segments: must be a list of segment ids")
        else:
            for i, sid in enumerate(segs):
                key = _seg_key(sid)
                if key is None:
                    problems.append(f"{path}.segments[{i}]: not a segment id")
                elif segment_ids is not None and key not in segment_ids:
                    problems.append(f'{path}.segments[{i}]: unknown segment "{sid}"')
    _validate_variants(s.get("variants"), f"{path}.variants", problems)
    _check_bool(s, "disabled", path + ".", problems)


def validate_feature(feature: Any, segment_ids: Iterable[Any] | None = None) -> list[str]:
    """Human-readable problems with one flag in the Unleash client-API format; [] when valid.
    Pass `segment_ids` to also check that referenced segments exist."""
    if not isinstance(feature, Mapping):
        return ["feature: must be an object"]
    problems: list[str] = []
    name = feature.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.append("name: required non-empty string")
    if not isinstance(feature.get("enabled"), bool):
        problems.append("enabled: required true or false")
    ftype = feature.get("type")
    if ftype is not None and ftype not in FLAG_TYPES:
        problems.append(f'type: unknown type "{ftype}" (one of {", ".join(sorted(FLAG_TYPES))})')
    _check_bool(feature, "impressionData", "", problems)
    ids = None if segment_ids is None else {_seg_key(s) for s in segment_ids}
    strategies = feature.get("strategies")
    if strategies is not None and not isinstance(strategies, list):
        problems.append("strategies: must be a list")
    else:
        for i, s in enumerate(strategies or []):
            _validate_strategy(s, f"strategies[{i}]", ids, problems)
    _validate_variants(feature.get("variants"), "variants", problems)
    deps = feature.get("dependencies")
    if deps is not None and not isinstance(deps, list):
        problems.append("dependencies: must be a list")
    else:
        for i, d in enumerate(deps or []):
            p = f"dependencies[{i}]"
            if not isinstance(d, Mapping):
                problems.append(f"{p}: must be an object")
                continue
            parent = d.get("feature")
            if not isinstance(parent, str) or not parent.strip():
                problems.append(f"{p}.feature: required flag name")
            elif parent == name:
                problems.append(f"{p}.feature: a flag cannot depend on itself")
            _check_bool(d, "enabled", p + ".", problems)
            variants = d.get("variants")
            if variants is not None and (not isinstance(variants, list) or not all(
                    isinstance(v, str) for v in variants)):
                problems.append(f"{p}.variants: must be a list of variant names")
    return problems
