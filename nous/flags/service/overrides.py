"""Per-tester overrides: force a flag on or off for one tester, whatever its strategies say (also when
the flag is switched off). They are part of every process's flags snapshot (nous.flags.cache), so a
change applies everywhere within a second. Stored in the tester's row (`models.tester_flags`); audited
as `testers.flag_override`, and the tester's live views follow."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row, func, select, update

from nous import events
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.flags.cache import bump_version
from nous.flags.models import Flag, forced, tester_flags
from nous.flags.service.environments import default_environment
from nous.flags.service.errors import FlagError
from nous.flags.service.overview import rollout_summary
from nous.flags.service.validation import KEY_MAX
from nous.inputs import as_uuid

OVERRIDE_VALUES = ("on", "off", "clear")
NOT_CHANGED = "The override was not changed."
_T = tester_flags.c
_TESTER = select(_T.id, _T.email, _T.flag_set)


def get_tester(user_id: Any) -> Row[Any] | None:
    """(id, email, flag_set) of the tester with this id, or None."""
    uid = as_uuid(user_id)
    return db.session.execute(_TESTER.where(_T.id == uid)).first() if uid else None


def find_tester(ref: str) -> Row[Any] | None:
    """The same for a tester id or email address (any case)."""
    return get_tester(ref) or db.session.execute(_TESTER.where(func.lower(_T.email) == ref.strip().lower())).first()


def flag_overrides(user_id_or_email: Any) -> dict[str, bool]:
    """The tester's per-flag overrides {flag_key: on/off}; {} for an unknown tester."""
    uid = as_uuid(user_id_or_email)
    if uid is not None:
        flag_set = db.session.scalar(select(_T.flag_set).where(_T.id == uid))
    elif isinstance(user_id_or_email, str) and "@" in user_id_or_email:
        flag_set = db.session.scalar(select(_T.flag_set)
                                     .where(func.lower(_T.email) == user_id_or_email.strip().lower()))
    else:
        return {}
    return forced(flag_set)


def tester_overrides(user: Any) -> dict[str, bool]:
    """The per-tester overrides of a context's userId, a tester id or email ({} for anything else)."""
    if not isinstance(user, str) or not user.strip():
        return {}
    return flag_overrides(user.strip())


def tester_override_rows(chosen: Mapping[str, bool]) -> list[dict[str, Any]]:
    """A tester's overrides (its `flag_set`) for the console, by flag key: forced on/off, and for each
    flag that still exists who gets it otherwise (a flag deleted or archived since keeps its override
    until cleared)."""
    known: dict[str, Any] = {}
    if chosen:
        here = default_environment()
        known = {f.key: f.in_(here) for f in db.session.scalars(select(Flag).where(Flag.key.in_(list(chosen))))}
    return [{"key": key, "on": on, "flag": known.get(key),
             "others": rollout_summary(known[key]) if key in known and not known[key].archived else None}
            for key, on in sorted(chosen.items()) if isinstance(on, bool)]


def overriding_testers(key: str) -> list[dict[str, Any]]:
    """The testers whose overrides force this flag, for the flag's page: [{id, email, on}] by email."""
    rows = db.session.execute(_TESTER.order_by(_T.email))
    return [{"id": uid, "email": email, "on": flag_set[key]} for uid, email, flag_set in rows
            if isinstance(flag_set, dict) and isinstance(flag_set.get(key), bool)]


def set_tester_override(user_id: Any, key: Any, value: Any, *, actor: str, ip: str = "") -> None:
    """Force a flag "on" or "off" for one tester, or "clear" the override; audited, and every process
    applies it within a second. Only an active flag can be forced; any override can be cleared.
    Raises FlagError: 422 for bad input, 404 for an unknown tester."""
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
        raise FlagError(NOT_CHANGED, errors, status=422)
    set_flag_override(user_id, key, None if value == "clear" else value == "on", actor=actor, ip=ip)


def set_flag_override(user_id: Any, flag_key: str, value: bool | None, *, actor: str, ip: str = "") -> dict[str, Any]:
    """Force a flag on/off for one tester, or clear the override with `value=None`; the tester's
    overrides after it. FlagError 404 for an unknown tester, 422 for a key no flag can have."""
    tester = get_tester(user_id)
    if tester is None:
        raise FlagError(NOT_CHANGED, {"tester": "no such tester"}, status=404)
    key = str(flag_key).strip()
    if not key or len(key) > KEY_MAX:
        raise FlagError(NOT_CHANGED, {"flag": f"flag key must be 1 to {KEY_MAX} characters"}, status=422)
    before = dict(tester.flag_set or {})
    after = dict(before)
    if value is None:
        after.pop(key, None)
    else:
        after[key] = bool(value)
    if after != before:
        db.session.execute(update(tester_flags).where(_T.id == tester.id).values(flag_set=after))
        audit.record(actor, "testers.flag_override", tester.email, {key: before.get(key)}, {key: after.get(key)},
                     ip=ip, commit=False)
        db.session.commit()
        overrides_changed()
        # the tester's pages follow (topic testers); the tester's version is the testers area's to compute
        events.tester_changed.send(None, event={"id": str(tester.id), "action": "updated", "version": None,
                                                "at": utcnow().isoformat()})
    return after


def overrides_changed() -> None:
    """After a commit that changed or removed overrides: every process rebuilds its flags snapshot."""
    bump_version()
