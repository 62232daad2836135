"""Read and change runtime settings.

Reads come from a per-process cache. At most every half second a read asks Redis for the settings
version (one GET); when another process changed a setting the version differs and the cache reloads
from the database, so a change applies everywhere within a second without a restart. With Redis
down the cache reloads from the database every five seconds instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any

import yaml
from flask import Flask, current_app
from sqlalchemy.exc import SQLAlchemyError

from nous import inputs
from nous.audit import service as audit
from nous.errors import Conflict
from nous.extensions import db
from nous.settings.models import Setting
from nous.settings.registry import DEFINITIONS, SettingError, parse
from nous.versioned import Followed, Unavailable

VERSION_KEY = "nous:settings:version"
CHECK_EVERY = 0.5
OFFLINE_RELOAD = 5.0

__all__ = ["SettingConflict", "SettingError", "all_values", "export", "get", "history", "import_text", "set_value",
           "stored_values", "version_of"]


class SettingConflict(Conflict, ValueError):
    """A change decided on another value than the stored one: `current` is the value now, `changes`
    the latest changes of the setting (audit entries as dicts, oldest first)."""

    def __init__(self, key: str, current: Any, changes: list[dict[str, Any]]) -> None:
        super().__init__(key, current, changes, since="you opened the page", tail="It shows the stored value now.")
        self.key = key


def version_of(value: Any) -> str:
    """What a page sends back to say which value of a setting it showed: a digest of that value."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _load() -> dict[str, Any]:
    try:
        stored = {s.key: s.value for s in db.session.scalars(db.select(Setting))}
    except SQLAlchemyError:
        db.session.rollback()
        raise Unavailable from None  # database down: keep what we have (the defaults before a first load)
    values = {}
    for key, definition in DEFINITIONS.items():
        try:
            values[key] = definition.parse(stored[key]) if key in stored else definition.default
        except ValueError:
            values[key] = definition.default  # a value a newer definition no longer accepts
    return values


def _cache(app: Flask | None = None) -> Followed[dict[str, Any]]:
    """The copy of the current app's settings, or of `app`'s (outside its context: it loads in its own)."""
    extensions = (current_app if app is None else app).extensions
    cache = extensions.get("nous.settings")
    if cache is None:  # once per app: the copy is bound to its app (its Redis, its context for loads)
        owner = current_app._get_current_object() if app is None else app  # type: ignore[attr-defined]
        cache = extensions.setdefault("nous.settings", Followed(
            VERSION_KEY, _load, {k: d.default for k, d in DEFINITIONS.items()},
            check_every=CHECK_EVERY, offline_reload=OFFLINE_RELOAD, app=owner))
    return cache


def _fresh() -> dict[str, Any]:
    return _cache().get()


def get(key: str, app: Flask | None = None) -> Any:
    """The value of setting `key` for the current app, or for `app` without its context (nous.front)."""
    if key not in DEFINITIONS:
        raise SettingError(key, "no such setting")
    return _cache(app).get()[key]


def stored_values() -> dict[str, Any]:
    """Every setting as the database holds it now, not this process's copy (which keeps the defaults, or what
    it last read, while the database is away): raises Unavailable when the database cannot be read."""
    return _load()


def peek(key: str) -> Any:
    """The value this process last loaded, without any I/O (the default before the first load)."""
    cache = current_app.extensions.get("nous.settings")
    if cache is not None and key in cache.value:
        return cache.value[key]
    return DEFINITIONS[key].default


def all_values() -> dict[str, Any]:
    return dict(_fresh())


def _announce() -> None:
    _cache().changed()


def set_value(key: str, raw: Any, actor: str, ip: str = "", expected_version: str | None = None) -> Any:
    """Validate and store one setting; audited with old and new value. Raises SettingError, and
    SettingConflict when `expected_version` (see version_of) is not the stored value's and the value
    asked for is not already the stored one."""
    value = parse(key, raw)
    _check_names(key, value)
    old = get(key)
    if value == old:
        return value
    if expected_version and expected_version != version_of(old):
        raise SettingConflict(key, old, list(reversed(history(key, limit=3))))
    _store(key, value, actor)
    audit.record(actor, "settings.set", key, before=old, after=value, ip=ip, commit=False)
    db.session.commit()
    _announce()
    return value


_NAME_CHECKS: dict[str, Callable[[Any], None]] = {}


def check_names_with(key: str, check: Callable[[Any], None]) -> None:
    """`check(value)` raises ValueError (its text the message) when a value of the setting `key` names
    nothing that exists; the area that owns what it names registers it (settings import no area)."""
    _NAME_CHECKS[key] = check


def _check_names(key: str, value: Any) -> None:
    check = _NAME_CHECKS.get(key)
    if check is not None:
        try:
            check(value)
        except ValueError as exc:
            raise SettingError(key, str(exc)) from None


def _store(key: str, value: Any, actor: str) -> None:
    row = db.session.get(Setting, key)
    if row is None:
        db.session.add(Setting(key=key, value=value, updated_by=actor))
    else:
        row.value, row.updated_by = value, actor


def export(fmt: str = "yaml", stored: bool = False) -> str:
    """Every setting as YAML or JSON: this process's copy, or with `stored` what the database holds now
    (raises Unavailable when it cannot be read)."""
    values = stored_values() if stored else all_values()
    if fmt == "json":
        return json.dumps(values, indent=2, sort_keys=True) + "\n"
    return yaml.safe_dump(values, sort_keys=True, allow_unicode=True)


def import_text(text: str, fmt: str, actor: str, ip: str = "") -> dict[str, tuple[Any, Any]]:
    """Apply every setting in a YAML/JSON document, or none: all are validated first.

    Returns {key: (old, new)} for the settings that changed. Raises SettingError naming the first
    bad key, or ValueError when the document itself cannot be read.
    """
    try:
        data = inputs.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read the {fmt.upper()} document: {exc}".splitlines()[0]) from None
    except RecursionError:  # YAML nested thousands deep
        raise ValueError(f"cannot read the {fmt.upper()} document: nested too deeply") from None
    if not isinstance(data, dict):
        raise ValueError("expected a mapping of setting names to values")
    parsed = {str(k): parse(str(k), v) for k, v in data.items()}
    for key, value in parsed.items():
        _check_names(key, value)
    current = all_values()
    changes = {k: (current[k], v) for k, v in parsed.items() if current[k] != v}
    for key, (old, new) in changes.items():
        _store(key, new, actor)
        audit.record(actor, "settings.set", key, before=old, after=new, ip=ip, commit=False)
    db.session.commit()
    if changes:
        _announce()
    return changes


def history(key: str = "", limit: int = 50) -> list[dict[str, Any]]:
    return [e.as_dict() for e in audit.query(action="settings.set", target=key, limit=limit)
            if not key or e.target == key]
