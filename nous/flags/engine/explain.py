"""Why a flag is on or off for a context, for the admin preview: every dependency, strategy, segment
and constraint with its outcome, evaluated once so that `enabled` and `variant` agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from nous.flags.engine.constraints import OPERATORS
from nous.flags.engine.context import Check, lookup, lookup_str, normalize_context, plain
from nous.flags.engine.features import Flag, dep_status, override, variant_of
from nous.flags.engine.hashing import bucket
from nous.flags.engine.strategies import GRADUAL_STICKINESS, Strategy
from nous.flags.engine.variants import disabled


def explain(flags: dict[str, Flag], key: str, context: Mapping | None = None,
            overrides: Mapping[str, bool] | None = None) -> dict:
    """The explanation of flag `key` among the compiled `flags`."""
    ctx = normalize_context(context)
    flag = flags.get(key) if isinstance(key, str) else None
    o = override(overrides, key)
    out: dict[str, Any] = {"key": key, "found": flag is not None, "override": o,
                           "flag_enabled": bool(flag and flag.enabled), "dependencies": [],
                           "strategies": [], "matched_strategy": None}
    if flag is None:
        out.update(enabled=o is True, reason="unknown flag" if o is None else
                   f"tester override: {'on' if o else 'off'}", variant=disabled(o is True))
        return out
    try:
        return _explain(flags, flag, ctx, overrides, o, out)
    except Exception as exc:  # noqa: BLE001 - never raise from the preview either
        out.update(enabled=False, reason=f"evaluation failed: {type(exc).__name__}", variant=disabled(False))
        return out


def _explain(flags: dict, flag: Flag, ctx: dict, overrides: Any, o: bool | None, out: dict) -> dict:
    deps_ok = True
    for name, expect_enabled, variants in flag.deps:
        ok, why = dep_status(flags, (name, expect_enabled, variants), ctx, overrides)
        deps_ok = deps_ok and ok
        out["dependencies"].append({"feature": name, "expect_enabled": expect_enabled,
                                    "variants": sorted(variants), "satisfied": ok, "reason": why})
    matched: Strategy | None = None
    for s in flag.strategies:
        info = _strategy(s, ctx)
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
    out.update(enabled=enabled, reason=reason, matched_strategy=strategy.index if strategy is not None else None,
               variant=variant_of(flag, enabled, strategy, ctx))
    return out


def _strategy(s: Strategy, ctx: dict) -> dict:
    info: dict[str, Any] = {"index": s.index, "name": s.name, "known": s.known,
                            "parameters": dict(s.params), "segments": [], "constraints": [],
                            "problems": list(s.problems)}
    all_ok = not s.problems
    for sid, seg in s.segments:
        if seg is None:
            info["segments"].append({"id": sid, "found": False, "passed": False, "constraints": []})
            continue
        rows = _constraints(seg.raw_constraints, seg.checks, ctx)
        passed = all(r["passed"] for r in rows) and len(seg.checks) == len(rows)
        info["segments"].append({"id": sid, "found": True, "passed": passed, "constraints": rows})
        all_ok = all_ok and passed
    info["constraints"] = rows = _constraints(s.raw_constraints, s.constraints, ctx)
    all_ok = all_ok and all(r["passed"] for r in rows)
    rule_passed = s.rule(ctx)
    info["rule"] = _rule(s, s.params, ctx, rule_passed)
    info["matched"] = bool(all_ok and rule_passed)
    return info


def describe_constraint(c: Any) -> dict:
    if not isinstance(c, Mapping):
        return {"problem": "not an object"}
    out = {k: c.get(k) for k in ("contextName", "operator", "values", "value") if k in c}
    out["inverted"] = c.get("inverted") is True
    out["caseInsensitive"] = c.get("caseInsensitive") is True
    return out


def _constraints(raw: list, checks: tuple[Check, ...], ctx: dict) -> list[dict]:
    rows = []
    for c, check in zip(raw, checks, strict=False):
        row = describe_constraint(c)
        name = c.get("contextName") if isinstance(c, Mapping) else None
        row["context_value"] = plain(lookup(ctx, name)) if isinstance(name, str) else None
        row["passed"] = bool(check(ctx))
        if isinstance(c, Mapping) and c.get("operator") not in OPERATORS:
            row["problem"] = f'unknown operator "{c.get("operator")}"'
        rows.append(row)
    return rows


def _rule(s: Strategy, params: Mapping, ctx: dict, passed: bool) -> dict:
    rule: dict[str, Any] = {"passed": passed}
    if s.name == "flexibleRollout" or s.name in GRADUAL_STICKINESS:
        stickiness = GRADUAL_STICKINESS.get(s.name)
        if stickiness is None:
            st = params.get("stickiness")
            stickiness = st if isinstance(st, str) and st else "default"
        pct_key = "rollout" if s.name == "flexibleRollout" else "percentage"
        if stickiness == "default":
            value = lookup_str(ctx, "userId") or lookup_str(ctx, "sessionId")
        elif stickiness == "random":
            value = None
        else:
            value = lookup_str(ctx, stickiness)
        rule.update(percentage=params.get(pct_key), stickiness=stickiness, group_id=s.group,
                    stickiness_value=value, bucket=bucket(s.group, value) if value is not None else None,
                    random=value is None and stickiness in ("default", "random"))
    elif s.name == "userWithId":
        rule.update(user_ids=params.get("userIds"), user_id=lookup_str(ctx, "userId"))
    elif s.name == "remoteAddress":
        rule.update(ips=params.get("IPs"), remote_address=lookup_str(ctx, "remoteAddress"))
    return rule
