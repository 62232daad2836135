"""Testers: add, import, invite, join, deactivate, remove, search, export. Their flag overrides are the
flags area's (nous.flags.service.overrides).

No `request` or `g` in here: routes, CLI commands and jobs call these functions with the actor and IP
they know. Every change is written to the audit log in the same transaction as the change.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy import update as sql_update
from sqlalchemy.exc import IntegrityError

from nous import events
from nous.audit import service as audit
from nous.clock import aware, utcnow
from nous.email.service import queue_email
from nous.extensions import db
from nous.flags.service import overrides_changed
from nous.testers import JOIN_PATH
from nous.testers.models import ROLES, BetaUser, tester_feedback
from nous.text import clean_text, is_email

log = logging.getLogger("nous.testers")

__all__ = [
    "EmailUnavailable", "ImportReport", "InviteError", "TesterError", "accept_invite", "add", "export_rows",
    "feedback_counts", "get", "get_by_email", "import_rows", "import_text", "invite", "invite_for_code", "join_url",
    "normalize_email", "recent_feedback", "remove", "search", "set_active", "tester_for_feedback", "touch_seen",
    "update",
]

EXPORT_HEADER = ["id", "email", "role", "is_active", "invite_state", "source", "created_at", "invited_at",
                 "invite_sent_count", "joined_at", "last_seen_at", "notes", "flag_set"]
MAX_IMPORT_ROWS = 10_000
MAX_NOTES = 5000
SEEN_EVERY = timedelta(seconds=60)  # last_seen_at is rewritten at most once a minute per tester

_CODE = re.compile(r"[A-Za-z0-9_-]{16,64}")


class TesterError(ValueError):
    """A request about testers that cannot be carried out; `message` says why, for people."""

    def __init__(self, message: str, field: str = "", status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


class TesterConflict(TesterError):
    """A change decided on an older state of the tester than the stored one: `current` is the tester
    now, `changes` the latest audit entries about them (oldest first)."""

    def __init__(self, message: str, current: BetaUser, changes: list[Any]) -> None:
        super().__init__(message, "version", status=409)
        self.current = current
        self.changes = changes


class EmailUnavailable(TesterError):
    """The email layer (`nous.email.service.queue_email`) refused the message or could not take it."""


class InviteError(Exception):
    """An invite link that cannot be used: 404 unknown, 410 used up or withdrawn."""

    def __init__(self, status: int, title: str, message: str) -> None:
        super().__init__(message)
        self.status, self.title, self.message = status, title, message


def normalize_email(raw: Any) -> str:
    """The address in lower case, or TesterError naming what is wrong with it."""
    if not isinstance(raw, str):
        raise TesterError("must be an email address", "email")
    email = raw.strip()
    if not email:
        raise TesterError("is required", "email")
    if not is_email(email):
        raise TesterError(f"{email[:80]!r} is not a valid email address", "email")
    return email.lower()


def _role(raw: Any) -> str:
    role = str(raw or "TESTER").strip().upper()
    if role not in ROLES:
        raise TesterError(f"role must be one of {', '.join(ROLES)}", "role")
    return role


def _notes(raw: Any) -> str:
    notes = clean_text(str(raw or "")).strip()
    if len(notes) > MAX_NOTES:
        raise TesterError(f"notes must be at most {MAX_NOTES} characters", "notes")
    return notes


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


# --- reading ------------------------------------------------------------------------------------

def get(user_id: Any) -> BetaUser | None:
    uid = _uuid(user_id)
    return db.session.get(BetaUser, uid) if uid else None


def get_by_email(email: str) -> BetaUser | None:
    return db.session.scalars(select(BetaUser).where(func.lower(BetaUser.email) == email.strip().lower())).first()


def _require(user_id: Any) -> BetaUser:
    user = get(user_id)
    if user is None:
        raise TesterError("no such tester", status=404)
    return user


STATES = ("active", "inactive", "joined", "invited", "not-invited")


@dataclass
class Page:
    users: list[BetaUser]
    next_after: str | None
    total: int


def _filtered(q: str = "", role: str = "", state: str = "") -> Any:
    stmt = select(BetaUser)
    q = clean_text(q).strip()[:200]
    if q:
        like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(func.lower(BetaUser.email).like(like, escape="\\"),
                              func.lower(BetaUser.notes).like(like, escape="\\")))
    if role.upper() in ROLES:
        stmt = stmt.where(BetaUser.role == role.upper())
    if state == "active":
        stmt = stmt.where(BetaUser.is_active.is_(True))
    elif state == "inactive":
        stmt = stmt.where(BetaUser.is_active.is_(False))
    elif state == "joined":
        stmt = stmt.where(BetaUser.joined_at.is_not(None))
    elif state == "invited":
        stmt = stmt.where(BetaUser.invited_at.is_not(None), BetaUser.joined_at.is_(None))
    elif state == "not-invited":
        stmt = stmt.where(BetaUser.invited_at.is_(None), BetaUser.joined_at.is_(None))
    return stmt


def search(q: str = "", role: str = "", state: str = "", after: str = "", limit: int = 50) -> Page:
    """Testers ordered by email; `after` is the last email of the previous page (keyset)."""
    stmt = _filtered(q, role, state)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if after:
        stmt = stmt.where(func.lower(BetaUser.email) > clean_text(after).lower())
    users = list(db.session.scalars(stmt.order_by(func.lower(BetaUser.email)).limit(limit + 1)))
    more = len(users) > limit
    users = users[:limit]
    return Page(users, users[-1].email if more and users else None, total)


def iter_filtered(q: str = "", role: str = "", state: str = "") -> Iterator[BetaUser]:
    after = ""
    while True:
        page = search(q, role, state, after=after, limit=500)
        yield from page.users
        if not page.next_after:
            return
        after = page.next_after


def export_rows(q: str = "", role: str = "", state: str = "") -> Iterator[list[Any]]:
    for user in iter_filtered(q, role, state):
        d = user.as_dict()
        yield [d[k] if k != "flag_set" else _json(d[k]) for k in EXPORT_HEADER]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def feedback_counts(user_ids: list[uuid.UUID]) -> dict[uuid.UUID, int]:
    """Feedback per tester for one page of testers (one grouped query on an indexed column)."""
    if not user_ids:
        return {}
    fb = tester_feedback.c
    rows = db.session.execute(select(fb.tester_id, func.count()).where(fb.tester_id.in_(user_ids))
                              .group_by(fb.tester_id))
    return {tid: n for tid, n in rows}


def recent_feedback(user_id: uuid.UUID, limit: int = 10) -> list[Any]:
    """The tester's latest feedback, newest first: rows of (id, rating, message, created_at)."""
    fb = tester_feedback.c
    return list(db.session.execute(select(fb.id, fb.rating, fb.message, fb.created_at).where(fb.tester_id == user_id)
                                   .order_by(fb.created_at.desc(), fb.id.desc()).limit(limit)))


# --- changes ------------------------------------------------------------------------------------

def version_of(user: BetaUser) -> str:
    """What a page sends back to say which state of the tester it showed: a digest of everything an
    admin can change or trigger (role, notes, active, invite and join, overrides; not `last_seen_at`)."""
    state = {"role": user.role, "notes": user.notes, "active": bool(user.is_active),
             "invited": _iso(user.invited_at), "sent": user.invite_sent_count or 0, "joined": _iso(user.joined_at),
             "flags": dict(sorted((user.flag_set or {}).items()))}
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _check_seen(user: BetaUser, seen: str | None) -> None:
    """Refuse (409) a change decided on an older state of the tester than the stored one."""
    if seen is None or seen == "" or seen == version_of(user):
        return
    changes = [e for e in audit.query(target=user.email, limit=5) if e.target == user.email]
    raise TesterConflict(f"{user.email} changed since you opened the page; nothing was changed. "
                         "It is shown as it is now.", user, list(reversed(changes)))


def _announce(user_id: Any, action: str, version: str | None = None) -> None:
    """Tell live viewers (topic `testers`, after the commit): every view of the tester follows."""
    events.tester_changed.send(None, event={"id": str(user_id) if user_id is not None else None, "action": action,
                                            "version": version, "at": utcnow().isoformat()})


def add(email: Any, *, actor: str, role: Any = "TESTER", notes: Any = "", ip: str = "", source: str = "admin",
        commit: bool = True) -> BetaUser:
    """A new tester (not yet invited). Raises TesterError for a bad or already known address."""
    address = normalize_email(email)
    role = _role(role)
    notes = _notes(notes)
    if get_by_email(address) is not None:
        raise TesterError(f"{address} is already a tester", "email", status=409)
    user = BetaUser(id=uuid.uuid4(), email=address, role=role, notes=notes, source=source, flag_set={},
                    created_at=utcnow())
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise TesterError(f"{address} is already a tester", "email", status=409) from None
    audit.record(actor, "testers.add", address, None, user.as_dict(), ip=ip, commit=False)
    if commit:
        db.session.commit()
        _announce(user.id, "added", version_of(user))
    return user


def update(user_id: Any, *, actor: str, role: Any = None, notes: Any = None, ip: str = "",
           expected_version: str | None = None) -> BetaUser:
    """Change the role and/or notes; audited with the old and new values. Refused (409) when the tester
    changed since `expected_version` (see version_of), unless nothing would change."""
    user = _require(user_id)
    seen = version_of(user)
    before = {"role": user.role, "notes": user.notes}
    if role is not None:
        user.role = _role(role)
    if notes is not None:
        user.notes = _notes(notes)
    after = {"role": user.role, "notes": user.notes}
    if after != before:
        if expected_version and expected_version != seen:
            db.session.rollback()
            _check_seen(_require(user_id), expected_version)
        changed = [k for k in after if after[k] != before[k]]
        audit.record(actor, "testers.update", user.email, {k: before[k] for k in changed},
                     {k: after[k] for k in changed}, ip=ip, commit=False)
        db.session.commit()
        _announce(user.id, "updated", version_of(user))
    return user


def set_active(user_id: Any, active: bool, *, actor: str, ip: str = "",
               expected_version: str | None = None) -> BetaUser:
    """Activate or deactivate as asked; asking for the state it has changes nothing and succeeds, the other
    one on a view older than `expected_version` is refused (409)."""
    user = _require(user_id)
    if user.is_active != active:
        _check_seen(user, expected_version)
        audit.record(actor, "testers.reactivate" if active else "testers.deactivate", user.email,
                     {"is_active": user.is_active}, {"is_active": active}, ip=ip, commit=False)
        user.is_active = active
        db.session.commit()
        _announce(user.id, "reactivated" if active else "deactivated", version_of(user))
    return user


def remove(user_id: Any, *, actor: str, ip: str = "") -> str:
    """Delete the tester; their feedback stays (its tester link is cleared). Returns the email."""
    user = _require(user_id)
    email = user.email
    had_overrides = bool(user.flag_set)
    audit.record(actor, "testers.remove", email, user.as_dict(), None, ip=ip, commit=False)
    user_id = user.id
    db.session.delete(user)
    db.session.commit()
    _announce(user_id, "removed")
    if had_overrides:
        overrides_changed()
    return email


# --- invitations --------------------------------------------------------------------------------

def join_url(user: BetaUser) -> str:
    return current_app.config["SYSTEM_BASE_URL"].rstrip("/") + JOIN_PATH.format(code=user.invite_code)


def invite(user_id: Any, *, actor: str, ip: str = "") -> BetaUser:
    """Send the invite email (first time) or send it again (resend). Raises TesterError."""
    user = _require(user_id)
    if not user.is_active:
        raise TesterError(f"{user.email} is deactivated; reactivate before inviting", status=409)
    if user.joined_at is not None:
        raise TesterError(f"{user.email} has already joined", status=409)
    resend = user.invited_at is not None
    before = {"invited_at": _iso(user.invited_at), "invite_sent_count": user.invite_sent_count}
    user.invited_at = utcnow()
    user.invite_sent_count = (user.invite_sent_count or 0) + 1
    after = {"invited_at": _iso(user.invited_at), "invite_sent_count": user.invite_sent_count}
    audit.record(actor, "testers.resend" if resend else "testers.invite", user.email, before, after, ip=ip,
                 commit=False)
    url = join_url(user)
    context = {"invite_url": url, "join_url": url, "email": user.email, "invite_code": user.invite_code,
               "role": user.role, "resend": resend}
    try:
        db.session.flush()
        queue_email(user.email, "invite", context, actor=actor)
        db.session.commit()
    except Exception as exc:  # the email layer refused: nothing is recorded as sent  # noqa: BLE001
        db.session.rollback()
        raise email_refused("invite", user.email, exc) from None
    _announce(user.id, "invited", version_of(user))
    return user


def email_refused(what: str, to: str, exc: Exception) -> EmailUnavailable:
    """The error to show when the email layer would not take a message: 422 for a message it calls
    invalid (its EmailError is a ValueError: address, template, context), 503 for anything else."""
    current_app.logger.warning("%s email not queued for %s: %s", what, to, exc)
    if isinstance(exc, ValueError):
        return EmailUnavailable(f"the {what} email was refused: {exc}", status=422)
    return EmailUnavailable(f"the {what} email could not be queued: {exc}", status=503)


def _iso(value: datetime | None) -> str | None:
    value = aware(value)
    return value.isoformat() if value else None


def invite_for_code(code: str) -> BetaUser:
    """The tester an invite code belongs to, if it can still be accepted; InviteError otherwise."""
    user = None
    if _CODE.fullmatch(code or ""):
        user = db.session.scalars(select(BetaUser).where(BetaUser.invite_code == code)).first()
    if user is None:
        raise InviteError(404, "Invitation not found",
                          "This invitation link is not valid. Check that you copied the whole link from the email.")
    if not user.is_active:
        raise InviteError(410, "Invitation withdrawn",
                          "This invitation is no longer active. Contact the NOUS team if you think that is a mistake.")
    if user.joined_at is not None:
        raise InviteError(410, "Invitation already used",
                          "This invitation has already been accepted. You are in the beta; nothing else to do.")
    return user


def accept_invite(code: str, ip: str = "") -> BetaUser:
    """Mark the tester as joined. A second accept (or a race of two) gets InviteError 410."""
    user = invite_for_code(code)
    now = utcnow()
    done = db.session.execute(sql_update(BetaUser).where(BetaUser.id == user.id, BetaUser.joined_at.is_(None))
                              .values(joined_at=now, last_seen_at=now))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        db.session.rollback()
        raise InviteError(410, "Invitation already used", "This invitation has already been accepted.")
    audit.record(user.email, "testers.joined", user.email, {"joined_at": None}, {"joined_at": now.isoformat()},
                 ip=ip, commit=False)
    db.session.commit()
    db.session.refresh(user)
    _announce(user.id, "joined", version_of(user))
    _announce_joined(user.as_dict())
    return user


def _announce_joined(tester: dict[str, Any]) -> None:
    """The workflow trigger `tester.joined`, after the commit: whatever a workflow does (or fails to
    start), the tester has joined."""
    try:
        events.tester_joined.send(None, tester=tester)
    except Exception:  # a listener's trouble never undoes or fails a join
        log.exception("tester.joined not delivered to workflows", extra={"tester_id": tester.get("id")})


# --- import -------------------------------------------------------------------------------------

@dataclass
class ImportRow:
    line: int
    email: str
    result: str  # added | skipped
    reason: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.result == "added")

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.rows if r.result == "skipped")

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "skipped": self.skipped,
                "rows": [{"line": r.line, "email": r.email, "result": r.result, "reason": r.reason} for r in self.rows]}


def _parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with an `email` column (and optional `role`, `notes`), or of one address per line."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    out: list[tuple[int, dict[str, str]]] = []
    columns: dict[str, int] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            cells = [c.strip() for c in cells]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if columns is None and not out:
                lowered = [c.lower() for c in cells]
                if "email" in lowered or "e-mail" in lowered:
                    columns = {name: i for i, name in enumerate(lowered)}
                    columns.setdefault("email", lowered.index("e-mail") if "e-mail" in lowered else 0)
                    continue
            if columns:
                row = {k: cells[i] if i < len(cells) else "" for k, i in columns.items()
                       if k in {"email", "role", "notes"}}
            else:
                row = {"email": cells[0]}
            out.append((line, row))
            if len(out) > MAX_IMPORT_ROWS:
                raise TesterError(f"more than {MAX_IMPORT_ROWS} rows; split the file", "file")
    except csv.Error as exc:
        raise TesterError(f"the file is not readable as CSV (line {reader.line_num}): {exc}", "file") from None
    return out


def decode_upload(raw: bytes) -> str:
    """Text of an uploaded list: UTF-16 when it starts with its byte-order mark (Excel), else UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "replace")
    return raw.decode("utf-8-sig", "replace")


def import_text(text: str, *, actor: str, ip: str = "", invite_added: bool = False,
                source: str = "import") -> ImportReport:
    """Add every valid, new address of a CSV; report each row as added or skipped, and why."""
    return import_rows(_parse_csv(text), actor=actor, ip=ip, invite_added=invite_added, source=source)


def import_rows(rows: list[tuple[int, dict[str, str]]], *, actor: str, ip: str = "", invite_added: bool = False,
                source: str = "import") -> ImportReport:
    """Add every valid, new tester of (line, {email, role, notes}) rows; report each row as added or
    skipped, and why. All the additions are one transaction."""
    if len(rows) > MAX_IMPORT_ROWS:
        raise TesterError(f"more than {MAX_IMPORT_ROWS} rows; split the file", "file")
    report = ImportReport()
    seen: dict[str, int] = {}
    candidates: list[tuple[ImportRow, str, str, str]] = []
    for line, row in rows:
        raw = row.get("email", "")
        try:
            address = normalize_email(raw)
            role = _role(row.get("role") or "TESTER")
            notes = _notes(row.get("notes", ""))
        except TesterError as exc:
            if exc.field == "email":
                reason = "not a valid email address" if raw.strip() else "no email address"
            else:
                reason = exc.message
            report.rows.append(ImportRow(line, raw[:320], "skipped", reason))
            continue
        if address in seen:
            report.rows.append(ImportRow(line, address, "skipped", f"duplicate of line {seen[address]}"))
            continue
        seen[address] = line
        item = ImportRow(line, address, "added")
        report.rows.append(item)
        candidates.append((item, address, role, notes))
    existing: set[str] = set()
    addresses = [c[1] for c in candidates]
    for i in range(0, len(addresses), 500):
        chunk = addresses[i:i + 500]
        existing.update(db.session.scalars(select(func.lower(BetaUser.email)).where(func.lower(BetaUser.email).in_(chunk))))
    added: list[BetaUser] = []
    for item, address, role, notes in candidates:
        if address in existing:
            item.result, item.reason = "skipped", "already a tester"
            continue
        user = BetaUser(id=uuid.uuid4(), email=address, role=role, notes=notes, source=source, flag_set={},
                        created_at=utcnow())
        db.session.add(user)
        added.append(user)
        audit.record(actor, "testers.add", address, None, {"email": address, "role": role, "source": source},
                     ip=ip, commit=False)
    try:
        db.session.commit()
    except IntegrityError:  # someone added one of these at the same moment: nothing was added
        db.session.rollback()
        raise TesterError("another change added some of these testers at the same time; run the import again",
                          "file", status=409) from None
    if added:
        _announce(None, "imported")
    if invite_added:
        by_email = {r.email: r for r in report.rows if r.result == "added"}
        for user in added:
            try:
                invite(user.id, actor=actor, ip=ip)
                by_email[user.email].reason = "invite queued"
            except TesterError as exc:
                by_email[user.email].reason = f"invite not sent: {exc.message}"
    return report


# --- for the feedback API -----------------------------------------------------------------------

_T = BetaUser.__table__.c  # plain Core columns for the public API's hot path (no ORM compilation)


def tester_for_feedback(email: str, *, actor: str = "api:feedback") -> uuid.UUID:
    """The id of the tester with this (valid, lower-case) address, created when unknown (not invited)."""
    stmt = select(_T.id).where(func.lower(_T.email) == email)
    found = db.session.scalar(stmt)
    if found is not None:
        return found
    user = BetaUser(id=uuid.uuid4(), email=email, role="TESTER", source="feedback", flag_set={}, created_at=utcnow())
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except IntegrityError:  # created by a concurrent request a moment ago
        return db.session.scalar(stmt)  # type: ignore[return-value]
    audit.record(actor, "testers.add", email, None, {"email": email, "role": "TESTER", "source": "feedback"},
                 commit=False)
    return user.id


def tester_exists(user_id: uuid.UUID) -> bool:
    return db.session.scalar(select(_T.id).where(_T.id == user_id)) is not None


def tester_subquery(user_id: uuid.UUID | None, email: str | None) -> Any:
    """A scalar subquery for the id of the tester named by id (first) or lower-case address, or None."""
    if user_id is not None:
        return tester_subquery_for("id", user_id)
    if email:
        return tester_subquery_for("email", email)
    return None


def tester_subquery_for(by: str, ref: Any) -> Any:
    """The same by "id" or "email" with `ref` a value or a bound parameter (for a statement built
    once); None for "" (no tester)."""
    if by == "id":
        return select(_T.id).where(_T.id == ref).scalar_subquery()
    if by == "email":
        return select(_T.id).where(func.lower(_T.email) == ref).scalar_subquery()
    return None


class _SeenRecently:
    """Testers this process marked as seen, and when: a cache that is safe to lose, so a tester who
    sends several notes in a minute costs one UPDATE, not one per note."""

    def __init__(self, size: int = 10_000) -> None:
        self.lock = threading.Lock()
        self.size = size
        self.when: dict[uuid.UUID, datetime] = {}

    def due(self, user_id: uuid.UUID, now: datetime) -> bool:
        with self.lock:
            last = self.when.get(user_id)
            if last is not None and timedelta(0) <= now - last < SEEN_EVERY:
                return False
            if len(self.when) >= self.size:
                self.when.clear()
            self.when[user_id] = now
            return True


_seen = _SeenRecently()


def touch_seen(user_id: uuid.UUID, now: datetime | None = None, conn: Any = None) -> None:
    """Record activity at most once a minute per tester (keeps hot rows cool and round trips few).
    `conn`: a Core connection to run it on (the session's by default)."""
    now = now or utcnow()
    if not _seen.due(user_id, now):
        return
    (conn or db.session.connection()).execute(
        BetaUser.__table__.update()
        .where(_T.id == user_id, or_(_T.last_seen_at.is_(None), _T.last_seen_at < now - SEEN_EVERY))
        .values(last_seen_at=now))
