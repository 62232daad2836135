"""The stored flags and their versions: every change of a flag is a new version (the state before and
after, and the computed diff) written with its audit entry in the same transaction. After the commit
every process is told through the Redis version key (`bump_version`), live viewers hear of each
change (`flags.announced`) and the workflows listening to `flag.changed` start."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nous import events as nous_events
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.flags.cache import bump_version
from nous.flags.models import ID_MAX, Flag, FlagIn, FlagState, FlagVersion
from nous.flags.service.environments import check_environment, environment_names, recheck_written
from nous.flags.service.errors import FlagConflict, FlagError, FlagNotFound
from nous.flags.service.validation import EDITABLE

log = logging.getLogger("nous.flags")

# changes of one existing flag that start the workflows listening to `flag.changed` (not creations,
# nor imports, which may change hundreds of flags at once)
WORKFLOW_ACTIONS = frozenset({"update", "enable", "disable", "rollout", "restore", "archive", "unarchive", "schedule",
                              "copy"})
ELSEWHERE_MAX = 500  # versions missed by a view that check_seen reads to tell whether they concern it
WORKFLOW_CHANGES_MAX = 50  # diff entries passed to a workflow; `changed` always names every field

# what the console's live view (/ws/live, topic "flags") calls each kind of version
LIVE_ACTIONS = {"update": "updated", "enable": "enabled", "disable": "disabled", "rollout": "rollout",
                "archive": "archived", "unarchive": "updated", "restore": "restored", "import": "updated",
                "schedule": "updated", "copy": "updated"}
LIVE_EVENTS = "nous.flags.events"  # session.info keys: what to announce once the transaction commits
WORKFLOW_EVENTS = "nous.flags.workflow_events"


# --------------------------------------------------------------------------- reading


def get_flag(key: str, *, for_update: bool = False, environment: str | None = None) -> FlagIn:
    """The flag `key`, looked at (and edited) in `environment` (an unknown one is a FlagError)."""
    environment = check_environment(environment, writing=for_update)
    stmt = select(Flag).where(Flag.key == key)
    if for_update:
        stmt = stmt.with_for_update()
    flag = db.session.scalar(stmt) if isinstance(key, str) else None
    if flag is None:
        raise FlagNotFound(str(key))
    return flag.in_(environment)


def list_flags(q: str = "", archived: bool = False, environment: str | None = None) -> list[FlagIn]:
    environment = check_environment(environment)
    stmt = select(Flag).where(Flag.archived.is_(archived)).order_by(Flag.key)
    q = (q or "").strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(func.lower(Flag.key).like(like) | func.lower(Flag.description).like(like))
    return [flag.in_(environment) for flag in db.session.scalars(stmt)]


def history(key: str, limit: int = 100) -> list[FlagVersion]:
    flag = get_flag(key)
    return list(db.session.scalars(select(FlagVersion).where(FlagVersion.flag_id == flag.id)
                                   .order_by(FlagVersion.version.desc()).limit(limit)))


def get_version(key: str, version: int) -> FlagVersion:
    flag = get_flag(key)
    row = db.session.scalar(select(FlagVersion).where(
        FlagVersion.flag_id == flag.id, FlagVersion.version == version)) if 1 <= version <= ID_MAX else None
    if row is None:
        raise FlagError(f"{key} has no version {version}", {"version": "no such version"}, status=404)
    return row


def changes_since(flag: Flag, version: int, limit: int = 20) -> list[FlagVersion]:
    """The versions of `flag` stored after `version`, oldest first (what someone who saw `version` missed)."""
    return list(db.session.scalars(select(FlagVersion).where(FlagVersion.flag_id == flag.id,
                                                             FlagVersion.version > version)
                                   .order_by(FlagVersion.version).limit(limit)))


def check_seen(flag: FlagIn, expected_version: int | None, also_seen: Collection[str] | None = ()) -> None:
    """Refuse (409) a change made on a view of an older version than the stored one, unless every version
    stored since changed only the switch, strategies or schedule of other environments than the view's and
    those in `also_seen` (what the change depends on besides: a copy's source): those are not what the view showed
    nor what the change acts on. `also_seen=None`: a change anywhere refuses it (archiving acts on every
    environment)."""
    if expected_version is None or flag.version == expected_version:
        return
    if also_seen is not None and 1 <= expected_version < flag.version and _only_elsewhere(
            flag, expected_version, {flag.environment, *also_seen}):
        return
    raise FlagConflict(f"{flag.key} changed since you opened it (version {expected_version} → {flag.version}); "
                       "nothing was changed. It is shown as it is now.", current=flag,
                       changes=changes_since(flag, expected_version))


def _only_elsewhere(flag: FlagIn, version: int, environments: set[str]) -> bool:
    """Whether every version of `flag` after `version` was made outside `environments` and changed nothing
    all environments share (its diff names only FlagIn.HERE's fields)."""
    missed = flag.version - version
    if missed > ELSEWHERE_MAX:
        return False
    rows = db.session.execute(select(FlagVersion.environment, FlagVersion.diff).where(
        FlagVersion.flag_id == flag.id, FlagVersion.version > version, FlagVersion.version <= flag.version)).all()
    return len(rows) == missed and all(
        environment not in environments and all(changed_field(c) in FlagIn.HERE for c in changes or ())
        for environment, changes in rows)


def changed_field(change: Mapping[str, Any]) -> str:
    """The flag field a diff entry is in: `strategies` for `strategies[0].parameters.rollout`."""
    return str(change.get("path", "")).split(".")[0].split("[")[0]


def recent_changes(limit: int = 10) -> list[FlagVersion]:
    return list(db.session.scalars(select(FlagVersion).order_by(FlagVersion.id.desc()).limit(limit)))


def new_flag(key: str, environment: str, strategies: list[Any], names: list[str] | None = None) -> FlagIn:
    """A flag to be stored, looked at in `environment`; every other environment gets the same strategies
    switched off, so switching it on there later does what it does here. `names`: the environments, when
    the caller has read them (an import creating many flags reads them once)."""
    row = Flag(key=key, archived=False, created_at=utcnow())
    row.states = [FlagState(environment=name, enabled=False, strategies=strategies)
                  for name in (environment_names() if names is None else names) if name != environment]
    db.session.add(row)
    return row.in_(environment)


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


# --------------------------------------------------------------------------- recording a change


def apply(flag: Flag, state: dict[str, Any]) -> None:
    """Set the editable fields of `flag` from a checked state."""
    for name in EDITABLE:
        setattr(flag, name, state[name])


def record(flag: Flag, action: str, before: dict[str, Any] | None, actor: str, ip: str, note: str = "",
           audit_action: str = "") -> FlagVersion:
    """The flag as it is now becomes its next version (audited); announced once the transaction commits."""
    after = flag.state()
    flag.version = 1 if before is None else (flag.version or 0) + 1
    flag.updated_at = utcnow()
    flag.updated_by = actor[:320]
    version = FlagVersion(flag_id=flag.id, flag_key=flag.key, version=flag.version, environment=flag.environment,
                          action=action[:30],
                          before=before, after=after, diff=diff(before, after) if before is not None else [],
                          note=note[:500], actor=actor[:320], ip=(ip or "")[:64], created_at=flag.updated_at)
    db.session.add(version)
    audit.record(actor, audit_action or ("flags.create" if before is None else "flags.update"),
                 flag.key,
                 before, after, ip=ip, commit=False)
    db.session.info.setdefault(LIVE_EVENTS, []).append({
        "id": flag.id, "key": flag.key,
        "action": LIVE_ACTIONS.get(action, "updated") if before is not None else "created",
        "enabled": flag.enabled, "environment": flag.environment, "actor": actor, "version": flag.version,
        "at": flag.updated_at.isoformat()})
    if before is not None and action in WORKFLOW_ACTIONS:
        db.session.info.setdefault(WORKFLOW_EVENTS, []).append(
            _flag_changed_data(flag, action, actor, note, version.diff))
    return version


def _flag_changed_data(flag: Flag, action: str, actor: str, note: str, changes: list[dict[str, Any]]) -> dict[str, Any]:
    """The data of a `flag.changed` event: the flag, what was done, by whom, and what changed."""
    fields = sorted({changed_field(c) for c in changes})
    return {"flag": {"key": flag.key, "enabled": bool(flag.enabled), "type": flag.type,
                     "archived": bool(flag.archived), "version": flag.version, "environment": flag.environment},
            "action": action, "actor": actor, "note": note, "changed": fields,
            "changes": json.loads(json.dumps(changes[:WORKFLOW_CHANGES_MAX], default=str))}


@event.listens_for(Session, "after_rollback")
def _forget_events(session: Session) -> None:
    session.info.pop(LIVE_EVENTS, None)  # changes rolled back are not announced
    session.info.pop(WORKFLOW_EVENTS, None)


def announce() -> None:
    """After a commit: every process reloads within a second; live viewers hear of each change; the
    workflows listening to `flag.changed` start."""
    bump_version()
    for live_event in db.session.info.pop(LIVE_EVENTS, [])[:50]:
        nous_events.flags_announced.send(None, event=live_event)
    _tell_workflows(db.session.info.pop(WORKFLOW_EVENTS, []))


def _tell_workflows(changes: list[dict[str, Any]]) -> None:
    """`flag.changed` for each change, after the commit. Whatever a listener does, the change stands:
    the workflows' trigger_event never raises by its contract, and this makes sure of it."""
    for data in changes[:50]:
        try:
            nous_events.flag_changed.send(None, data=data)
        except Exception:  # the flag change is committed and stays
            log.exception("flags: flag.changed not delivered", extra={"flag": data["flag"]["key"]})
            with contextlib.suppress(Exception):
                db.session.rollback()


def commit() -> None:
    """Commit the change and announce it; a concurrent change of the same rows is a FlagConflict, an
    environment renamed or removed meanwhile a FlagError (environments.recheck_written)."""
    try:
        db.session.flush()
        recheck_written()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        db.session.info.pop(LIVE_EVENTS, None)
        raise FlagConflict("The flag was changed at the same time by someone else; reload and try again.") from None
    announce()
