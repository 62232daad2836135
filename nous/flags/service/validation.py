"""What a flag may be: its key, the types of its editable fields, and the engine's checks plus those
that need the other flags (parents must exist, one level of dependencies only). Nothing the engine
cannot understand is ever stored; refusals carry one message per field."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from nous import inputs
from nous.extensions import db
from nous.flags.engine import validate_feature
from nous.flags.models import FLAG_TYPES, Flag, Segment
from nous.flags.service.errors import FlagError

KEY_MAX = 200
DESCRIPTION_MAX = 10_000
DEFINITION_MAX = 256 * 1024  # bytes of JSON for strategies + variants + dependencies of one flag
FORBIDDEN_KEY_CHARS = frozenset("/\\?#%")
EDITABLE = ("description", "type", "enabled", "strategies", "variants", "dependencies", "impression_data", "enable_at",
            "disable_at")


def check_key(raw: Any) -> str:
    """A flag key: 1–200 characters of any script, without spaces, control characters or / \\ ? # %."""
    if not isinstance(raw, str) or not raw:
        raise FlagError("The flag needs a key.", {"key": "required"})
    if len(raw) > KEY_MAX:
        raise FlagError("The key is too long.", {"key": f"at most {KEY_MAX} characters"})
    for ch in raw:
        if ch in FORBIDDEN_KEY_CHARS or unicodedata.category(ch)[0] in "CZ":
            shown = repr(ch) if unicodedata.category(ch)[0] in "CZ" else ch
            raise FlagError("The key has a character it cannot have.",
                            {"key": f"no spaces, control characters or / \\ ? # % (found {shown})"})
    if raw in (".", ".."):  # a path segment browsers and HTTP clients resolve away: its pages could not be reached
        raise FlagError("The key cannot be . or .. alone.", {"key": "not . or .. alone"})
    return raw


def rollout_percentage(raw: Any) -> int:
    """A rollout percentage: a whole number from 0 to 100."""
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FlagError("The rollout must be a number from 0 to 100.", {"rollout": "a number from 0 to 100"}) from None
    if not 0 <= value <= 100 or not value.is_integer():
        raise FlagError("The rollout must be a whole number from 0 to 100.",
                        {"rollout": "a whole number from 0 to 100"})
    return int(value)


def _parse_time(raw: Any, name: str, errors: dict[str, str]) -> datetime | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, datetime):
        return (raw if raw.tzinfo else raw.replace(tzinfo=UTC)).astimezone(UTC)
    if isinstance(raw, str):
        try:  # within the years a date can be moved to UTC in
            value = inputs.parse_datetime(raw, name)
        except inputs.InputError:
            pass
        else:  # stored in UTC: SQLite keeps the wall time only
            return value.astimezone(UTC) if value else None
    errors[name] = "expected a date and time like 2026-12-01T09:00:00+00:00"
    return None


def split_problems(problems: Iterable[str], errors: dict[str, str], prefix: str = "") -> None:
    """The engine's "where: message" problems as one message per field (joined when a field has several)."""
    for problem in problems:
        where, sep, message = problem.partition(": ")
        if not sep:
            where, message = "definition", problem
        where = prefix + where
        errors[where] = f"{errors[where]}; {message}" if where in errors else message


def constraint_problems(constraints: Any, errors: dict[str, str], prefix: str = "") -> None:
    """The engine's checks of a list of constraints (a segment's), named `constraints…`."""
    problems = validate_feature({"name": "x", "enabled": True,
                                 "strategies": [{"name": "default", "constraints": constraints}]})
    split_problems((p.replace("strategies[0].constraints", "constraints") for p in problems), errors, prefix)


def normalize(state: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    """Types of the editable fields (what a form or a JSON body may get wrong), in place."""
    if not isinstance(state.get("description"), str):
        if state.get("description") is None:
            state["description"] = ""
        else:
            errors["description"] = "must be text"
    elif len(state["description"]) > DESCRIPTION_MAX:
        errors["description"] = f"at most {DESCRIPTION_MAX} characters"
    if state.get("type") not in FLAG_TYPES:
        errors["type"] = f"one of {', '.join(FLAG_TYPES)}"
    if not isinstance(state.get("enabled"), bool):
        errors["enabled"] = "must be true or false"
    if state.get("impression_data") is None:
        state["impression_data"] = False
    elif not isinstance(state["impression_data"], bool):
        errors["impression_data"] = "must be true or false"
    for name in ("strategies", "variants", "dependencies"):
        if state.get(name) is None:
            state[name] = []
        elif not isinstance(state[name], list):
            errors[name] = "must be a list"
    state["enable_at"] = _parse_time(state.get("enable_at"), "enable_at", errors)
    state["disable_at"] = _parse_time(state.get("disable_at"), "disable_at", errors)
    if not errors:
        size = len(json.dumps([state["strategies"], state["variants"], state["dependencies"]], default=str))
        if size > DEFINITION_MAX:
            errors["strategies"] = f"the definition is too large ({size} bytes; at most {DEFINITION_MAX})"
    return state


def children_of(flags: Mapping[str, list[Any]]) -> dict[str, list[str]]:
    """Parent key → the keys of the flags that depend on it, sorted (what `validate` looks up)."""
    children: dict[str, set[str]] = {}
    for key, deps in flags.items():
        for d in deps or ():
            if isinstance(d, Mapping) and isinstance(d.get("feature"), str):
                children.setdefault(d["feature"], set()).add(key)
    return {parent: sorted(keys) for parent, keys in children.items()}


def validate(state: dict[str, Any], segment_ids: set[int], flags: Mapping[str, list[Any]],
             errors: dict[str, str], children: Mapping[str, list[str]] | None = None) -> None:
    """The engine's own checks, then those that need the other flags: parents must exist, one level only.

    `flags` maps the flag keys (not archived) to their dependencies; the flag's own key, if there, is
    skipped. `children` (`children_of(flags)`), when given, spares a scan of every flag: checking many
    flags against the same `flags` stays linear."""
    feature = {"name": state["key"], "enabled": state["enabled"], "type": state["type"],
               "strategies": state["strategies"], "variants": state["variants"],
               "dependencies": state["dependencies"]}
    split_problems(validate_feature(feature, segment_ids), errors)
    for i, dep in enumerate(state["dependencies"]):
        parent = dep.get("feature") if isinstance(dep, Mapping) else None
        if not isinstance(parent, str) or parent == state["key"] or f"dependencies[{i}].feature" in errors:
            continue
        if parent not in flags:
            errors[f"dependencies[{i}].feature"] = f'unknown flag "{parent}"'
        elif flags[parent]:
            errors[f"dependencies[{i}].feature"] = f'"{parent}" depends on other flags itself (one level only)'
    if state["dependencies"]:
        key = state["key"]
        if children is None:
            dependents = sorted(k for k, deps in flags.items() if k != key
                                and any(isinstance(d, Mapping) and d.get("feature") == key for d in deps or ()))
        else:
            dependents = [k for k in children.get(key, ()) if k != key]
        if dependents:
            errors["dependencies"] = f"other flags depend on this one ({', '.join(dependents[:5])}); one level only"


def stored_context(exclude: str = "") -> tuple[set[int], dict[str, list[Any]]]:
    """What `validate` needs from the database: the segment ids, and every other active flag's dependencies."""
    segment_ids = set(db.session.scalars(select(Segment.id)))
    flags = {k: d or [] for k, d in db.session.execute(
        select(Flag.key, Flag.dependencies).where(Flag.archived.is_(False))) if k != exclude}
    return segment_ids, flags
