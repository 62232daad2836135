"""Activation strategies: the rule of each (rollouts, user ids, addresses) with its parameters' rules,
segments, and a strategy's constraints and rule combined into one check (see `codegen`)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from nous.flags.engine import codegen
from nous.flags.engine.constraints import compile_constraint
from nous.flags.engine.context import (
    Check,
    SharedCheck,
    always_false,
    always_true,
    in_networks,
    lookup_str,
    number,
    parse_network,
    resolve_str,
    split_list,
)
from nous.flags.engine.hashing import hash32, random_float
from nous.flags.engine.problems import Problems
from nous.flags.engine.variants import Variants, compile_variants

STRATEGIES = frozenset({
    "default", "userWithId", "flexibleRollout", "gradualRolloutUserId", "gradualRolloutSessionId",
    "gradualRolloutRandom", "remoteAddress",
})
# the stickiness of each gradual rollout (flexibleRollout names its own)
GRADUAL_STICKINESS = {"gradualRolloutUserId": "userId", "gradualRolloutSessionId": "sessionId",
                      "gradualRolloutRandom": "random"}


# --------------------------------------------------------------------------- rules


def _percentage(params: Mapping, key: str, at: Problems) -> float:
    x = number(params.get(key))
    if x is None or not 0 <= x <= 100:
        at.add(f"parameters.{key}", "must be a number from 0 to 100")
    try:
        return math.nan if x is None else float(x)
    except OverflowError:  # an integer past the float range: unusable, like any non-number
        return math.nan


def rollout(group: str, pct: float, stickiness: str) -> Check:
    """flexibleRollout and gradualRollout*: on when 0 < pct and bucket(groupId, value) <= pct.

    An id given as "" is no id (the next one is tried, then random): so does the Node SDK, while the
    Python SDK hashes the empty string. The client specification has no case of it; we keep the frozen
    algorithm, which moves no tester."""
    if not pct > 0:  # also NaN
        return always_false
    if stickiness == "random":
        return lambda _ctx: random_float() * 100 < pct
    if stickiness == "default" and pct >= 100:
        return always_true
    prefix = group + ":"
    h = hash32

    if stickiness == "default":

        def default_rollout(ctx: dict) -> bool:
            v = ctx.get("userId")
            if v.__class__ is not str or not v:
                v = resolve_str(ctx, "userId", v) or lookup_str(ctx, "sessionId")
                if v is None:
                    return random_float() * 100 < pct
            return h(prefix + v, 0, False) % 100 + 1 <= pct

        default_rollout.inline = ("rollout", None, prefix, pct)  # type: ignore[attr-defined]
        return default_rollout

    def field_rollout(ctx: dict) -> bool:
        v = ctx.get(stickiness)
        if v.__class__ is not str or not v:
            v = resolve_str(ctx, stickiness, v)
            if v is None:
                return False
        return h(prefix + v, 0, False) % 100 + 1 <= pct

    field_rollout.inline = ("rollout", stickiness, prefix, pct)  # type: ignore[attr-defined]
    return field_rollout


def _flexible_rollout(params: Mapping, group: str, at: Problems) -> Check:
    pct = _percentage(params, "rollout", at)
    stickiness = params.get("stickiness")
    if stickiness is not None and (not isinstance(stickiness, str) or not stickiness):
        at.add("parameters.stickiness", "must be a non-empty string")
    return rollout(group, pct, stickiness if isinstance(stickiness, str) and stickiness else "default")


def _user_with_id(params: Mapping, at: Problems) -> Check:
    raw = params.get("userIds")
    ids = frozenset(split_list(raw) or ())
    if not ids:
        at.add("parameters.userIds", "required comma-separated user ids")
        return always_false
    # an empty entry ("u1, u2,") lets a userId given as "" match, as in both official SDKs
    empty = isinstance(raw, str) and any(not p.strip() for p in raw.split(","))

    def user_with_id(ctx: dict) -> bool:
        v = lookup_str(ctx, "userId")
        return v in ids if v is not None else empty and ctx.get("userId") == ""

    return user_with_id


def _remote_address(params: Mapping, at: Problems) -> Check:
    ips = params.get("IPs")
    named = isinstance(ips, str) and bool(ips.strip())
    if not named:
        at.add("parameters.IPs", "required comma-separated IPs or CIDRs")
    entries = split_list(ips) or []
    networks = []
    for entry in entries:
        n = parse_network(entry)
        if n is not None:
            networks.append(n)
        elif named:
            at.add("parameters.IPs", f'invalid IP address or CIDR "{entry}"')
    found = tuple(networks)

    # Addresses and ranges as the IN_CIDR operator reads them (client specification 22): the address
    # written exactly, IPv6 ranges included, entries that are not an IP or CIDR ignored. This is what
    # the Python SDK's engine does; the Node SDK also matches an entry equal to the address as text and
    # reads IPv4 only. They disagree there, the specification has no case of it: we follow the IN_CIDR rules.
    def remote_address(ctx: dict) -> bool:
        v = lookup_str(ctx, "remoteAddress")
        return v is not None and in_networks(v, found)

    return remote_address


def compile_rule(name: Any, params: Mapping, group: str, at: Problems) -> Check:
    """The strategy's own rule, without constraints and segments; its parameters' problems to `at`."""
    if name == "default":
        return always_true
    if name == "flexibleRollout":
        return _flexible_rollout(params, group, at)
    if name in GRADUAL_STICKINESS:
        return rollout(group, _percentage(params, "percentage", at), GRADUAL_STICKINESS[name])
    if name == "userWithId":
        return _user_with_id(params, at)
    if name == "remoteAddress":
        return _remote_address(params, at)
    return always_false


# --------------------------------------------------------------------------- segments


def seg_key(v: Any) -> Any:
    """A segment id as the engine keys it: numbers and numeric strings alike; None when unusable."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().isdecimal():  # not isdigit(): "¹" is a digit int() refuses
        return int(v.strip())
    return v if isinstance(v, str) else None


class Segment:
    """Named constraints a strategy can share (`segments: [id, …]`); all must hold."""

    __slots__ = ("checks", "id", "raw_constraints")

    def __init__(self, seg: Mapping) -> None:
        self.id = seg.get("id")
        raw = seg.get("constraints")
        if raw is None:
            raw = []
        self.raw_constraints = raw if isinstance(raw, list) else []
        at = Problems()  # a stored segment that breaks a rule still evaluates (to false where unusable)
        self.checks: tuple[Check, ...] = (
            tuple(compile_constraint(c, at) for c in raw) if isinstance(raw, list) else (always_false,)
        )


NO_SEGMENT_CHECKS = Segment({})  # stands for a segment that is known to exist, when only ids are known


# --------------------------------------------------------------------------- strategies


def _never(_ctx: dict, _m: dict) -> bool:
    return False


class Strategy:
    """One compiled strategy. `segments` maps the known segment ids to their `Segment`; None when they
    are not known (validation without the ids), so that no segment is reported missing."""

    __slots__ = (
        "check",
        "constraints",
        "group",
        "index",
        "known",
        "name",
        "params",
        "parts",
        "problems",
        "raw_constraints",
        "rule",
        "segments",
        "shared",
        "variants",
    )

    def __init__(self, index: int, raw: Any, flag_name: str, segments: Mapping | None, at: Problems) -> None:
        self.index = index
        self.variants: Variants | None = None
        self.segments: list[tuple[Any, Segment | None]] = []
        self.constraints: tuple[Check, ...] = ()
        self.raw_constraints: list = []
        self.params: Mapping = {}
        self.problems: list[str] = []  # why this strategy can never match; shown by explain()
        self.name, self.known, self.group = None, False, flag_name
        self.rule = self.check = always_false
        self.shared: SharedCheck = _never
        self.parts: tuple[tuple[Check, ...], Check] = ((), always_false)  # what codegen.generate_all writes out
        if not isinstance(raw, Mapping):
            at.add("", "must be an object")
            self.problems.append("strategy is not an object")
            return
        self.name = raw.get("name")
        self.known = isinstance(self.name, str) and self.name in STRATEGIES
        if not self.known:
            at.add("name", f'unknown strategy "{self.name}"')
            self.problems.append(f'unknown strategy "{self.name}"')
        if raw.get("disabled") is True:
            self.problems.append("strategy is disabled")
        self._read_rule(raw, flag_name, at)
        self._read_constraints(raw.get("constraints"), at.at("constraints"))
        seg_checks = self._read_segments(raw.get("segments"), segments, at)
        self.variants = compile_variants(raw.get("variants"), self.group, self.params.get("stickiness"),
                                         at.at("variants"))
        at.boolean(raw, "disabled")
        checks = (*seg_checks, *self.constraints)
        self.check = always_false if self.problems else self._combine(checks, self.rule)
        if not self.problems:
            self.shared = self._combine_shared(checks, self.rule, self.check)
            self.parts = (checks, self.rule)

    def _read_rule(self, raw: Mapping, flag_name: str, at: Problems) -> None:
        params = raw.get("parameters")
        if params is not None and not isinstance(params, Mapping):
            at.add("parameters", "must be an object")
        self.params = params = params if isinstance(params, Mapping) else {}
        group = params.get("groupId")
        self.group = group if isinstance(group, str) and group else flag_name
        if self.known:
            self.rule = compile_rule(self.name, params, self.group, at)
        if group is not None and not isinstance(group, str):
            at.add("parameters.groupId", "must be a string")

    def _read_constraints(self, raw: Any, at: Problems) -> None:
        if isinstance(raw, list):
            self.raw_constraints = raw
            self.constraints = tuple(compile_constraint(c, at.at(f"[{i}]")) for i, c in enumerate(raw))
        elif raw is not None:
            at.add("", "must be a list")
            self.problems.append("constraints is not a list")

    def _read_segments(self, raw: Any, segments: Mapping | None, at: Problems) -> list[Check]:
        if raw is not None and not isinstance(raw, list):
            at.add("segments", "must be a list of segment ids")
            if raw:
                self.problems.append("segments is not a list")
            return []
        seg_checks: list[Check] = []
        for i, sid in enumerate(raw or ()):
            key = seg_key(sid)
            seg = segments.get(key) if segments is not None else None
            self.segments.append((sid, seg))
            if key is None:
                at.add(f"segments[{i}]", "not a segment id")
            elif segments is not None and seg is None:
                at.add(f"segments[{i}]", f'unknown segment "{sid}"')
            if seg is None:
                self.problems.append(f'unknown segment "{sid}"')
            else:
                seg_checks.extend(seg.checks)
        return seg_checks

    @staticmethod
    def _combine(checks: tuple[Check, ...], rule: Check) -> Check:
        """All constraint checks, then the rule, as one generated function (see `codegen`); the
        closures chained when that is not possible."""
        try:
            return codegen.generate(checks, rule)
        except Exception:  # noqa: BLE001 - never expected; the closures give the same answers
            return Strategy._chain(checks, rule)

    @staticmethod
    def _combine_shared(checks: tuple[Check, ...], rule: Check, check: Check) -> SharedCheck:
        """`check` taking the answers kept for this context too (codegen.generate, shared); `check` itself,
        keeping nothing, when that cannot be generated."""
        try:
            return codegen.generate(checks, rule, shared=True)
        except Exception:  # noqa: BLE001 - never expected; `check` gives the same answers
            return lambda ctx, _m: check(ctx)

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
