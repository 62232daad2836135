"""Changing flags: create, update (validated as a whole), switch, roll out, archive, unarchive and
restore an old version. Each change is one new version (nous.flags.service.versions); a caller that
names the version it saw (`expected_version`) is refused when someone else changed the flag since."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from nous.extensions import db
from nous.flags.models import Flag, FlagIn
from nous.flags.service.environments import check_environment
from nous.flags.service.errors import FlagError
from nous.flags.service.simple import SIMPLE_STICKINESS
from nous.flags.service.validation import (
    EDITABLE,
    check_key,
    normalize,
    rollout_percentage,
    stored_context,
    validate,
)
from nous.flags.service.versions import (
    apply,
    check_seen,
    commit,
    diff,
    get_flag,
    get_version,
    new_flag,
    record,
)


def create_flag(data: Mapping[str, Any], *, actor: str, ip: str = "", environment: str | None = None) -> FlagIn:
    """A new flag from {key, description, type, enabled, strategies, variants, dependencies, enable_at,
    disable_at}; missing fields get defaults (release, off, no strategies: on for everyone once enabled).
    The switch, strategies and schedule are `environment`'s; every other environment gets the same
    strategies switched off (versions.new_flag)."""
    environment = check_environment(environment, writing=True)
    if not isinstance(data, Mapping):
        raise FlagError("Expected an object with the flag's fields.", {"body": "expected an object"})
    key = check_key(data.get("key"))
    state: dict[str, Any] = {"key": key, "description": data.get("description", ""),
                             "type": data.get("type") or "release", "enabled": data.get("enabled", False),
                             "impression_data": data.get("impression_data", False),
                             "strategies": data.get("strategies"), "variants": data.get("variants"),
                             "dependencies": data.get("dependencies"), "enable_at": data.get("enable_at"),
                             "disable_at": data.get("disable_at")}
    unknown = sorted(set(data) - {"key", *EDITABLE})
    errors = {k: "unknown field" for k in unknown}
    normalize(state, errors)
    if not errors:
        segment_ids, flags = stored_context()
        validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"The flag {key} is not valid.", errors, status=422)
    if db.session.scalar(select(Flag.id).where(Flag.key == key)) is not None:
        raise FlagError(f"A flag named {key} already exists.", {"key": "already exists"}, status=409)
    flag = new_flag(key, environment, state["strategies"])
    apply(flag, state)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise FlagError(f"A flag named {key} already exists.", {"key": "already exists"}, status=409) from None
    record(flag, "create", None, actor, ip)
    commit()
    return flag


ARCHIVED_KEEP = ("strategies", "enable_at", "disable_at")  # what an archived flag keeps until unarchived


def update_flag(key: str, changes: Mapping[str, Any], *, actor: str, ip: str = "", action: str = "update",
                expected_version: int | None = None, note: str = "", environment: str | None = None,
                also_seen: tuple[str, ...] = ()) -> FlagIn:
    """Change some of the editable fields (switch, strategies and schedule: `environment`'s); validated
    as a whole, stored as a new version (none when nothing changed). `expected_version` refuses the
    change when someone else changed the flag since, in this environment, in those of `also_seen` (what
    the change was decided on besides) or in what every environment shares. An archived flag can be switched
    off and described, not switched on nor given strategies or a schedule (409)."""
    if not isinstance(changes, Mapping):
        raise FlagError("Expected an object with the fields to change.", {"body": "expected an object"})
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise FlagError("Some fields cannot be changed.", {k: "unknown field" for k in unknown}, status=422)
    flag = get_flag(key, for_update=True, environment=environment)
    check_seen(flag, expected_version, also_seen)
    before = flag.state()
    state = {"key": flag.key, **{k: getattr(flag, k) for k in EDITABLE}, **dict(changes)}
    errors: dict[str, str] = {}
    normalize(state, errors)
    if not errors:
        segment_ids, flags = stored_context(exclude=flag.key)
        validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"The flag {key} is not valid.", errors, status=422)
    apply(flag, state)
    after = flag.state()
    if after == before:
        db.session.rollback()
        return get_flag(key, environment=environment)
    if flag.archived and (after["enabled"] > before["enabled"] or any(after[k] != before[k] for k in ARCHIVED_KEEP)):
        db.session.rollback()  # it would stay off for everyone, and an unarchived flag comes back off
        raise FlagError(f"{key} is archived: unarchive it to switch it on or change its strategies or schedule.",
                        {"key": "archived"}, status=409)
    record(flag, action, before, actor, ip, note)
    commit()
    return flag


def set_enabled(key: str, on: bool, *, actor: str, ip: str = "", expected_version: int | None = None,
                environment: str | None = None) -> FlagIn:
    """Switch the flag on or off: the state asked for, never the opposite of the stored one. Asking for
    the state it already has changes nothing and succeeds, whatever version the caller saw; asking for
    the other one on a view of an older version is refused (409), since the caller decided on old facts."""
    flag = get_flag(key, environment=environment)
    if bool(flag.enabled) == bool(on) and not flag.archived:
        return flag
    return update_flag(key, {"enabled": bool(on)}, actor=actor, ip=ip, action="enable" if on else "disable",
                       expected_version=expected_version, environment=environment)


def set_rollout(key: str, percentage: Any, *, actor: str, ip: str = "", expected_version: int | None = None,
                environment: str | None = None) -> FlagIn:
    """Set the percentage of the flag's first flexibleRollout strategy. A flag without one gets one
    (replacing a lone `default` strategy, which would otherwise let everyone in). `expected_version`
    refuses it (409) when the flag changed since that version."""
    pct = rollout_percentage(percentage)
    flag = get_flag(key, environment=environment)
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
    return update_flag(key, {"strategies": strategies}, actor=actor, ip=ip, action="rollout",
                       expected_version=expected_version, environment=environment)


def archive_flag(key: str, *, actor: str, ip: str = "", expected_version: int | None = None) -> FlagIn:
    """Archived flags are off everywhere and hidden from clients; their history stays. Archiving an
    archived flag changes nothing; otherwise `expected_version` refuses it (409) on a stale view."""
    flag = get_flag(key, for_update=True)
    if flag.archived:
        return flag
    check_seen(flag, expected_version, also_seen=None)  # it acts on every environment: a change in any counts
    children = sorted(k for k, deps in db.session.execute(select(Flag.key, Flag.dependencies)
                                                          .where(Flag.archived.is_(False)))
                      if any(isinstance(d, Mapping) and d.get("feature") == key for d in deps or []))
    if children:
        raise FlagError(f"{key} cannot be archived: {', '.join(children)} depend(s) on it.",
                        {"key": "other flags depend on it"}, status=409)
    before = flag.state()
    flag.archived = True
    for state in flag.states:  # archived flags have no schedule, in any environment
        state.enable_at = state.disable_at = None
    record(flag, "archive", before, actor, ip, audit_action="flags.archive")
    commit()
    return flag


def unarchive_flag(key: str, *, actor: str, ip: str = "", expected_version: int | None = None) -> FlagIn:
    """Back from the archive, switched off (it may be long out of date); `expected_version` as for
    archiving."""
    flag = get_flag(key, for_update=True)
    if not flag.archived:
        return flag
    check_seen(flag, expected_version, also_seen=None)
    before = flag.state()
    state = {**before, "archived": False, "enabled": False}
    errors: dict[str, str] = {}
    segment_ids, flags = stored_context(exclude=key)
    normalize(state, errors)
    validate(state, segment_ids, flags, errors)
    if errors:
        raise FlagError(f"{key} cannot come back as it is (fix it by restoring an earlier version).", errors,
                        status=422)
    flag.archived = False
    for state in flag.states:  # back switched off everywhere
        state.enabled = False
    record(flag, "unarchive", before, actor, ip, audit_action="flags.unarchive")
    commit()
    return flag


def restore_version(key: str, version: int, *, actor: str, ip: str = "", expected_version: int | None = None,
                    environment: str | None = None) -> FlagIn:
    """Make the flag what it was after `version` (definition, schedule and archive state): itself a
    new version, so history only grows. The switch, strategies and schedule go back in `environment`,
    by default the one the version was made in. Refused when that old definition is no longer valid
    here (a parent or segment it needs is gone)."""
    old = get_version(key, version)
    snapshot = dict(old.after or {})
    flag = get_flag(key, for_update=True, environment=environment or old.environment)
    check_seen(flag, expected_version)
    before = flag.state()
    state = {"key": flag.key, **{k: snapshot.get(k, before[k]) for k in EDITABLE}}
    archived = bool(snapshot.get("archived"))
    errors: dict[str, str] = {}
    normalize(state, errors)
    if not errors and not archived:
        segment_ids, flags = stored_context(exclude=key)
        validate(state, segment_ids, flags, errors)
    if errors:
        db.session.rollback()
        raise FlagError(f"Version {version} of {key} cannot be restored as it is.", errors, status=422)
    apply(flag, state)
    flag.archived = archived
    if archived:
        for row in flag.states:
            row.enable_at = row.disable_at = None
    if flag.state() == before:
        db.session.rollback()
        return get_flag(key, environment=flag.environment)
    record(flag, "restore", before, actor, ip, note=f"restored version {version}", audit_action="flags.restore")
    commit()
    return flag


def _other_environment(source: str, target: str) -> None:
    if check_environment(source) == check_environment(target):
        raise FlagError("Choose another environment to copy the rules to.", {"to": "the same environment"},
                        status=422)


def rules_difference(key: str, source: str, target: str) -> list[dict[str, Any]]:
    """What copying `source`'s rules (strategies, with their constraints, segments and variants) to
    `target` would change there, as a diff of `target`'s strategies."""
    _other_environment(source, target)
    here, there = get_flag(key, environment=source), get_flag(key, environment=target)
    return diff({"strategies": list(there.strategies or [])}, {"strategies": list(here.strategies or [])})


def copy_rules(key: str, source: str, target: str, *, actor: str, ip: str = "",
               expected_version: int | None = None) -> FlagIn:
    """Give `target` the rules `source` has (its switch and schedule stay as they are): one new version
    in `target`, noting where the rules came from."""
    _other_environment(source, target)  # the write in target holds the list (get_flag)
    strategies = json.loads(json.dumps(get_flag(key, environment=source).strategies or []))
    return update_flag(key, {"strategies": strategies}, actor=actor, ip=ip, action="copy",
                       expected_version=expected_version, note=f"rules copied from {source}", environment=target,
                       also_seen=(source,))
