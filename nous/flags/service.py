"""Feature flags: create, change, version, restore, archive, schedule, import/export, tokens, segments.

No `request` or `g` in here: routes, CLI commands and jobs call these functions with the actor and IP
they know. Every change of a flag is stored as a new version (the state before and after and the
computed diff) and written to the audit log in the same transaction; after the commit every process
is told through the Redis version key (`bump_version`), so evaluation everywhere follows within a
second. Definitions are checked with the engine's `validate_feature`, so nothing the engine cannot
understand is ever stored; refusals carry one message per field (`FlagError.errors`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis
from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nous import events as nous_events
from nous import inputs
from nous.audit import service as audit
from nous.clock import aware
from nous.extensions import db, get_redis
from nous.flags.cache import (
    EVALS,
    TOKEN_SEEN_KEY,
    bump_version,
    is_stale,
    read_counts,
)
from nous.flags.engine import Engine, validate_feature
from nous.flags.models import FLAG_TYPES, ClientToken, Flag, FlagVersion, Segment
from nous.live.events import publish

__all__ = [
    "FLAG_TYPES", "FlagConflict", "FlagError", "FlagNotFound", "ImportReport", "apply_schedules", "archive_flag",
    "bump_version", "changes_since", "create_flag", "create_token", "delete_segment", "diff", "export_document",
    "get_flag",
    "history", "import_document", "list_flags", "list_segments", "list_tokens", "overview", "parse_document",
    "preview", "recent_changes", "restore_version", "revoke_token", "save_segment", "set_enabled", "set_rollout",
    "simple_model", "strategies_from_simple", "unarchive_flag", "update_flag",
]

log = logging.getLogger("nous.flags")

KEY_MAX = 200
DESCRIPTION_MAX = 10_000
DEFINITION_MAX = 256 * 1024  # bytes of JSON for strategies + variants + dependencies of one flag
TOKEN_NAME_MAX = 100
FORBIDDEN_KEY_CHARS = frozenset("/\\?#%")
SCHEDULE_ACTOR = "schedule:flags"
EDITABLE = ("description", "type", "enabled", "strategies", "variants", "dependencies", "enable_at", "disable_at")
SIMPLE_STICKINESS = "default"


class FlagError(ValueError):
    """A change that cannot be made; `errors` has one message per field, `status` the HTTP status."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}
        self.status = status

    def __str__(self) -> str:
        if not self.errors:
            return self.message
        return self.message + " " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())


class FlagNotFound(FlagError):
    def __init__(self, key: str) -> None:
        super().__init__(f"no flag named {key!r}", status=404)


class FlagConflict(FlagError):
    """The flag is not what the caller saw: `current` is the flag as it is now (when known) and
    `changes` the versions stored since the one the caller saw, oldest first."""

    def __init__(self, message: str, current: Flag | None = None, changes: list[FlagVersion] | None = None) -> None:
        super().__init__(message, {"version": "changed since you opened it"} if current is not None else None,
                         status=409)
        self.current = current
        self.changes = changes or []


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- diff


def _path(base: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}.{key}" if base else str(key)


def diff(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """Changes between two JSON values as [{path, op: added|removed|changed, before, after}].

    Written here because it is twenty lines and the version rows want exactly this shape; lists are
    compared position by position (strategies are ordered, so position is meaning)."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[dict[str, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            p = _path(path, key)
            if key not in before:
                out.append({"path": p, "op": "added", "before": None, "after": after[key]})
            elif key not in after:
                out.append({"path": p, "op": "removed", "before": before[key], "after": None})
            else:
                out.extend(diff(before[key], after[key], p))
        return out
    if isinstance(before, list) and isinstance(after, list):
        out = []
        for i in range(max(len(before), len(after))):
            p = _path(path, i)
            if i >= len(before):
                out.append({"path": p, "op": "added", "before": None, "after": after[i]})
            elif i >= len(after):
                out.append({"path": p, "op": "removed", "before": before[i], "after": None})
            else:
                out.extend(diff(before[i], after[i], p))
        return out
    if before != after or type(before) is not type(after):
        return [{"path": path or "(value)", "op": "changed", "before": before, "after": after}]
    return []


# --------------------------------------------------------------------------- validation


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
    return raw


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


def _split_problems(problems: Iterable[str], errors: dict[str, str], prefix: str = "") -> None:
    for problem in problems:
        where, sep, message = problem.partition(": ")
        if not sep:
            where, message = "definition", problem
        where = prefix + where
        errors[where] = f"{errors[where]}; {message}" if where in errors else message


def _normalize(state: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
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


def _validate(state: dict[str, Any], segment_ids: set[int], flags: Mapping[str, list[Any]],
              errors: dict[str, str]) -> None:
    """The engine's own checks, then those that need the other flags: parents must exist, one level only.

    `flags` maps every other flag key (not archived) to its dependencies."""
    feature = {"name": state["key"], "enabled": state["enabled"], "type": state["type"],
               "strategies": state["strategies"], "variants": state["variants"],
               "dependencies": state["dependencies"]}
    _split_problems(validate_feature(feature, segment_ids), errors)
    for i, dep in enumerate(state["dependencies"]):
        parent = dep.get("feature") if isinstance(dep, Mapping) else None
        if not isinstance(parent, str) or parent == state["key"] or f"dependencies[{i}].feature" in errors:
            continue
        if parent not in flags:
            errors[f"dependencies[{i}].feature"] = f'unknown flag "{parent}"'
        elif flags[parent]:
            errors[f"dependencies[{i}].feature"] = f'"{parent}" depends on other flags itself (one level only)'
    if state["dependencies"]:
        children = sorted(k for k, deps in flags.items()
                          if any(isinstance(d, Mapping) and d.get("feature") == state["key"] for d in deps))
        if children:
            errors["dependencies"] = f"other flags depend on this one ({', '.join(children[:5])}); one level only"


def _context_for_validation(exclude: str = "") -> tuple[set[int], dict[str, list[Any]]]:
    segment_ids = set(db.session.scalars(select(Segment.id)))
    flags = {k: d or [] for k, d in db.session.execute(
        select(Flag.key, Flag.dependencies).where(Flag.archived.is_(False))) if k != exclude}
    return segment_ids, flags


# --------------------------------------------------------------------------- reading


def get_flag(key: str, *, for_update: bool = False) -> Flag:
    stmt = select(Flag).where(Flag.key == key)
    if for_update:
        stmt = stmt.with_for_update()
    flag = db.session.scalar(stmt) if isinstance(key, str) else None
    if flag is None:
        raise FlagNotFound(str(key))
    return flag


def list_flags(q: str = "", archived: bool = False) -> list[Flag]:
    stmt = select(Flag).where(Flag.archived.is_(archived)).order_by(Flag.key)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(Flag.key).like(like) | func.lower(Flag.description).like(like))
    return list(db.session.scalars(stmt))


def counts() -> dict[str, dict[str, int]]:
    """Evaluation counts per flag (all time and last 24 h); {} when Redis cannot be reached."""
    try:
        return read_counts(get_redis())
    except (redis.RedisError, OSError):
        return {}


def _stale_days() -> int:
    from nous.settings import service as settings

    return settings.get("flags.stale_days")


def flag_is_stale(flag: Flag) -> bool:
    return not flag.archived and is_stale(flag.type, aware(flag.updated_at), _stale_days())


def rollout_summary(flag: Flag) -> str:
    """A few words for the list: who gets the flag (and in which variants, and on which parents)."""
    if not flag.enabled:
        return "off"
    strategies = [s for s in flag.strategies or [] if isinstance(s, Mapping) and s.get("disabled") is not True]
    parts = []
    for s in strategies:
        params = s.get("parameters") or {}
        cons = len(s.get("constraints") or []) + len(s.get("segments") or [])
        name = s.get("name")
        if name == "default":
            text = "everyone"
        elif name == "flexibleRollout":
            text = f"{params.get('rollout', '?')} %"
        elif name in ("gradualRolloutUserId", "gradualRolloutSessionId", "gradualRolloutRandom"):
            text = f"{params.get('percentage', '?')} %"
        elif name == "userWithId":
            text = f"{len([u for u in str(params.get('userIds', '')).split(',') if u.strip()])} user(s)"
        elif name == "remoteAddress":
            text = "IP list"
        else:
            text = str(name)
        parts.append(text + (f" if {cons} condition(s)" if cons else ""))
    summary = " or ".join(parts) or "everyone"
    if flag.variants:
        summary += f" · {len(flag.variants)} variants"
    parents = [str(d.get("feature")) for d in flag.dependencies or [] if isinstance(d, Mapping)]
    if parents:
        summary += " · needs " + ", ".join(parents)
    return summary


def overview(q: str = "", archived: bool = False) -> list[dict[str, Any]]:
    """Rows for the console list and `flags list`: state, type, last change, stale marker, counts."""
    flags = list_flags(q, archived)
    evals = counts()
    days = _stale_days()
    now = _now()
    rows = []
    for f in flags:
        c = evals.get(f.key, {})
        rows.append({
            "flag": f, "key": f.key, "type": f.type, "enabled": f.enabled, "archived": f.archived,
            "description": f.description, "version": f.version, "updated_at": aware(f.updated_at),
            "updated_by": f.updated_by, "stale": not f.archived and is_stale(f.type, aware(f.updated_at), days, now),
            "rollout": rollout_summary(f), "evaluations": c.get("total", 0), "evaluations_24h": c.get("recent", 0),
            "on_24h": c.get("recent_yes", 0), "enable_at": aware(f.enable_at), "disable_at": aware(f.disable_at),
        })
    return rows


def history(key: str, limit: int = 100) -> list[FlagVersion]:
    flag = get_flag(key)
    return list(db.session.scalars(select(FlagVersion).where(FlagVersion.flag_id == flag.id)
                                   .order_by(FlagVersion.version.desc()).limit(limit)))


def get_version(key: str, version: int) -> FlagVersion:
    flag = get_flag(key)
    row = db.session.scalar(select(FlagVersion).where(FlagVersion.flag_id == flag.id,
                                                      FlagVersion.version == version))
    if row is None:
        raise FlagError(f"{key} has no version {version}", {"version": "no such version"}, status=404)
    return row


def changes_since(flag: Flag, version: int, limit: int = 20) -> list[FlagVersion]:
    """The versions of `flag` stored after `version`, oldest first (what someone who saw `version` missed)."""
    return list(db.session.scalars(select(FlagVersion).where(FlagVersion.flag_id == flag.id,
                                                             FlagVersion.version > version)
                                   .order_by(FlagVersion.version).limit(limit)))


def _check_seen(flag: Flag, expected_version: int | None) -> None:
    """Refuse (409) a change made on a view of an older version than the stored one."""
    if expected_version is None or flag.version == expected_version:
        return
    raise FlagConflict(f"{flag.key} changed since you opened it (version {expected_version} → {flag.version}); "
                       "nothing was changed. It is shown as it is now.", current=flag,
                       changes=changes_since(flag, expected_version))


def recent_changes(limit: int = 10) -> list[FlagVersion]:
    return list(db.session.scalars(select(FlagVersion).order_by(FlagVersion.id.desc()).limit(limit)))


# --------------------------------------------------------------------------- changing


def _record(flag: Flag, action: str, before: dict[str, Any] | None, actor: str, ip: str, note: str = "",
            audit_action: str = "") -> FlagVersion:
    after = flag.state()
    flag.version = 1 if before is None else (flag.version or 0) + 1
    flag.updated_at = _now()
    flag.updated_by = actor[:320]
    version = FlagVersion(flag_id=flag.id, flag_key=flag.key, version=flag.version, action=action[:30],
                          before=before, after=after, diff=diff(before, after) if before is not None else [],
                          note=note[:500], actor=actor[:320], ip=(ip or "")[:64], created_at=flag.updated_at)
    db.session.add(version)
    audit.record(actor, audit_action or ("flags.create" if before is None else "flags.update"), flag.key,
                 before, after, ip=ip, commit=False)
    db.session.info.setdefault("nous.flags.events", []).append({
        "id": flag.id, "key": flag.key,
        "action": LIVE_ACTIONS.get(action, "updated") if before is not None else "created",
        "enabled": flag.enabled, "actor": actor, "version": flag.version, "at": flag.updated_at.isoformat()})
    if before is not None and action in WORKFLOW_ACTIONS:
        db.session.info.setdefault("nous.flags.workflow_events", []).append(
            _flag_changed_data(flag, action, actor, note, version.diff))
    return version


# changes of one existing flag that start the workflows listening to `flag.changed` (not creations,
# nor imports, which may change hundreds of flags at once)
WORKFLOW_ACTIONS = frozenset({"update", "enable", "disable", "rollout", "restore", "archive", "unarchive", "schedule"})
WORKFLOW_CHANGES_MAX = 50  # diff entries passed to a workflow; `changed` always names every field


def _flag_changed_data(flag: Flag, action: str, actor: str, note: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of a `flag.changed` event: the flag, what was done, by whom, and what changed."""
    fields = sorted({str(c["path"]).split(".")[0].split("[")[0] for c in changes})
    return {"flag": {"key": flag.key, "enabled": bool(flag.enabled), "type": flag.type,
                     "archived": bool(flag.archived), "version": flag.version},
            "action": action, "actor": actor, "note": note, "changed": fields,
            "changes": json.loads(json.dumps(changes[:WORKFLOW_CHANGES_MAX], default=str))}


# what the console's live view (/ws/live, topic "flags") calls each kind of version
LIVE_ACTIONS = {"update": "updated", "enable": "enabled", "disable": "disabled", "rollout": "rollout",
                "archive": "archived", "unarchive": "updated", "restore": "restored", "import": "updated",
                "schedule": "updated"}


@event.listens_for(Session, "after_rollback")
def _forget_events(session: Session) -> None:
    session.info.pop("nous.flags.events", None)  # changes rolled back are not announced
    session.info.pop("nous.flags.workflow_events", None)


def _announce() -> None:
    """After a commit: every process reloads within a second; live viewers hear of each change; the
    workflows listening to `flag.changed` start."""
    bump_version()
    events = db.session.info.pop("nous.flags.events", [])
    if events:
        for event in events[:50]:
            publish("flags", event)
    _tell_workflows(db.session.info.pop("nous.flags.workflow_events", []))


def _tell_workflows(events: list[dict[str, Any]]) -> None:
    """`flag.changed` for each change, after the commit. Whatever a listener does, the change stands:
    the workflows' trigger_event never raises by its contract, and this makes sure of it."""
    for data in events[:50]:
        try:
            nous_events.flag_changed.send(None, data=data)
        except Exception:  # the flag change is committed and stays
            log.exception("flags: flag.changed not delivered", extra={"flag": data["flag"]["key"]})
            with contextlib.suppress(Exception):
                db.session.rollback()


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        db.session.info.pop("nous.flags.events", None)
        raise FlagConflict("The flag was changed at the same time by someone else; reload and try again.") from None
    _announce()


def _apply(flag: Flag, state: dict[str, Any]) -> None:
    for name in EDITABLE:
        setattr(flag, name, state[name])


def create_flag(data: Mapping[str, Any], *, actor: str, ip: str = "") -> Flag:
    """A new flag from {key, description, type, enabled, strategies, variants, dependencies, enable_at,
    disable_at}; missing fields get defaults (release, off, no strategies: on for everyone once enabled)."""
    if not isinstance(data, Mapping):
        raise FlagError("Expected an object with the flag's fields.", {"body": "expected an object"})
    key = check_key(data.get("key"))
    state: dict[str, Any] = {"key": key, "description": data.get("description", ""),
                             "type": data.get("type") or "release", "enabled": data.get("enabled", False),
                             "strategies": data.get("strategies"), "variants": data.get("variants"),
                             "dependencies": data.get("dependencies"), "enable_at": data.get("enable_at"),
                             "disable_at": data.get("disable_at")}
    unknown = sorted(set(data) - {"key", *EDITABLE})
    errors = {k: "unknown field" for k in unknown}
    _normalize(state, errors)
    if not errors:
        segment_ids, flags = _context_for_validation()
        _validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"The flag {key} is not valid.", errors, status=422)
    if db.session.scalar(select(Flag.id).where(Flag.key == key)) is not None:
        raise FlagError(f"A flag named {key} already exists.", {"key": "already exists"}, status=409)
    flag = Flag(key=key, archived=False, created_at=_now())
    _apply(flag, state)
    db.session.add(flag)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagError(f"A flag named {key} already exists.", {"key": "already exists"}, status=409) from None
    _record(flag, "create", None, actor, ip)
    _commit()
    return flag


def update_flag(key: str, changes: Mapping[str, Any], *, actor: str, ip: str = "", action: str = "update",
                expected_version: int | None = None, note: str = "") -> Flag:
    """Change some of the editable fields; validated as a whole, stored as a new version (none when
    nothing changed). `expected_version` refuses the change when someone else changed the flag since."""
    if not isinstance(changes, Mapping):
        raise FlagError("Expected an object with the fields to change.", {"body": "expected an object"})
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise FlagError("Some fields cannot be changed.", {k: "unknown field" for k in unknown}, status=422)
    flag = get_flag(key, for_update=True)
    _check_seen(flag, expected_version)
    before = flag.state()
    state = {"key": flag.key, **{k: getattr(flag, k) for k in EDITABLE}, **dict(changes)}
    errors: dict[str, str] = {}
    _normalize(state, errors)
    if not errors:
        segment_ids, flags = _context_for_validation(exclude=flag.key)
        _validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"The flag {key} is not valid.", errors, status=422)
    _apply(flag, state)
    if flag.state() == before:
        db.session.rollback()
        return get_flag(key)
    _record(flag, action, before, actor, ip, note)
    _commit()
    return flag


def set_enabled(key: str, on: bool, *, actor: str, ip: str = "", expected_version: int | None = None) -> Flag:
    """Switch the flag on or off: the state asked for, never the opposite of the stored one. Asking for
    the state it already has changes nothing and succeeds, whatever version the caller saw; asking for
    the other one on a view of an older version is refused (409), since the caller decided on old facts."""
    flag = get_flag(key)
    if bool(flag.enabled) == bool(on) and not flag.archived:
        return flag
    return update_flag(key, {"enabled": bool(on)}, actor=actor, ip=ip, action="enable" if on else "disable",
                       expected_version=expected_version)


def _percentage(raw: Any) -> int:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FlagError("The rollout must be a number from 0 to 100.", {"rollout": "a number from 0 to 100"}) from None
    if not 0 <= value <= 100 or not value.is_integer():
        raise FlagError("The rollout must be a whole number from 0 to 100.",
                        {"rollout": "a whole number from 0 to 100"})
    return int(value)


def set_rollout(key: str, percentage: Any, *, actor: str, ip: str = "") -> Flag:
    """Set the percentage of the flag's first flexibleRollout strategy. A flag without one gets one
    (replacing a lone `default` strategy, which would otherwise let everyone in)."""
    pct = _percentage(percentage)
    flag = get_flag(key)
    strategies = json.loads(json.dumps(flag.strategies or []))
    for s in strategies:
        if isinstance(s, dict) and s.get("name") == "flexibleRollout":
            s.setdefault("parameters", {})["rollout"] = str(pct)
            break
    else:
        new = {"name": "flexibleRollout", "constraints": [],
               "parameters": {"rollout": str(pct), "stickiness": SIMPLE_STICKINESS, "groupId": flag.key}}
        if len(strategies) == 1 and isinstance(strategies[0], dict) and strategies[0].get("name") == "default" \
                and not strategies[0].get("constraints") and not strategies[0].get("segments"):
            strategies = [new]
        else:
            strategies.append(new)
    return update_flag(key, {"strategies": strategies}, actor=actor, ip=ip, action="rollout")


def archive_flag(key: str, *, actor: str, ip: str = "") -> Flag:
    """Archived flags are off everywhere and hidden from clients; their history stays."""
    flag = get_flag(key, for_update=True)
    if flag.archived:
        return flag
    children = sorted(k for k, deps in db.session.execute(select(Flag.key, Flag.dependencies)
                                                          .where(Flag.archived.is_(False)))
                      if any(isinstance(d, Mapping) and d.get("feature") == key for d in deps or []))
    if children:
        raise FlagError(f"{key} cannot be archived: {', '.join(children)} depend(s) on it.",
                        {"key": "other flags depend on it"}, status=409)
    before = flag.state()
    flag.archived, flag.enable_at, flag.disable_at = True, None, None
    _record(flag, "archive", before, actor, ip, audit_action="flags.archive")
    _commit()
    return flag


def unarchive_flag(key: str, *, actor: str, ip: str = "") -> Flag:
    """Back from the archive, switched off (it may be long out of date)."""
    flag = get_flag(key, for_update=True)
    if not flag.archived:
        return flag
    before = flag.state()
    state = {**before, "archived": False, "enabled": False}
    errors: dict[str, str] = {}
    segment_ids, flags = _context_for_validation(exclude=key)
    _normalize(state, errors)
    _validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"{key} cannot come back as it is (fix it by restoring an earlier version).", errors,
                        status=422)
    flag.archived, flag.enabled = False, False
    _record(flag, "unarchive", before, actor, ip, audit_action="flags.unarchive")
    _commit()
    return flag


def restore_version(key: str, version: int, *, actor: str, ip: str = "", expected_version: int | None = None) -> Flag:
    """Make the flag what it was after `version` (definition, schedule and archive state): itself a
    new version, so history only grows. Refused when that old definition is no longer valid here
    (a parent or segment it needs is gone)."""
    old = get_version(key, version)
    snapshot = dict(old.after or {})
    flag = get_flag(key, for_update=True)
    _check_seen(flag, expected_version)
    before = flag.state()
    state = {"key": flag.key, **{k: snapshot.get(k, before[k]) for k in EDITABLE}}
    archived = bool(snapshot.get("archived"))
    errors: dict[str, str] = {}
    _normalize(state, errors)
    if not errors and not archived:
        segment_ids, flags = _context_for_validation(exclude=key)
        _validate(state, segment_ids, flags, errors)
    if errors:
        db.session.rollback()
        raise FlagError(f"Version {version} of {key} cannot be restored as it is.", errors, status=422)
    _apply(flag, state)
    flag.archived = archived
    if archived:
        flag.enable_at = flag.disable_at = None
    if flag.state() == before:
        db.session.rollback()
        return get_flag(key)
    _record(flag, "restore", before, actor, ip, note=f"restored version {version}", audit_action="flags.restore")
    _commit()
    return flag


# --------------------------------------------------------------------------- the simple form


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
            model.rollout = _percentage(params.get("rollout"))
        except FlagError:
            return None
        for c in s.get("constraints") or []:
            if not isinstance(c, Mapping) or set(c) - {"contextName", "operator", "values", "value", "inverted",
                                                       "caseInsensitive"}:
                return None
            model.conditions.append(dict(c))
    return model


MULTI_VALUE = frozenset({"IN", "NOT_IN", "STR_CONTAINS", "STR_STARTS_WITH", "STR_ENDS_WITH", "IN_CIDR"})


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
    pct = _percentage(rollout)
    ids = [u.strip() for u in user_ids if u and u.strip()]
    out: list[dict[str, Any]] = []
    if ids:
        out.append({"name": "userWithId", "parameters": {"userIds": ",".join(dict.fromkeys(ids))},
                    "constraints": []})
    out.append({"name": "flexibleRollout", "constraints": [dict(c) for c in conditions],
                "parameters": {"rollout": str(pct), "stickiness": SIMPLE_STICKINESS, "groupId": key}})
    return out


# --------------------------------------------------------------------------- schedule


def apply_schedules(now: datetime | None = None) -> list[str]:
    """Carry out every enable-at / disable-at that is due; returns the keys that changed.

    Each due time is cleared once applied; when both are due the later one decides. Archived flags
    have no schedule. Called by the recurring job `flags.apply_schedules` (every minute)."""
    now = now or _now()
    due = list(db.session.scalars(select(Flag.key).where(
        Flag.archived.is_(False), (Flag.enable_at <= now) | (Flag.disable_at <= now)).order_by(Flag.key)))
    changed = []
    for key in due:
        flag = get_flag(key, for_update=True)
        before = flag.state()
        steps = sorted((t, on) for t, on in ((aware(flag.enable_at), True), (aware(flag.disable_at), False))
                       if t is not None and t <= now)
        if not steps:
            continue
        for _when, on in steps:
            flag.enabled = on
            if on:
                flag.enable_at = None
            else:
                flag.disable_at = None
        notes = ", ".join(f"{'enable' if on else 'disable'} at {when.isoformat()}" for when, on in steps)
        _record(flag, "schedule", before, SCHEDULE_ACTOR, "", note=notes)
        db.session.commit()
        changed.append(key)
    if changed:
        _announce()
    return changed


# --------------------------------------------------------------------------- import / export

EXPORT_VERSION = 2


def export_document(include_archived: bool = False) -> dict[str, Any]:
    """Every flag and segment in Unleash's client-API format: {"version", "features", "segments"}."""
    from nous.flags.cache import client_feature

    stmt = select(Flag).order_by(Flag.key)
    if not include_archived:
        stmt = stmt.where(Flag.archived.is_(False))
    days = _stale_days()
    now = _now()
    features = []
    for f in db.session.scalars(stmt):
        row = client_feature({"key": f.key, "type": f.type, "description": f.description, "enabled": f.enabled,
                              "strategies": [s for s in f.strategies or []], "variants": f.variants,
                              "dependencies": f.dependencies},
                             is_stale(f.type, aware(f.updated_at), days, now))
        # keep disabled strategies in an export (client_feature leaves them out for SDKs)
        row["strategies"] = list(f.strategies or [])
        if f.archived:
            row["archived"] = True
        if f.enable_at:
            row["enableAt"] = aware(f.enable_at).isoformat()  # type: ignore[union-attr]
        if f.disable_at:
            row["disableAt"] = aware(f.disable_at).isoformat()  # type: ignore[union-attr]
        features.append(row)
    segments = [s.as_dict() for s in db.session.scalars(select(Segment).order_by(Segment.id))]
    return {"version": EXPORT_VERSION, "features": features, "segments": segments}


def parse_document(text: str | bytes) -> dict[str, Any]:
    """The JSON document of an import; FlagError when it cannot be read."""
    try:
        doc = inputs.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise FlagError(f"Nothing imported: the file is not valid JSON ({exc}).",
                        {"document": "not valid JSON"}) from None
    if not isinstance(doc, dict):
        raise FlagError("Nothing imported: expected an object {\"version\", \"features\", \"segments\"}.",
                        {"document": "expected an object"})
    return doc


@dataclass
class ImportReport:
    mode: str
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    segments: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "archived": self.archived, "segments": self.segments}


_FEATURE_FIELDS = {"name", "description", "type", "enabled", "strategies", "variants", "dependencies", "stale",
                   "impressionData", "project", "archived", "enableAt", "disableAt", "createdAt", "lastSeenAt",
                   "tags", "favorite"}


def _import_segments(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors["segments"] = "must be a list"
        return []
    out, ids, names = [], set(), set()
    for i, s in enumerate(raw):
        p = f"segments[{i}]"
        if not isinstance(s, Mapping):
            errors[p] = "must be an object"
            continue
        sid = s.get("id")
        if isinstance(sid, bool) or not isinstance(sid, int) or sid < 1:
            errors[f"{p}.id"] = "required whole number ≥ 1"
            continue
        if sid in ids:
            errors[f"{p}.id"] = f"segment {sid} appears twice"
        ids.add(sid)
        name = s.get("name") or f"segment-{sid}"
        if not isinstance(name, str) or len(name) > 200:
            errors[f"{p}.name"] = "text of at most 200 characters"
            continue
        if name in names:
            errors[f"{p}.name"] = f'"{name}" appears twice'
        names.add(name)
        cons = s.get("constraints") or []
        problems = validate_feature({"name": "x", "enabled": True, "strategies": [{"name": "default",
                                                                                     "constraints": cons}]})
        _split_problems((pr.replace("strategies[0].constraints", "constraints") for pr in problems), errors,
                        prefix=f"{p}.")
        out.append({"id": sid, "name": name, "description": str(s.get("description") or ""), "constraints": cons})
    return out


def import_document(doc: Mapping[str, Any], *, mode: str = "merge", actor: str, ip: str = "") -> ImportReport:
    """Apply an export: `merge` creates and updates the flags in it and leaves the others; `replace`
    also archives the flags that are not in it (and removes segments not in it). Everything is checked
    first: any invalid part refuses the whole document, with messages naming the feature and field."""
    if mode not in ("merge", "replace"):
        raise FlagError("The import mode is merge or replace.", {"mode": "merge or replace"})
    if not isinstance(doc, Mapping):
        raise FlagError("Nothing imported: expected an object.", {"document": "expected an object"})
    errors: dict[str, str] = {}
    if doc.get("version", EXPORT_VERSION) not in (1, 2):
        errors["version"] = "this server reads versions 1 and 2 of the format"
    features = doc.get("features")
    if not isinstance(features, list):
        errors["features"] = "required list of flags"
        features = []
    segments = _import_segments(doc.get("segments"), errors)
    existing = {f.key: f for f in db.session.scalars(select(Flag))}
    current_segments = {s.id: s for s in db.session.scalars(select(Segment))}
    segment_ids = {s["id"] for s in segments} | (set() if mode == "replace" else set(current_segments))
    states: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, raw in enumerate(features):
        label = f"features[{i}]"
        if not isinstance(raw, Mapping):
            errors[label] = "must be an object"
            continue
        try:
            key = check_key(raw.get("name"))
        except FlagError as exc:
            errors[f"{label}.name"] = exc.errors.get("key", exc.message)
            continue
        label = f'features[{i}] "{key}"'
        if key in seen:
            errors[f"{label}.name"] = "appears twice"
        seen.add(key)
        unknown = sorted(set(raw) - _FEATURE_FIELDS)
        for k in unknown:
            errors[f"{label}.{k}"] = "unknown field"
        state = {"key": key, "description": raw.get("description", ""), "type": raw.get("type") or "release",
                 "enabled": raw.get("enabled"), "strategies": raw.get("strategies"), "variants": raw.get("variants"),
                 "dependencies": raw.get("dependencies"), "enable_at": raw.get("enableAt"),
                 "disable_at": raw.get("disableAt"), "archived": raw.get("archived", False) is True,
                 "label": label}
        own: dict[str, str] = {}
        _normalize(state, own)
        for k, v in own.items():
            errors[f"{label}.{k}"] = v
        if not own:
            states.append(state)
    # the flags after the import (for parent checks): imported ones, plus the kept ones when merging
    after = {s["key"]: s["dependencies"] for s in states if not s["archived"]}
    if mode == "merge":
        for key, f in existing.items():
            if key not in after and key not in seen and not f.archived:
                after[key] = f.dependencies or []
    for state in states:
        if state["archived"]:
            continue
        own = {}
        _validate(state, segment_ids, {k: v for k, v in after.items() if k != state["key"]}, own)
        for k, v in own.items():
            errors[f'{state["label"]}.{k}'] = v
    if errors:
        first = next(iter(errors))
        raise FlagError(f"Nothing imported: {len(errors)} problem(s), the first in {first}.", errors, status=422)

    report = ImportReport(mode)
    for s in segments:
        row = current_segments.get(s["id"])
        if row is None:
            db.session.add(Segment(id=s["id"], name=s["name"], description=s["description"],
                                   constraints=s["constraints"], created_at=_now(), updated_at=_now()))
        elif (row.name, row.description, row.constraints) != (s["name"], s["description"], s["constraints"]):
            row.name, row.description, row.constraints, row.updated_at = (s["name"], s["description"],
                                                                          s["constraints"], _now())
        report.segments += 1
    if mode == "replace":
        keep = {s["id"] for s in segments}
        for sid, row in current_segments.items():
            if sid not in keep:
                db.session.delete(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagError("Nothing imported: a segment name in the file is already used by another segment.",
                        {"segments": "name already used"}, status=409) from None
    for state in states:
        flag = existing.get(state["key"])
        archived = state.pop("archived")
        state.pop("label")
        if flag is None:
            flag = Flag(key=state["key"], created_at=_now())
            _apply(flag, state)
            flag.archived = archived
            db.session.add(flag)
            db.session.flush()
            _record(flag, "import", None, actor, ip, note=f"import ({mode})")
            report.created.append(flag.key)
            continue
        before = flag.state()
        _apply(flag, state)
        flag.archived = archived
        if flag.state() == before:
            report.unchanged.append(flag.key)
            continue
        _record(flag, "import", before, actor, ip, note=f"import ({mode})")
        report.updated.append(flag.key)
    if mode == "replace":
        for key, flag in existing.items():
            if key not in seen and not flag.archived:
                before = flag.state()
                flag.archived, flag.enable_at, flag.disable_at = True, None, None
                _record(flag, "archive", before, actor, ip, note="not in the imported document (replace)",
                        audit_action="flags.archive")
                report.archived.append(key)
    audit.record(actor, "flags.import", "", None, report.as_dict(), ip=ip, commit=False)
    _commit()
    return report


# --------------------------------------------------------------------------- segments


def list_segments() -> list[Segment]:
    return list(db.session.scalars(select(Segment).order_by(Segment.name)))


def _segment_users(segment_id: int) -> list[str]:
    users = []
    for key, strategies in db.session.execute(select(Flag.key, Flag.strategies).where(Flag.archived.is_(False))):
        for s in strategies or []:
            if isinstance(s, Mapping) and any(str(x) == str(segment_id) for x in s.get("segments") or []):
                users.append(key)
                break
    return users


def save_segment(segment_id: int | None, name: Any, constraints: Any, *, description: Any = "", actor: str,
                 ip: str = "") -> Segment:
    """Create (id None) or change a segment; its constraints are checked like a strategy's."""
    errors: dict[str, str] = {}
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        errors["name"] = "required, at most 200 characters"
    if not isinstance(description, str) or len(description) > DESCRIPTION_MAX:
        errors["description"] = f"text of at most {DESCRIPTION_MAX} characters"
    if not isinstance(constraints, list):
        errors["constraints"] = "must be a list"
    else:
        problems = validate_feature({"name": "x", "enabled": True,
                                     "strategies": [{"name": "default", "constraints": constraints}]})
        _split_problems((p.replace("strategies[0].constraints", "constraints") for p in problems), errors)
    if errors:
        raise FlagError("The segment is not valid.", errors, status=422)
    name = name.strip()
    taken = db.session.scalar(select(Segment.id).where(Segment.name == name))
    if taken is not None and taken != segment_id:
        raise FlagError(f"A segment named {name} already exists.", {"name": "already used"}, status=409)
    if segment_id is None:
        row = Segment(id=(db.session.scalar(select(func.max(Segment.id))) or 0) + 1, name=name,
                      description=description, constraints=constraints, created_at=_now(), updated_at=_now())
        db.session.add(row)
        before = None
    else:
        row = db.session.get(Segment, segment_id)
        if row is None:
            raise FlagError(f"no segment {segment_id}", status=404)
        before = row.as_dict()
        row.name, row.description, row.constraints, row.updated_at = name, description, constraints, _now()
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagConflict("Another segment was saved at the same time; try again.") from None
    audit.record(actor, "flags.segment", name, before, row.as_dict(), ip=ip, commit=False)
    _commit()
    return row


def delete_segment(segment_id: int, *, actor: str, ip: str = "") -> None:
    row = db.session.get(Segment, segment_id)
    if row is None:
        raise FlagError(f"no segment {segment_id}", status=404)
    users = _segment_users(segment_id)
    if users:
        raise FlagError(f"Segment {row.name} is used by {', '.join(users)}; remove it there first.",
                        {"segment": "in use"}, status=409)
    audit.record(actor, "flags.segment.delete", row.name, row.as_dict(), None, ip=ip, commit=False)
    db.session.delete(row)
    _commit()


# --------------------------------------------------------------------------- client tokens

TOKEN_PREFIX = "nous_"  # noqa: S105 - the visible start of every client token


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(name: Any, *, actor: str, ip: str = "") -> tuple[ClientToken, str]:
    """A new client token; returns the row and the token itself, which is shown this once."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > TOKEN_NAME_MAX:
        raise FlagError("The token needs a name.", {"name": f"1 to {TOKEN_NAME_MAX} characters"})
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ClientToken(name=name.strip(), token_hash=token_hash(raw), prefix=raw[:12], created_at=_now(),
                      created_by=actor[:320])
    db.session.add(row)
    db.session.flush()
    audit.record(actor, "flags.token.create", row.name, None, row.as_dict(), ip=ip, commit=False)
    _commit()
    return row, raw


def list_tokens() -> list[dict[str, Any]]:
    try:
        seen = {int(k): int(v) for k, v in get_redis().hgetall(TOKEN_SEEN_KEY).items()}
    except (redis.RedisError, OSError, ValueError):
        seen = {}
    out = []
    for t in db.session.scalars(select(ClientToken).order_by(ClientToken.revoked_at.is_not(None),
                                                             ClientToken.id.desc())):
        d = t.as_dict()
        d["last_used_at"] = datetime.fromtimestamp(seen[t.id], UTC).isoformat() if t.id in seen else None
        out.append(d)
    return out


def revoke_token(token_id: int, *, actor: str, ip: str = "") -> ClientToken:
    row = db.session.get(ClientToken, token_id)
    if row is None:
        raise FlagError(f"no token {token_id}", {"token": "not found"}, status=404)
    if row.revoked_at is None:
        row.revoked_at = _now()
        audit.record(actor, "flags.token.revoke", row.name, None, row.as_dict(), ip=ip, commit=False)
        _commit()
    return row


# --------------------------------------------------------------------------- preview


def tester_overrides(user: Any) -> dict[str, bool]:
    """The per-tester overrides of a tester id or email ({} for anything else)."""
    if not isinstance(user, str) or not user.strip():
        return {}
    from nous.testers import service as testers

    try:
        return testers.flag_overrides(user.strip())
    except Exception:  # noqa: BLE001 - a preview never fails because of the testers area
        return {}


OVERRIDE_VALUES = ("on", "off", "clear")


def tester_override_rows(chosen: Mapping[str, bool]) -> list[dict[str, Any]]:
    """A tester's overrides (its `flag_set`) for the console, by flag key: forced on/off, and for each
    flag that still exists who gets it otherwise (a flag deleted or archived since keeps its override
    until cleared)."""
    known = {f.key: f for f in db.session.scalars(select(Flag).where(Flag.key.in_(list(chosen))))} if chosen else {}
    return [{"key": key, "on": on, "flag": known.get(key),
             "others": rollout_summary(known[key]) if key in known and not known[key].archived else None}
            for key, on in sorted(chosen.items()) if isinstance(on, bool)]


def set_tester_override(user_id: Any, key: Any, value: Any, *, actor: str, ip: str = "") -> None:
    """Force a flag "on" or "off" for one tester, or "clear" the override; audited, and every process
    applies it within a second. Only an active flag can be forced; any override can be cleared.
    Raises FlagError: 422 for bad input, 404 for an unknown tester."""
    from nous.testers import service as testers

    errors: dict[str, str] = {}
    key = key.strip() if isinstance(key, str) else ""
    if value not in OVERRIDE_VALUES:
        errors["value"] = "choose on, off or clear"
    if not key:
        errors["flag"] = "choose a flag"
    elif value in ("on", "off"):
        flag = db.session.scalar(select(Flag).where(Flag.key == key))
        if flag is None or flag.archived:
            errors["flag"] = f"there is no active flag named {key}"
    if errors:
        raise FlagError("The override was not changed.", errors, status=422)
    try:
        testers.set_flag_override(user_id, key, None if value == "clear" else value == "on", actor=actor, ip=ip)
    except testers.TesterError as exc:  # an unknown tester (404), a key no flag can have (422)
        status = 404 if exc.status == 404 else 422
        raise FlagError("The override was not changed.", {exc.field or "tester": exc.message}, status=status) from None


def overriding_testers(key: str) -> list[dict[str, Any]]:
    """The testers whose overrides force this flag, for the flag's page: [{id, email, on}] by email."""
    from nous.testers.models import BetaUser

    rows = db.session.execute(select(BetaUser.id, BetaUser.email, BetaUser.flag_set).order_by(BetaUser.email))
    return [{"id": uid, "email": email, "on": flag_set[key]} for uid, email, flag_set in rows
            if isinstance(flag_set, dict) and isinstance(flag_set.get(key), bool)]


def preview(key: str, context: Mapping[str, Any]) -> dict[str, Any]:
    """Would this context get the flag, and why: the engine's explanation over the stored flags
    (read fresh from the database) and the tester's overrides."""
    flag = get_flag(key)
    features = [f.feature() for f in db.session.scalars(select(Flag).where(Flag.archived.is_(False)))]
    segments = [s.as_dict() for s in db.session.scalars(select(Segment))]
    engine = Engine(features, segments)
    overrides = tester_overrides(context.get("userId"))
    if flag.archived:
        return {"key": key, "found": False, "enabled": False, "reason": "the flag is archived", "strategies": [],
                "dependencies": [], "override": None, "variant": {"name": "disabled", "enabled": False}}
    return engine.explain(key, context, overrides or None)


# --------------------------------------------------------------------------- client SDKs

CLIENTS_KEY = "nous:flags:clients"
CLIENTS_KEPT = 7 * 86400


def record_client(info: Mapping[str, Any], token_name: str) -> None:
    """Remember an SDK that registered (shown on the tokens page); safe to lose."""
    entry = {k: info.get(k) for k in ("appName", "instanceId", "sdkVersion", "environment", "interval", "started")}
    entry["strategies"] = list(info.get("strategies") or [])[:50]
    entry["token"] = token_name
    entry["seen"] = _now().isoformat()
    try:
        conn = get_redis()
        field = f"{entry['appName']}|{entry.get('instanceId') or ''}"[:300]
        pipe = conn.pipeline(transaction=False)
        pipe.hset(CLIENTS_KEY, field, json.dumps(entry, default=str)[:4000])
        pipe.expire(CLIENTS_KEY, CLIENTS_KEPT)
        pipe.execute()
    except (redis.RedisError, OSError):
        current_app.logger.warning("flags: could not record a client registration (Redis unreachable)")


def clients() -> list[dict[str, Any]]:
    try:
        raw = get_redis().hgetall(CLIENTS_KEY)
    except (redis.RedisError, OSError):
        return []
    out = []
    for value in raw.values():
        try:
            out.append(json.loads(value))
        except ValueError:
            continue
    return sorted(out, key=lambda c: c.get("seen") or "", reverse=True)


def record_metrics(toggles: Mapping[str, Mapping[str, int]], known: frozenset[str]) -> int:
    """Add an SDK's counts {flag: {yes, no}} to the evaluation counts (flags this server knows only)."""
    n = 0
    for key, c in toggles.items():
        if key in known:
            EVALS.add(key, int(c.get("yes", 0)), int(c.get("no", 0)))
            n += 1
    return n
