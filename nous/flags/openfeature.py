"""An OpenFeature provider over the in-process flags (openfeature-sdk).

    from openfeature import api
    from nous.flags.openfeature import NousProvider

    api.set_provider(NousProvider(app))  # or NousProvider(app, environment="staging")
    client = api.get_client()
    client.get_boolean_value("checkout.new-flow", False, EvaluationContext("tester-42", {"plan": "pro"}))

Booleans are the flag's answer. Strings, numbers and objects come from the payload of the variant the
context gets (as Unleash's own OpenFeature providers do): no variant, or the flag off, gives the
caller's default with reason DEFAULT (DISABLED when the flag is switched off). The targeting key is
the userId; the attributes userId, sessionId, remoteAddress, environment, appName and currentTime go
to the context itself, every other scalar attribute to `properties`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from flask import Flask, has_app_context
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import FlagNotFoundError, ParseError, TypeMismatchError
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType, Reason
from openfeature.provider import AbstractProvider, Metadata

from nous.flags import cache

TOP_LEVEL = frozenset({"userId", "sessionId", "remoteAddress", "environment", "appName", "currentTime"})

__all__ = ["NousProvider", "to_context"]


def to_context(evaluation_context: EvaluationContext | None) -> dict[str, Any]:
    """An OpenFeature evaluation context as a NOUS flags context."""
    ctx: dict[str, Any] = {}
    if evaluation_context is None:
        return ctx
    props: dict[str, Any] = {}
    for name, value in (evaluation_context.attributes or {}).items():
        if isinstance(value, datetime):
            value = value.isoformat()
        if not isinstance(value, (str, bool, int, float)):
            continue  # lists and maps have no meaning for constraints
        if name in TOP_LEVEL:
            ctx[name] = value if name != "currentTime" else str(value)
        else:
            props[name] = value
    if evaluation_context.targeting_key:
        ctx["userId"] = evaluation_context.targeting_key
    if props:
        ctx["properties"] = props
    return ctx


class NousProvider(AbstractProvider):
    """Evaluates through `nous.flags` (no I/O per evaluation) in the flag environment `environment`
    (None: the setting `flags.environment`). Give it the app when it is used outside an app context
    (a thread of your own); inside a request or job it uses the current app."""

    def __init__(self, app: Flask | None = None, environment: str | None = None) -> None:
        super().__init__()
        self.app = app
        self.environment = environment

    def get_metadata(self) -> Metadata:
        return Metadata(name="NOUS flags")

    # -- helpers

    def _call(self, fn: Any, *args: Any) -> Any:
        if self.app is not None and not has_app_context():
            with self.app.app_context():
                return fn(*args)
        return fn(*args)

    def _known(self, key: str) -> bool | None:
        """The flag's own switch, or None when there is no such flag (archived flags are unknown)."""
        return self._call(lambda: cache.snapshot().env(self.environment).flag_enabled.get(key))

    def _variant(self, key: str, evaluation_context: EvaluationContext | None) -> tuple[bool, dict[str, Any]]:
        switched = self._known(key)
        if switched is None:
            raise FlagNotFoundError(f"no flag named {key!r}")
        return switched, self._call(cache.get_variant, key, to_context(evaluation_context), self.environment)

    def _typed(self, key: str, default: Any, evaluation_context: EvaluationContext | None,
               convert: Any, kind: str) -> FlagResolutionDetails[Any]:
        switched, variant = self._variant(key, evaluation_context)
        if not variant["enabled"]:
            return FlagResolutionDetails(value=default, reason=Reason.DEFAULT if switched else Reason.DISABLED,
                                         variant=variant["name"])
        payload = variant.get("payload")
        if not payload:
            return FlagResolutionDetails(value=default, reason=Reason.DEFAULT, variant=variant["name"])
        try:
            value = convert(payload)
        except (TypeError, ValueError):
            raise ParseError(f"{key}: the payload of variant {variant['name']!r} is not {kind}") from None
        return FlagResolutionDetails(value=value, reason=Reason.TARGETING_MATCH, variant=variant["name"])

    # -- OpenFeature

    def resolve_boolean_details(self, flag_key: str, default_value: bool,
                                evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[bool]:
        switched = self._known(flag_key)
        if switched is None:
            raise FlagNotFoundError(f"no flag named {flag_key!r}")
        on = self._call(cache.is_enabled, flag_key, to_context(evaluation_context), self.environment)
        reason = Reason.TARGETING_MATCH if switched or on else Reason.DISABLED
        return FlagResolutionDetails(value=on, reason=reason)

    def resolve_string_details(self, flag_key: str, default_value: str,
                               evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[str]:
        return self._typed(flag_key, default_value, evaluation_context, lambda p: str(p["value"]), "a string")

    def resolve_integer_details(self, flag_key: str, default_value: int,
                                evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[int]:
        def convert(p: Mapping[str, Any]) -> int:
            if p.get("type") not in ("number", "string"):
                raise TypeMismatchError(f"{flag_key}: the payload is {p.get('type')}, not a number")
            x = float(p["value"])
            if not math.isfinite(x) or not x.is_integer():
                raise ValueError("not a whole number")
            return int(x)

        return self._typed(flag_key, default_value, evaluation_context, convert, "a whole number")

    def resolve_float_details(self, flag_key: str, default_value: float,
                              evaluation_context: EvaluationContext | None = None) -> FlagResolutionDetails[float]:
        def convert(p: Mapping[str, Any]) -> float:
            if p.get("type") not in ("number", "string"):
                raise TypeMismatchError(f"{flag_key}: the payload is {p.get('type')}, not a number")
            return float(p["value"])

        return self._typed(flag_key, default_value, evaluation_context, convert, "a number")

    def resolve_object_details(
        self, flag_key: str, default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        def convert(p: Mapping[str, Any]) -> Any:
            if p.get("type") != "json":
                raise TypeMismatchError(f"{flag_key}: the payload is {p.get('type')}, not json")
            value = json.loads(p["value"])
            if not isinstance(value, (dict, list)):
                raise TypeMismatchError(f"{flag_key}: the JSON payload is not an object or a list")
            return value

        return self._typed(flag_key, default_value, evaluation_context, convert, "JSON")

