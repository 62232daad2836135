"""Environments: the admin-defined, ordered list every flag has a switch, strategies and schedule in
(development, staging and production at first). The list is never empty: a database without one (a
new install's tables emptied) gets the defaults back on first use."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import redis
from sqlalchemy import delete, func, select, text, update

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.flags.cache import bump_version, count_keys
from nous.flags.models import DEFAULT_ENVIRONMENTS, ClientToken, Environment, Flag, FlagState, FlagVersion
from nous.flags.service.clients import APPS_KEPT, APPS_PREFIX, SDK_PREFIX
from nous.flags.service.errors import FlagError
from nous.settings import service as settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Moves one Redis hash into another: counts are added to what is there (ARGV[1] "sum"), other fields are
# kept where the destination has them already, up to ARGV[2] fields ("keep"); the longer expiry stays.
_MERGE = """
local data = redis.call('HGETALL', KEYS[1])
if #data == 0 then return 0 end
for i = 1, #data, 2 do
  if ARGV[1] == 'sum' then redis.call('HINCRBY', KEYS[2], data[i], data[i + 1])
  elseif redis.call('HLEN', KEYS[2]) < tonumber(ARGV[2]) then redis.call('HSETNX', KEYS[2], data[i], data[i + 1]) end
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl > 0 then
  local have = redis.call('PTTL', KEYS[2])
  if have == -1 or have < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
end
redis.call('DEL', KEYS[1])
return #data / 2
"""


def environments() -> list[Environment]:
    """The environments in their order; the defaults (not stored: reading writes nothing) when there are none."""
    rows = list(db.session.scalars(select(Environment).order_by(Environment.position, Environment.id)))
    return rows or [Environment(name=name, position=i) for i, name in enumerate(DEFAULT_ENVIRONMENTS)]


def _stored() -> list[Environment]:
    """The environments as rows to change: the defaults are stored first when there are none."""
    rows = list(db.session.scalars(select(Environment).order_by(Environment.position, Environment.id)))
    if not rows:
        now = utcnow()
        rows = [Environment(name=name, position=i, created_at=now) for i, name in enumerate(DEFAULT_ENVIRONMENTS)]
        db.session.add_all(rows)
        db.session.flush()
    return rows


def environment_names() -> list[str]:
    return [e.name for e in environments()]


def default_environment(*, writing: bool = False) -> str:
    """The environment a page, a command or a call shows and changes when it names none: the one NOUS's own
    code evaluates in (the setting flags.environment, which a rename changes in its own transaction:
    production at first). Should this process's copy of the setting name none of the environments (renamed
    a moment ago elsewhere), the stored setting decides; failing that a page shows the first environment,
    and a write (`writing`) is refused rather than made somewhere the caller did not mean."""
    return _default_among(environment_names(), writing)


def _default_among(names: list[str], writing: bool) -> str:
    chosen = settings.get("flags.environment")
    if chosen not in names:
        try:
            chosen = settings.stored_values().get("flags.environment", chosen)
        except settings.Unavailable:
            pass
    if chosen in names:
        return chosen
    if writing:
        raise FlagError(f"The default environment {chosen!r} (the setting flags.environment) does not exist; "
                        "name the environment to change.", {"environment": "required here"}, status=409)
    return names[0]


def check_setting(value: str) -> None:
    """The setting flags.environment names an environment that exists: NOUS's own flags would all be off
    in any other (registered with the settings in nous.flags.init_app)."""
    names = environment_names()
    if value not in names:
        raise ValueError(f"there is no environment {value!r}; there are {', '.join(names)}")


_LOCK = 0x6E6F75735F656E76  # the PostgreSQL advisory lock of the list of environments ("nous_env")


WRITTEN = "nous.flags.environments_written"  # session.info: the environments this transaction writes in


def hold(exclusive: bool = False) -> None:
    """The list of environments cannot change under this transaction's writes.

    A change of the list (add, rename, move, remove) holds it exclusively until its transaction ends: on
    PostgreSQL an advisory lock, on SQLite the database's write lock taken before the change reads anything
    (BEGIN IMMEDIATE). A write in one environment (a flag's rules or switch, a token, an import) shares it:
    on PostgreSQL the same lock, shared; on SQLite, whose writers take turns, `recheck_written` looks again
    before the commit, once the transaction writes (a rename cannot commit in between)."""
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        conn.execute(text(f"SELECT {lock}(:k)"), {"k": _LOCK})
    elif conn.dialect.name == "sqlite" and exclusive:
        raw = conn.connection.driver_connection
        if not raw.in_transaction:  # in one that has written already, it holds the write lock
            raw.execute("BEGIN IMMEDIATE")


def writing_in(names: Any) -> None:
    """This transaction writes in the environments `names` (looked at again before its commit)."""
    db.session.info.setdefault(WRITTEN, set()).update(names)


def recheck_written() -> None:
    """Before a commit that writes in environments (flags.service.versions.commit), after its first write:
    each must still be there, else nothing is written (a FlagError, 404)."""
    names = db.session.info.pop(WRITTEN, None)
    if not names or db.session.get_bind().dialect.name != "sqlite":  # PostgreSQL's writers share hold's lock
        return
    gone = sorted(set(names) - set(environment_names()))
    if gone:
        db.session.rollback()
        raise FlagError(f"There is no environment {gone[0]!r} any more: it was renamed or removed meanwhile.",
                        {"environment": "renamed or removed meanwhile"}, status=404)


def check_environment(name: object, *, writing: bool = False) -> str:
    """`name` when it is one of the environments (None: default_environment()), else a FlagError naming the
    field `environment`. `writing`: for a write in it, which the list then cannot change under (hold,
    writing_in)."""
    if writing:
        hold()
    names = environment_names()
    if name is None:
        name = _default_among(names, writing)  # the list just read, not read again
    found = name.strip().lower() if isinstance(name, str) else None  # names are kept as _check_name makes them
    if found in names:
        if writing:
            writing_in([found])
        return found
    raise FlagError(f"There is no environment {name!r}; there are {', '.join(names)}.",
                    {"environment": f"unknown environment; one of {', '.join(names)}"}, status=404)


# --------------------------------------------------------------------------- changing the list

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,49}$")  # fits a token's `project:environment.secret` and a URL


def _check_name(raw: Any, taken: list[str]) -> str:
    name = raw.strip().lower() if isinstance(raw, str) else ""
    if not NAME.match(name):
        raise FlagError("An environment needs a name of 1 to 50 lower-case letters, digits, - or _.",
                        {"name": "1 to 50 of a-z, 0-9, - and _, starting with a letter or digit"}, status=422)
    if name in taken:
        raise FlagError(f"There is already an environment {name}.", {"name": "already exists"}, status=409)
    return name


def _changed(actor: str, action: str, target: str, before: Any, after: Any, ip: str) -> None:
    audit.record(actor, f"flags.environment.{action}", target, before, after, ip=ip, commit=False)
    db.session.commit()
    bump_version()


def _changes_the_list(change: Callable[..., T]) -> Callable[..., T]:
    """A change of the list of environments, holding it exclusively (hold); whatever stops the change
    rolls its transaction back, which lets go of the list at once."""
    @wraps(change)
    def changing(*args: Any, **kwargs: Any) -> T:
        hold(exclusive=True)
        try:
            return change(*args, **kwargs)
        except BaseException:
            db.session.rollback()
            raise

    return changing


@_changes_the_list
def add_environment(name: Any, *, actor: str, ip: str = "") -> Environment:
    """A new environment at the end of the list; every flag is off there until switched on."""
    rows = _stored()
    name = _check_name(name, [e.name for e in rows])
    row = Environment(name=name, position=max((e.position for e in rows), default=-1) + 1, created_at=utcnow())
    db.session.add(row)
    db.session.flush()
    _changed(actor, "add", name, None, row.as_dict(), ip)
    _move_counts(name, None)  # counts an earlier environment of this name left (made while Redis was away)
    return row


@_changes_the_list
def rename_environment(old: Any, new: Any, *, actor: str, ip: str = "") -> Environment:
    """Rename an environment, with the flag states, tokens and versions that name it (tokens made
    before keep working: they are found by their hash, and their text keeps the old name)."""
    old = check_environment(old)
    rows = _stored()
    new = _check_name(new, [e.name for e in rows if e.name != old])
    row = next(e for e in rows if e.name == old)
    if new == old:
        return row
    row.name = new
    for model in (FlagState, ClientToken, FlagVersion):
        db.session.execute(update(model).where(model.environment == old).values(environment=new))
    _changed(actor, "rename", new, {"name": old}, {"name": new}, ip)
    if settings.get("flags.environment") == old:  # NOUS's own code goes on evaluating in it, by its new name
        settings.set_value("flags.environment", new, actor=actor, ip=ip)
    row.counts_moved = _move_counts(old, new)
    return row


@_changes_the_list
def move_environment(name: Any, step: int, *, actor: str, ip: str = "") -> list[str]:
    """Move an environment one place earlier (step -1) or later (+1) in the list; the new order."""
    name = check_environment(name)
    rows = _stored()
    i = next(i for i, e in enumerate(rows) if e.name == name)
    j = i + (1 if step > 0 else -1)
    if 0 <= j < len(rows):
        before = [e.name for e in rows]
        rows[i], rows[j] = rows[j], rows[i]
        for position, row in enumerate(rows):
            row.position = position
        _changed(actor, "move", name, {"order": before}, {"order": [e.name for e in rows]}, ip)
    return [e.name for e in rows]


def environment_use(name: str) -> dict[str, int]:
    """What uses an environment: flags switched on there and client tokens not revoked."""
    on = db.session.scalar(select(func.count()).select_from(FlagState).join(Flag).where(
        FlagState.environment == name, FlagState.enabled.is_(True), Flag.archived.is_(False))) or 0
    tokens = db.session.scalar(select(func.count()).select_from(ClientToken).where(
        ClientToken.environment == name, ClientToken.revoked_at.is_(None))) or 0
    return {"flags_on": on, "tokens": tokens}


@_changes_the_list
def remove_environment(name: Any, *, actor: str, ip: str = "") -> None:
    """Remove an unused environment (no flag switched on there, no client token for it, not the last
    one, not the one NOUS's own code evaluates in); its flag states go with it, versions stay."""
    name = check_environment(name)
    use = environment_use(name)
    problems = []
    if use["flags_on"]:
        problems.append(f"{use['flags_on']} flag(s) are on there")
    if use["tokens"]:
        problems.append(f"{use['tokens']} client token(s) answer for it")
    if len(environments()) == 1:
        problems.append("it is the only environment")
    if settings.get("flags.environment") == name:
        problems.append("NOUS's own code evaluates in it (the setting flags.environment)")
    if problems:
        raise FlagError(f"{name} is in use: {'; '.join(problems)}.", {"name": "in use"}, status=409)
    row = next(e for e in _stored() if e.name == name)
    db.session.execute(delete(FlagState).where(FlagState.environment == name))
    db.session.delete(row)
    _changed(actor, "remove", name, row.as_dict(), None, ip)
    _move_counts(name, None)  # an environment added later under this name starts from nothing


def _move_counts(old: str, new: str | None) -> bool:
    """NOUS's evaluation counts and the SDKs' metrics live in Redis under the environment's name: a renamed
    environment takes them along (added to whatever its new name holds already: a process that has not
    reloaded yet may still be counting under the old name for a moment), a removed one's are dropped.
    With Redis away they stay where they are, and a warning says so (False)."""
    try:
        conn = get_redis()
        now_hour = int(time.time()) // 3600
        moves = [(source, target, "sum") for source, target in
                 zip(count_keys(old, now_hour), count_keys(new or old, now_hour), strict=True)]
        for prefix, mode in ((SDK_PREFIX, "sum"), (APPS_PREFIX, "keep")):
            before, after = prefix.format(environment=old), prefix.format(environment=new or old)
            found = (key.decode() for key in conn.scan_iter(match=f"{before}*", count=1000))
            moves += [(key, after + key[len(before):], mode) for key in found]
        merge = conn.register_script(_MERGE)
        pipe = conn.pipeline(transaction=False)
        for source, target, mode in moves:
            if new is None:
                pipe.delete(source)
            else:
                merge(keys=[source, target], args=[mode, APPS_KEPT], client=pipe)
        pipe.execute()
    except (redis.RedisError, OSError):
        log.warning("flags: the counts of environment %s could not be %s (Redis unreachable)", old,
                    f"moved to {new}" if new else "removed")
        return False
    return True
