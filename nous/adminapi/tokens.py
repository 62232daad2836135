"""Admin API tokens: create (the token is shown once), list, revoke, and check a presented token.

Checking costs no SQL: each process follows the tokens as a per-process copy (nous.versioned) keyed by
the SHA-256 of each token, so a check is one hash and one dict lookup, plus at most every half second
one Redis GET for the version. A creation or revocation writes a new version, so every process of
every instance honours a revocation within a second. The last use (time and address) is written at
most once a minute per token and process, after the answer has been sent.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from nous.adminapi.models import AdminToken
from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.extensions import db
from nous.inputs import InputError, parse_int
from nous.versioned import Followed, Unavailable

log = logging.getLogger("nous.adminapi")

PREFIX = "nous_admin_"
VERSION_KEY = "nous:adminapi:tokens:version"
CHECK_EVERY = 0.5  # seconds between version checks: a revocation elsewhere applies within a second
OFFLINE_RELOAD = 1.0  # Redis unreachable: read the tokens again this often (one small query)
MISS_RECHECK = 0.005  # unknown tokens make a version check at most this often (one made elsewhere just now)
TOUCH_EVERY = 60.0  # seconds between writes of a token's last use, per process
NAME_MAX = 100
MAX_EXPIRY_DAYS = 3650

AREAS = ("testers", "feedback", "flags", "jobs", "workflows", "settings")
SCOPES: tuple[str, ...] = (*(f"{a}:{m}" for a in AREAS for m in ("read", "write")),
                           "system:read", "audit:read", "admin")
SCOPE_HELP = {
    "testers": "list, invite, import, export", "feedback": "list, triage, reply, export",
    "flags": "flags, segments, client tokens, overrides", "jobs": "background jobs and schedules",
    "workflows": "definitions and runs", "settings": "runtime settings",
    "system": "integration status, health, probes", "audit": "the audit log",
    "admin": "everything, including the admin API tokens",
}
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._@:+-]*$")


class TokenError(Exception):
    """Refused input: `errors` names the fields; `status` is the HTTP status an API answers with."""

    def __init__(self, message: str, errors: dict[str, str] | None = None, status: int = 422) -> None:
        super().__init__(message)
        self.message, self.errors, self.status = message, errors or {}, status


def granted(scopes: Iterable[str]) -> frozenset[str]:
    """Every scope a token with `scopes` holds: `admin` holds all, `area:write` also `area:read`."""
    held = set(scopes)
    if "admin" in held:
        return frozenset(SCOPES)
    held |= {s.replace(":write", ":read") for s in held if s.endswith(":write")}
    return frozenset(held & set(SCOPES))


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What a check needs of a token, as this process holds it."""

    id: int
    hash: str  # the SHA-256 of the token: never the same for two tokens, even across a restored database
    name: str
    scopes: frozenset[str]  # as granted (admin and write expanded)
    expires: float | None  # unix time
    revoked: bool

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True, slots=True)
class Check:
    """A check's answer: the token, or why there is none ("missing", "unknown", "expired", "revoked",
    "unavailable" when no copy of the tokens could be read yet)."""

    token: TokenInfo | None
    reason: str = ""


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


# --------------------------------------------------------------------------- the per-process copy


def _load() -> dict[str, TokenInfo]:
    try:
        with db.engine.connect() as conn:  # a connection of its own: a caller's transaction is never touched
            rows = conn.execute(select(AdminToken.id, AdminToken.name, AdminToken.token_hash, AdminToken.scopes,
                                       AdminToken.expires_at, AdminToken.revoked_at)).all()
    except SQLAlchemyError:
        raise Unavailable from None
    out = {}
    for row in rows:
        expires = aware(row.expires_at)
        out[row.token_hash] = TokenInfo(row.id, row.token_hash, row.name, granted(row.scopes or ()),
                                        expires.timestamp() if expires else None, row.revoked_at is not None)
    return out


def _copy() -> Followed[dict[str, TokenInfo] | None]:
    copy = current_app.extensions.get("nous.adminapi.tokens")
    if copy is None:
        copy = current_app.extensions.setdefault("nous.adminapi.tokens", Followed[dict[str, TokenInfo] | None](
            VERSION_KEY, _load, None, check_every=CHECK_EVERY, offline_reload=OFFLINE_RELOAD))
    return copy


def check(raw: str | None) -> Check:
    """The token presented as `raw`, or the reason it is refused. No SQL (see the module's notes)."""
    if not raw:
        return Check(None, "missing")
    known = _copy().get()
    if known is None:
        return Check(None, "unavailable")
    if not raw.startswith(PREFIX) or len(raw) > 200:
        return Check(None, "unknown")
    digest = hash_token(raw)
    info = known.get(digest)
    if info is None:
        info = _recheck_for(digest)
    if info is None:
        return Check(None, "unknown")
    if info.revoked:
        return Check(None, "revoked")
    if info.expires is not None and info.expires <= time.time():
        return Check(None, "expired")
    return Check(info)


_miss_lock = threading.Lock()
_last_miss_check = [float("-inf")]


def _recheck_for(digest: str) -> TokenInfo | None:
    """A token this process does not know may have been created a moment ago in another process: look at
    the version now (at most every MISS_RECHECK seconds, so unknown tokens cannot make a Redis call each)."""
    now = time.monotonic()
    with _miss_lock:
        if now - _last_miss_check[0] < MISS_RECHECK:
            return None
        _last_miss_check[0] = now
    known = _copy().recheck()
    return known.get(digest) if known else None


# --------------------------------------------------------------------------- last use

_touch_lock = threading.Lock()


def due_for_touch(info: TokenInfo) -> bool:
    """Whether this use should be written (at most every TOUCH_EVERY seconds per token and process);
    claims the write when it is."""
    touched: dict[str, float] = current_app.extensions.setdefault("nous.adminapi.touched", {})
    now = time.monotonic()
    with _touch_lock:
        if now - touched.get(info.hash, float("-inf")) < TOUCH_EVERY:
            return False
        touched[info.hash] = now
    return True


def touch(token_id: int, ip: str, when: datetime | None = None) -> None:
    """Write a token's last use. Never raises: a lost last-use time is not worth an error."""
    try:
        with db.engine.begin() as conn:
            conn.execute(update(AdminToken).where(AdminToken.id == token_id)
                         .values(last_used_at=when or utcnow(), last_used_ip=(ip or "")[:64]))
    except SQLAlchemyError:
        log.warning("last use of an admin API token not written", extra={"token_id": token_id})


# --------------------------------------------------------------------------- create, list, revoke


def _clean_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise TokenError("The token needs a name.", {"name": f"1 to {NAME_MAX} characters"})
    name = name.strip()
    if len(name) > NAME_MAX or not _NAME.match(name):
        raise TokenError("That name cannot be used.",
                         {"name": f"1 to {NAME_MAX} letters, digits, spaces and . _ @ : + -"})
    return name


def _clean_scopes(scopes: Any) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s for s in re.split(r"[\s,]+", scopes) if s]
    if not isinstance(scopes, list | tuple) or not scopes or not all(isinstance(s, str) for s in scopes):
        raise TokenError("The token needs at least one scope.", {"scopes": "at least one of " + ", ".join(SCOPES)})
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise TokenError(f"Unknown scope {unknown[0]!r}.", {"scopes": f"unknown: {', '.join(unknown)[:200]}"})
    return sorted(set(scopes), key=SCOPES.index)


def _clean_expiry(expires_in_days: Any) -> datetime | None:
    if expires_in_days is None or expires_in_days == "":
        return None
    days = expires_in_days  # a JSON integer, or a form's ASCII digits (not 1.9, "1_0" or "٣")
    if isinstance(days, str):
        try:
            days = parse_int(days, "expires_in_days", default=0, minimum=1, maximum=MAX_EXPIRY_DAYS)
        except InputError:
            days = 0
    if type(days) is not int or not 1 <= days <= MAX_EXPIRY_DAYS:
        raise TokenError("The expiry is out of range.",
                         {"expires_in_days": f"a whole number of days from 1 to {MAX_EXPIRY_DAYS}"})
    return utcnow() + timedelta(days=days)


def create(name: Any, scopes: Any, *, expires_in_days: Any = None, actor: str, ip: str = "") -> tuple[AdminToken, str]:
    """A new token; returns the row and the token itself, which is shown this once."""
    name, scopes, expires_at = _clean_name(name), _clean_scopes(scopes), _clean_expiry(expires_in_days)
    if db.session.scalar(select(AdminToken.id).where(AdminToken.name == name)) is not None:
        raise TokenError(f"A token named {name} exists already.", {"name": "already used by another token"},
                         status=409)
    raw = PREFIX + secrets.token_urlsafe(32)
    row = AdminToken(name=name, token_hash=hash_token(raw), prefix=raw[:len(PREFIX) + 6], scopes=scopes,
                     expires_at=expires_at, created_at=utcnow(), created_by=actor[:320], last_used_ip="")
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise TokenError(f"A token named {name} exists already.", {"name": "already used by another token"},
                         status=409) from None
    audit.record(actor, "adminapi.token.create", row.name, None, row.as_dict(), ip=ip, commit=False)
    db.session.commit()
    _copy().changed()
    return row, raw


def list_tokens() -> list[dict[str, Any]]:
    """Every token, active ones first, newest first."""
    rows = db.session.scalars(select(AdminToken).order_by(AdminToken.revoked_at.is_not(None), AdminToken.id.desc()))
    return [row.as_dict() for row in rows]


def page_tokens(before_id: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Tokens newest first (by id, a stable order), `limit` of them older than `before_id`."""
    stmt = select(AdminToken).order_by(AdminToken.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AdminToken.id < before_id)
    return [row.as_dict() for row in db.session.scalars(stmt)]


def get(name: str) -> AdminToken:
    row = db.session.scalar(select(AdminToken).where(AdminToken.name == name)) if isinstance(name, str) else None
    if row is None:
        raise TokenError(f"No token named {name}.", {"name": "no such token"}, status=404)
    return row


def revoke(name: str, *, actor: str, ip: str = "") -> AdminToken:
    """Revoke a token by name: every process refuses it within a second. Revoking twice changes nothing
    but announces the revocation again (for one Redis missed: see `announced`)."""
    row = get(name)
    if row.revoked_at is None:
        before = row.as_dict()
        row.revoked_at = utcnow()
        audit.record(actor, "adminapi.token.revoke", row.name, before, row.as_dict(), ip=ip, commit=False)
        db.session.commit()
    _copy().changed()
    return row


def announced() -> bool:
    """Whether this process's last change of the tokens reached Redis, so every process was told. When not,
    processes that did not notice Redis was away keep their copy until a change reaches it."""
    return not _copy().unannounced
