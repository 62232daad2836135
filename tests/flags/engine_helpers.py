"""Builders of flag definitions for the engine tests (tests/flags/test_engine*.py)."""

from __future__ import annotations

from nous.flags.engine import Engine


def default(*constraints: dict, **extra: object) -> dict:
    return {"name": "default", "parameters": {}, "constraints": list(constraints), **extra}


def rollout(pct: object, stickiness: str = "default", group: str | None = None, *constraints: dict,
            **extra: object) -> dict:
    params: dict = {"rollout": pct, "stickiness": stickiness}
    if group is not None:
        params["groupId"] = group
    return {"name": "flexibleRollout", "parameters": params, "constraints": list(constraints), **extra}


def flag(name: str, *strategies: dict, enabled: bool = True, **extra: object) -> dict:
    return {"name": name, "enabled": enabled, "strategies": list(strategies), **extra}


def c(context_name: str, operator: str, values: object = None, **extra: object) -> dict:
    """A constraint; a list goes to `values`, anything else to `value`."""
    out: dict = {"contextName": context_name, "operator": operator, **extra}
    if isinstance(values, list):
        out["values"] = values
    elif values is not None:
        out["value"] = values
    return out


def on(constraint: dict, context: dict | None = None) -> bool:
    """Whether a flag whose only strategy is `default` with this one constraint is on."""
    return Engine([flag("f", default(constraint))]).is_enabled("f", context or {})


def variant(name: str, weight: int = 1, value: str | None = None, **extra: object) -> dict:
    out: dict = {"name": name, "weight": weight, **extra}
    if value is not None:
        out["payload"] = {"type": "string", "value": value}
    return out


def users_on(engine: Engine, key: str, n: int = 2000) -> set[str]:
    return {f"u{i}" for i in range(n) if engine.is_enabled(key, {"userId": f"u{i}"})}




def gradual(kind: str, pct: str, group: str | None = "AB12A") -> dict:
    params = {"percentage": pct} if group is None else {"percentage": pct, "groupId": group}
    return {"name": kind, "parameters": params}



def remote(ips: str) -> dict:
    return {"name": "remoteAddress", "parameters": {"IPs": ips}}
