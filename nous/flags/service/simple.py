"""The console's simple form: who gets a flag in three parts (listed testers, a rollout, conditions on
the rollout) that map onto at most two strategies, and back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from nous.flags.models import Flag
from nous.flags.service.errors import FlagError
from nous.flags.service.validation import rollout_percentage

SIMPLE_STICKINESS = "default"
MULTI_VALUE = frozenset({"IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH", "IN_CIDR"})
CONDITION_FIELDS = frozenset({"contextName", "operator", "values", "value", "inverted", "caseInsensitive"})


@dataclass
class SimpleModel:
    """The console's simple form: who gets the flag, in three parts that map onto two strategies."""

    rollout: int = 0
    user_ids: list[str] = field(default_factory=list)
    conditions: list[dict[str, Any]] = field(default_factory=list)


def simple_model(flag: Flag) -> SimpleModel | None:
    """The flag's strategies as the simple form, or None when they need the full model: the simple
    form knows at most [userWithId][flexibleRollout(default stickiness, groupId = key)] with conditions
    on the rollout only."""
    strategies = list(flag.strategies or [])
    model = SimpleModel()
    if not strategies:
        model.rollout = 100
        return model
    if strategies and isinstance(strategies[0], Mapping) and strategies[0].get("name") == "userWithId":
        first = strategies.pop(0)
        if set(first) - {"name", "parameters", "constraints"} or first.get("constraints"):
            return None
        ids = (first.get("parameters") or {}).get("userIds", "")
        model.user_ids = [u.strip() for u in str(ids).split(",") if u.strip()]
    if len(strategies) > 1:
        return None
    if strategies:
        s = strategies[0]
        if not isinstance(s, Mapping) or s.get("name") != "flexibleRollout" or \
                set(s) - {"name", "parameters", "constraints"}:
            return None
        params = s.get("parameters") or {}
        if set(params) - {"rollout", "stickiness", "groupId"} or params.get("stickiness", "default") != "default" \
                or params.get("groupId", flag.key) != flag.key:
            return None
        try:
            model.rollout = rollout_percentage(params.get("rollout"))
        except FlagError:
            return None
        for c in s.get("constraints") or []:
            if not isinstance(c, Mapping) or set(c) - CONDITION_FIELDS:
                return None
            model.conditions.append(dict(c))
    return model


def condition_from_form(context_name: str, operator: str, values: str, inverted: bool = False,
                        case_insensitive: bool = False) -> dict[str, Any]:
    """One condition from the simple form's fields (values comma- or line-separated)."""
    c: dict[str, Any] = {"contextName": context_name.strip(), "operator": operator.strip()}
    items = [v.strip() for v in values.replace("\n", ",").split(",") if v.strip()]
    if c["operator"] in MULTI_VALUE:
        c["values"] = items
    else:
        c["value"] = values.strip()
    if inverted:
        c["inverted"] = True
    if case_insensitive:
        c["caseInsensitive"] = True
    return c


def strategies_from_simple(key: str, rollout: Any, user_ids: Iterable[str],
                           conditions: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The strategies the simple form stands for: the listed testers always, others by rollout."""
    pct = rollout_percentage(rollout)
    ids = [u.strip() for u in user_ids if u and u.strip()]
    out: list[dict[str, Any]] = []
    if ids:
        out.append({"name": "userWithId", "parameters": {"userIds": ",".join(dict.fromkeys(ids))},
                    "constraints": []})
    out.append({"name": "flexibleRollout", "constraints": [dict(c) for c in conditions],
                "parameters": {"rollout": str(pct), "stickiness": SIMPLE_STICKINESS, "groupId": key}})
    return out
