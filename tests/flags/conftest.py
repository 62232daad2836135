"""Fixtures of the flags tests: a fresh flag cache per test, flags and tokens made through the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from nous.flags.cache import EVALS


@pytest.fixture(autouse=True)
def _fresh_flag_cache(request: pytest.FixtureRequest) -> None:
    """Tables and Redis are emptied after every test; the process's flag snapshot must follow."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions["nous.flags"].reset()
    EVALS.reset()


@pytest.fixture
def make_flag(ctx) -> Callable[..., Any]:
    from nous.flags import service

    def make(key: str, **fields: Any) -> Any:
        return service.create_flag({"key": key, **fields}, actor="test@nous.test", ip="127.0.0.1")

    return make


@pytest.fixture
def token(ctx) -> str:
    from nous.flags import service

    _row, raw = service.create_token("tests", actor="test@nous.test")
    return raw


def rollout(pct: int | str, *constraints: dict[str, Any], **params: Any) -> dict[str, Any]:
    return {"name": "flexibleRollout", "constraints": list(constraints),
            "parameters": {"rollout": str(pct), "stickiness": "default", **params}}


def constraint(name: str, operator: str, values: Any) -> dict[str, Any]:
    if isinstance(values, list):
        return {"contextName": name, "operator": operator, "values": values}
    return {"contextName": name, "operator": operator, "value": values}
