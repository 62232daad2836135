"""Feedback: validate and store submissions, list and triage them, reply, export, statistics.

No `request` or `g` in here: the API route, the console, the CLI and jobs call these functions with
plain values. Admin changes are audited in the same transaction as the change.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis
from flask import current_app
from sqlalchemy import Date, bindparam, cast, delete, func, select, tuple_
from sqlalchemy.exc import SQLAlchemyError

from nous import events, inputs
from nous.audit import service as audit
from nous.clock import aware
from nous.email.service import queue_email
from nous.extensions import cache, db, get_redis
from nous.feedback.models import CATEGORIES, STATUSES, Feedback, FeedbackReply, FeedbackTag
from nous.live import publish
from nous.settings import registry as setting_types
from nous.settings import service as settings
from nous.testers import service as testers
from nous.text import MAX_EMAIL, clean_text, is_email

log = logging.getLogger("nous.feedback")

#: `feedback.created` of `nous.events`, sent after a submission is stored (sender: the app,
#: `feedback=<as_dict()>`). The workflows area connects to it. Live viewers are told directly
#: (`nous.live.publish`, topic `feedback`): on every new submission and every status change.
feedback_created = events.feedback_created

# Field limits; the OpenAPI document (nous/feedback/api.py) is built from the same constants.
MESSAGE_MAX = 4000
FEATURE_MAX = 100
EMAIL_MAX = MAX_EMAIL
PAGE_URL_MAX = 2000
APP_VERSION_MAX = 50
USER_AGENT_MAX = 500
REPLY_MAX = 10_000
TAG_MAX = 50
TAGS_PER_FEEDBACK = 20
# Patterns are applied with `re.search`, exactly as a JSON Schema validator applies `pattern`.
# at least one character that is neither space nor a control character nor U+FFFD (what is stored for
# control characters and lone surrogates): a message of nothing else would be stored as "�"
MESSAGE_PATTERN = r"[^\s\x00-\x08\x0e-\x1f\x7f\ufffd]"
_VISIBLE = re.compile(r"[^\s\x00-\x08\x0e-\x1f\x7f\ufffd\ud800-\udfff]")  # the pattern, lone surrogates too
PAGE_URL_PATTERN = r"^https?://\S"
VIEWPORT_PATTERN = r"^[0-9]{1,5}x[0-9]{1,5}$"
HONEYPOT_FIELD = "website"
STATS_CACHE_SECONDS = 30
STATS_STALE_SECONDS = 600
CHARTS_CACHE_SECONDS = 60
EXCERPT_MAX = 140  # characters of the message in a live event
STATS_KEY = "nous:feedback:stats"
BY_STATUS_KEY = "nous:feedback:by-status"

_DIGITS = re.compile(r"[0-9]{1,12}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _now() -> datetime:
    return datetime.now(UTC)


class FeedbackError(ValueError):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class FeedbackConflict(FeedbackError):
    """A change made on a view of the feedback older than what is stored: `current` is the feedback
    now, `changes` the audit entries since the version the caller saw (oldest first)."""

    def __init__(self, message: str, current: Feedback, changes: list[Any]) -> None:
        super().__init__(message, status=409)
        self.current = current
        self.changes = changes


class ValidationFailed(ValueError):
    """A submission with one message per bad field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


# --- submissions --------------------------------------------------------------------------------

@dataclass
class Submission:
    rating: int
    message: str
    category: str
    feature: str | None = None
    email: str | None = None
    page_url: str | None = None
    viewport: str | None = None
    app_version: str | None = None
    tester_id: uuid.UUID | None = None
    elapsed_ms: float | None = None
    honeypot: bool = False


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value == "")


def _integer(value: Any, from_form: bool) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if from_form and isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _number(value: Any, from_form: bool) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if inputs.finite(value) else None
    if from_form and isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if inputs.finite(number) else None
    return None


def _optional_text(data: Mapping[str, Any], name: str, limit: int, errors: dict[str, str]) -> str | None:
    value = data.get(name)
    if _blank(value):
        return None
    if not isinstance(value, str):
        errors[name] = "must be text"
        return None
    if len(value) > limit:
        errors[name] = f"must be at most {limit} characters"
        return None
    return clean_text(value).strip() or None


def validate(data: Mapping[str, Any], *, from_form: bool = False) -> Submission:
    """A submission from a JSON object or a form; ValidationFailed with a message per bad field."""
    errors: dict[str, str] = {}

    rating = _integer(data.get("rating"), from_form)
    if _blank(data.get("rating")):
        errors["rating"] = "is required"
    elif rating is None or not 1 <= rating <= 5:
        errors["rating"] = "must be a whole number from 1 to 5"

    message = data.get("message")
    if _blank(message):
        errors["message"] = "is required"
    elif not isinstance(message, str):
        errors["message"] = "must be text"
    elif len(message) > MESSAGE_MAX:
        errors["message"] = f"must be at most {MESSAGE_MAX} characters (got {len(message)})"
    elif not _VISIBLE.search(message):
        errors["message"] = "must not be empty"

    category = data.get("category")
    if _blank(category):
        errors["category"] = "is required"
    elif category not in CATEGORIES:
        errors["category"] = f"must be one of {', '.join(CATEGORIES)}"

    feature = _optional_text(data, "feature", FEATURE_MAX, errors)
    app_version = _optional_text(data, "app_version", APP_VERSION_MAX, errors)

    email = data.get("email")
    if _blank(email):
        email = None
    elif not isinstance(email, str) or len(email) > EMAIL_MAX or not is_email(email.strip()):
        errors["email"] = "must be a valid email address"
    else:
        email = email.strip().lower()

    page_url = data.get("page_url")
    if _blank(page_url):
        page_url = None
    elif not isinstance(page_url, str) or len(page_url) > PAGE_URL_MAX or not re.search(PAGE_URL_PATTERN, page_url):
        errors["page_url"] = f"must be an http(s) URL of at most {PAGE_URL_MAX} characters"
    else:
        page_url = clean_text(page_url).strip()

    viewport = data.get("viewport")
    if _blank(viewport):
        viewport = None
    elif not isinstance(viewport, str) or not re.search(VIEWPORT_PATTERN, viewport):
        errors["viewport"] = "must look like 1280x720 (width x height in CSS pixels)"
    else:
        viewport = viewport.strip()

    tester_id = None
    raw_tester = data.get("tester_id")
    if not _blank(raw_tester):
        if isinstance(raw_tester, str) and _UUID.fullmatch(raw_tester):
            tester_id = uuid.UUID(raw_tester)
        else:
            errors["tester_id"] = "must be a tester id (a UUID like 0b7e…-…)"

    honeypot = data.get(HONEYPOT_FIELD)
    if not _blank(honeypot) and not isinstance(honeypot, str):
        errors[HONEYPOT_FIELD] = "must be text"

    elapsed = None
    raw_elapsed = data.get("elapsed_ms")
    if not _blank(raw_elapsed):
        elapsed = _number(raw_elapsed, from_form)
        if elapsed is None or elapsed < 0:
            errors["elapsed_ms"] = "must be a number of milliseconds, 0 or more"

    if errors:
        raise ValidationFailed(errors)
    return Submission(
        rating=rating or 0, message=clean_text(message).strip(), category=category,  # type: ignore[arg-type]
        feature=feature, email=email, page_url=page_url, viewport=viewport, app_version=app_version,  # type: ignore[arg-type]
        tester_id=tester_id, elapsed_ms=elapsed, honeypot=not _blank(honeypot),
    )


@dataclass(frozen=True)
class Outcome:
    id: int
    stored: bool
    reason: str = ""


def _bot_reason(sub: Submission, min_submit_ms: int) -> str:
    if sub.honeypot:
        return "honeypot"
    if sub.elapsed_ms is not None and sub.elapsed_ms < min_submit_ms:
        return "too fast"
    return ""


def submit(data: Mapping[str, Any], *, from_form: bool = False, user_agent: str = "") -> Outcome:
    """Validate and store one submission. Bots (honeypot filled, sent faster than the setting
    `feedback.min_submit_ms`) get an Outcome that looks the same but stores nothing.

    The row is committed on a connection of its own (autocommit), whatever the caller's session
    holds; then live viewers and the workflows hear of it."""
    from nous.settings import service as settings

    sub = validate(data, from_form=from_form)
    reason = _bot_reason(sub, int(settings.get("feedback.min_submit_ms")))
    if reason:
        log.info("feedback dropped as a bot", extra={"reason": reason})
        return Outcome(id=secrets.randbelow(2**31 - 1) + 1, stored=False, reason=reason)
    now = _now()
    values = {"created_at": now, "updated_at": now, "rating": sub.rating, "message": sub.message,
              "feature": sub.feature, "category": sub.category, "status": "new", "email": sub.email,
              "page_url": sub.page_url, "user_agent": clean_text(user_agent[:USER_AGENT_MAX]) or None,
              "viewport": sub.viewport, "app_version": sub.app_version}
    # One Core INSERT … RETURNING that also finds the tester (a subquery), committed as it runs
    # (autocommit): the public API's hot path costs one round trip to the database, no BEGIN and
    # COMMIT around it, and skips the ORM's unit of work.
    by = "id" if sub.tester_id is not None else "email" if sub.email else ""
    params = {**values, "tester_ref": sub.tester_id if by == "id" else sub.email}
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        feedback_id, tester_id = conn.execute(_insert_statement(by), params).one()
        if tester_id is not None:
            testers.touch_seen(tester_id, now, conn=conn)
    if sub.tester_id is not None and tester_id is None:
        log.info("feedback names an unknown tester id; stored without it", extra={"tester_id": str(sub.tester_id)})
    if tester_id is None and sub.email:  # an address seen for the first time: a new tester, not invited
        tester_id = _link_new_tester(feedback_id, sub.email, now)
    _publish_live("created", feedback_id, values)
    if feedback_created.receivers:
        _announce(Feedback(id=feedback_id, tester_id=tester_id, **values).as_dict())
    return Outcome(id=feedback_id, stored=True)


_INSERT_COLUMNS = ("created_at", "updated_at", "rating", "message", "feature", "category", "status", "email",
                   "page_url", "user_agent", "viewport", "app_version")
_inserts: dict[str, Any] = {}


def _insert_statement(by: str) -> Any:
    """INSERT … RETURNING id, tester_id with bound parameters, built once per way of finding the
    tester ("id", "email" or "" for none): only the values change from one submission to the next."""
    stmt = _inserts.get(by)
    if stmt is None:
        table = Feedback.__table__
        ref = bindparam("tester_ref", type_=table.c.tester_id.type if by == "id" else table.c.email.type)
        tester = testers.tester_subquery_for(by, ref)
        stmt = _inserts[by] = table.insert().values(
            **{c: bindparam(c, type_=table.c[c].type) for c in _INSERT_COLUMNS}, tester_id=tester,
        ).returning(table.c.id, table.c.tester_id)
    return stmt


def _link_new_tester(feedback_id: int, email: str, now: datetime) -> uuid.UUID | None:
    """The feedback is stored; now the tester record for its new address and the link to it, in a
    transaction of their own. Should that fail, the feedback stays stored without the link (logged)."""
    table = Feedback.__table__
    try:
        tester_id = testers.tester_for_feedback(email)
        db.session.execute(table.update().where(table.c.id == feedback_id).values(tester_id=tester_id))
        testers.touch_seen(tester_id, now)
        db.session.commit()
        return tester_id
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("feedback stored, but no tester record made for its address", extra={"feedback_id": feedback_id})
        return None


def excerpt(message: str) -> str:
    """The message on one line, at most EXCERPT_MAX characters (an ellipsis marks a cut)."""
    text = " ".join(message.split())
    return text if len(text) <= EXCERPT_MAX else text[:EXCERPT_MAX - 1] + "\u2026"


def _publish_live(action: str, feedback_id: int, row: Mapping[str, Any], at: datetime | None = None,
                  versioned: bool = True) -> None:
    """Tell the live dashboard (topic `feedback`, shape in nous.live.events). Called after the commit;
    `publish` never raises and drops the event when Redis is down, so the feedback always stands.
    Without `versioned` (a reply: the feedback itself is unchanged) pages showing that version refresh too."""
    try:
        publish("feedback", {
            "id": feedback_id, "action": action, "rating": row["rating"], "category": row["category"],
            "feature": row["feature"], "status": row["status"], "excerpt": excerpt(row["message"] or ""),
            "at": (aware(at or row["created_at"]) or _now()).isoformat(),
            "version": _stamp(aware(row.get("updated_at") or row["created_at"]) or _now()) if versioned else None})
    except Exception:  # a live event is never worth an error on stored feedback
        log.exception("live feedback event not sent", extra={"feedback_id": feedback_id})


def _live_fields(row: Feedback) -> dict[str, Any]:
    """What a live event needs of a row, read before the commit expires it (no reload per row after)."""
    return {"id": row.id, "rating": row.rating, "category": row.category, "feature": row.feature,
            "status": row.status, "message": row.message, "created_at": row.created_at,
            "updated_at": row.updated_at}


def _announce(stored: dict[str, Any]) -> None:
    """Tell every listener, each on its own: one that fails neither stops the others nor turns
    feedback that is already stored into an error (blinker's send() would stop at the first)."""
    sender = current_app._get_current_object()  # type: ignore[attr-defined]
    for receiver in list(feedback_created.receivers_for(sender)):
        try:
            receiver(sender, feedback=stored)
        except Exception:
            log.exception("a feedback_created listener failed", extra={"feedback_id": stored["id"]})


# --- the admin list -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Filter:
    q: str = ""
    rating: int | None = None
    feature: str = ""
    category: str = ""
    status: str = ""  # "" = everything but spam; "all" = everything
    tag: str = ""
    email: str = ""
    tester_id: uuid.UUID | None = None
    since: date | None = None
    until: date | None = None  # inclusive

    def as_args(self) -> dict[str, str]:
        """The query-string form, for links that keep the filter (pager, export)."""
        out = {"q": self.q, "rating": str(self.rating or ""), "feature": self.feature, "category": self.category,
               "status": self.status, "tag": self.tag, "email": self.email,
               "tester": str(self.tester_id) if self.tester_id else "",
               "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else ""}
        return {k: v for k, v in out.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def _date(raw: str) -> date | None:
    try:
        return inputs.parse_date(raw, "date")
    except inputs.InputError:  # not a date, or one no filter can mean (9999-12-31): ignored
        return None


def parse_filter(args: Mapping[str, str]) -> Filter:
    """A Filter from query-string values; values that make no sense are ignored, never an error."""
    rating = args.get("rating", "").strip()
    status = args.get("status", "").strip()
    category = args.get("category", "").strip()
    tester = args.get("tester", "").strip()
    try:
        tester_id = uuid.UUID(tester) if tester else None
    except ValueError:
        tester_id = None
    return Filter(
        q=clean_text(args.get("q", "")).strip()[:200],
        rating=int(rating) if rating in {"1", "2", "3", "4", "5"} else None,
        feature=clean_text(args.get("feature", "")).strip()[:FEATURE_MAX],
        category=category if category in CATEGORIES else "",
        status=status if status in STATUSES or status == "all" else "",
        tag=normalize_tag(args.get("tag", "")),
        email=clean_text(args.get("email", "")).strip().lower()[:EMAIL_MAX],
        tester_id=tester_id,
        since=_date(args.get("since", "")),
        until=_date(args.get("until", "")),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _day_start(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _apply(stmt: Any, f: Filter) -> Any:
    if f.status == "all":
        pass
    elif f.status:
        stmt = stmt.where(Feedback.status == f.status)
    else:
        stmt = stmt.where(Feedback.status != "spam")
    if f.rating:
        stmt = stmt.where(Feedback.rating == f.rating)
    if f.feature:
        stmt = stmt.where(Feedback.feature == f.feature)
    if f.category:
        stmt = stmt.where(Feedback.category == f.category)
    if f.email:
        stmt = stmt.where(Feedback.email == f.email)
    if f.tester_id:
        stmt = stmt.where(Feedback.tester_id == f.tester_id)
    if f.since:
        stmt = stmt.where(Feedback.created_at >= _day_start(f.since))
    if f.until:
        stmt = stmt.where(Feedback.created_at < _day_start(f.until) + timedelta(days=1))
    if f.q:
        stmt = stmt.where(Feedback.message.ilike(_like(f.q), escape="\\"))
    if f.tag:
        # Driven from the tag's own (tag, created_at, feedback_id) index: see _sort_key().
        stmt = stmt.join(FeedbackTag, FeedbackTag.feedback_id == Feedback.id).where(FeedbackTag.tag == f.tag)
    return stmt


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR = re.compile(r"(-?[0-9]{1,17})_([0-9]{1,19})")


def make_cursor(row: Feedback) -> str:
    created = aware(row.created_at) or _EPOCH
    delta = created - _EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{row.id}"


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    m = _CURSOR.fullmatch(raw or "")
    if not m:
        return None
    try:
        return _EPOCH + timedelta(microseconds=int(m.group(1))), int(m.group(2))
    except OverflowError:
        return None


@dataclass
class ListPage:
    items: list[Feedback]
    tags: dict[int, list[str]]
    older: str | None = None  # cursor for the next (older) page
    newer: str | None = None  # cursor for the previous (newer) page
    reason: str = ""


def _sort_key(f: Filter) -> tuple[Any, Any]:
    """The (created_at, id) pair the list is ordered and paged by. With a tag filter it is the tag
    row's copy of it, so PostgreSQL walks the tag's index in order instead of probing every row."""
    if f.tag:
        return FeedbackTag.created_at, FeedbackTag.feedback_id
    return Feedback.created_at, Feedback.id


def _newest_first(stmt: Any, f: Filter, cursor: tuple[datetime, int] | None, limit: int) -> list[Feedback]:
    created, fid = _sort_key(f)
    if cursor:
        stmt = stmt.where(tuple_(created, fid) < tuple_(*cursor))
    return list(db.session.scalars(stmt.order_by(created.desc(), fid.desc()).limit(limit)))


def _oldest_first(stmt: Any, f: Filter, cursor: tuple[datetime, int], limit: int) -> list[Feedback]:
    created, fid = _sort_key(f)
    return list(db.session.scalars(stmt.where(tuple_(created, fid) > tuple_(*cursor))
                                   .order_by(created.asc(), fid.asc()).limit(limit)))


def list_page(f: Filter, *, before: str | None = None, after: str | None = None, limit: int = 50) -> ListPage:
    """One page newest first. `before`: rows older than that cursor; `after`: rows newer than it."""
    limit = max(1, min(limit, 200))
    base = _apply(select(Feedback), f)
    after_c = parse_cursor(after)
    before_c = parse_cursor(before)
    if after_c:
        rows = _oldest_first(base, f, after_c, limit + 1)
        has_newer = len(rows) > limit
        rows = list(reversed(rows[:limit]))
        has_older = bool(rows) and bool(_newest_first(base, f, (rows[-1].created_at, rows[-1].id), 1))
    else:
        rows = _newest_first(base, f, before_c, limit + 1)
        has_older = len(rows) > limit
        rows = rows[:limit]
        has_newer = bool(before_c) and bool(rows) and bool(_oldest_first(base, f, (rows[0].created_at, rows[0].id), 1))
    return ListPage(items=rows, tags=tags_for([r.id for r in rows]),
                    older=make_cursor(rows[-1]) if has_older and rows else None,
                    newer=make_cursor(rows[0]) if has_newer and rows else None)


def tags_for(ids: list[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    out: dict[int, list[str]] = {i: [] for i in ids}
    for fid, tag in db.session.execute(select(FeedbackTag.feedback_id, FeedbackTag.tag)
                                       .where(FeedbackTag.feedback_id.in_(ids)).order_by(FeedbackTag.tag)):
        out[fid].append(tag)
    return out


def get(feedback_id: int) -> Feedback | None:
    return db.session.get(Feedback, feedback_id) if 0 < feedback_id < 2**63 else None


def _require(feedback_id: int) -> Feedback:
    row = get(feedback_id)
    if row is None:
        raise FeedbackError("no such feedback", status=404)
    return row


def replies(feedback_id: int) -> list[FeedbackReply]:
    return list(db.session.scalars(select(FeedbackReply).where(FeedbackReply.feedback_id == feedback_id)
                                   .order_by(FeedbackReply.id)))


def latest(limit: int = 8, tester_id: uuid.UUID | None = None) -> list[Feedback]:
    return list_page(Filter(tester_id=tester_id, status="all" if tester_id else ""), limit=limit).items


def iter_filtered(f: Filter, chunk: int = 1000) -> Iterator[tuple[Feedback, list[str]]]:
    """Every matching row, newest first, read in keyset chunks (constant memory for exports)."""
    base = _apply(select(Feedback), f)
    cursor: tuple[datetime, int] | None = None
    while True:
        rows = _newest_first(base, f, cursor, chunk)
        tags = tags_for([r.id for r in rows])
        for r in rows:
            yield r, tags[r.id]
        if len(rows) < chunk:
            return
        cursor = (rows[-1].created_at, rows[-1].id)
        db.session.expunge_all()  # keep memory flat on a million-row export


EXPORT_HEADER = ["id", "created_at", "rating", "category", "status", "feature", "message", "email", "tester_id",
                 "tags", "page_url", "app_version", "viewport", "user_agent"]


def export_rows(f: Filter) -> Iterator[list[Any]]:
    for row, tags in iter_filtered(f):
        d = row.as_dict(tags)
        yield [d["id"], d["created_at"], d["rating"], d["category"], d["status"], d["feature"], d["message"],
               d["email"], d["tester_id"], ", ".join(tags), d["page_url"], d["app_version"], d["viewport"],
               d["user_agent"]]


# --- triage -------------------------------------------------------------------------------------

def _target(row: Feedback) -> str:
    return f"feedback:{row.id}"


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return str((at - _EPOCH) // timedelta(microseconds=1))


def version_of(row: Feedback) -> str:
    """What a page sends back to say which state of the feedback it showed: its last change, in µs."""
    return _stamp(aware(row.updated_at) or aware(row.created_at) or _EPOCH)


def _check_seen(row: Feedback, seen: str | None) -> None:
    """Refuse (409) a change decided on an older state of the feedback than the stored one."""
    if seen is None or seen == "":
        return
    if not (seen.isascii() and seen.isdigit() and len(seen) <= 17):  # µs up to the year 5138: a datetime holds it
        raise FeedbackError("version: the page sent a version that is not one", status=400)
    current = version_of(row)
    if seen == current:
        return
    since = _EPOCH + timedelta(microseconds=int(seen))
    changes = [e for e in reversed(audit.query(target=_target(row), since=since, limit=20)) if e.target == _target(row)]
    raise FeedbackConflict(f"Feedback #{row.id} changed since you opened it; nothing was changed. "
                           "It is shown as it is now.", current=row, changes=changes)


def set_status(feedback_id: int, status: str, *, actor: str, ip: str = "",
               expected_version: str | None = None) -> Feedback:
    """Set the status asked for. Asking for the status it already has changes nothing and succeeds;
    another one on a view older than the stored state (`expected_version`, see version_of) is refused (409)."""
    if status not in STATUSES:
        raise FeedbackError(f"status must be one of {', '.join(STATUSES)}")
    row = _require(feedback_id)
    if row.status != status:
        _check_seen(row, expected_version)
        audit.record(actor, "feedback.status", _target(row), {"status": row.status}, {"status": status}, ip=ip,
                     commit=False)
        row.status = status
        row.updated_at = _now()
        fields = _live_fields(row)
        db.session.commit()
        _invalidate()
        _publish_live("updated", fields["id"], fields, at=_now())
    return row


class BulkConflict(FeedbackError):
    """Some of the selected feedback changed since the list was drawn: nothing was changed."""

    def __init__(self, rows: list[Feedback]) -> None:
        named = ", ".join(f"#{r.id} (now {r.status})" for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        super().__init__(f"Nothing was changed: {named} changed since the list was shown. "
                         "The list shows them as they are now; choose again.", status=409)
        self.rows = rows


def bulk_status(ids: list[int], status: str, *, actor: str, ip: str = "",
                seen: Mapping[int, str] | None = None) -> int:
    """Set one status on many rows (at most 200); returns how many changed. With `seen` ({id: the
    version the list showed}), refused as a whole (BulkConflict, 409) when a row that would change
    changed since."""
    if status not in STATUSES:
        raise FeedbackError(f"status must be one of {', '.join(STATUSES)}")
    ids = sorted({i for i in ids if 0 < i < 2**63})[:200]
    rows = list(db.session.scalars(select(Feedback).where(Feedback.id.in_(ids))))
    stale = [r for r in rows if r.status != status and (seen or {}).get(r.id) not in (None, "", version_of(r))]
    if stale:
        raise BulkConflict(stale)
    changed: list[dict[str, Any]] = []
    for row in rows:
        if row.status != status:
            audit.record(actor, "feedback.status", _target(row), {"status": row.status}, {"status": status}, ip=ip,
                         commit=False)
            row.status = status
            row.updated_at = _now()
            changed.append(_live_fields(row))
    db.session.commit()
    if changed:
        _invalidate()
        now = _now()
        for fields in changed:
            _publish_live("updated", fields["id"], fields, at=now)
    return len(changed)


def _invalidate() -> None:
    """Status changes move rows in or out of the statistics (spam) and the status counts."""
    cache.delete_many(STATS_KEY, BY_STATUS_KEY)


def normalize_tag(raw: str) -> str:
    tag = " ".join(clean_text(str(raw)).replace("\ufffd", "").split()).lower().strip(" ,#")
    return tag[:TAG_MAX]


def parse_tags(raw: str | list[str]) -> list[str]:
    items = raw if isinstance(raw, list) else str(raw).split(",")
    tags: list[str] = []
    for item in items:
        tag = normalize_tag(item)
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_PER_FEEDBACK:
        raise FeedbackError(f"at most {TAGS_PER_FEEDBACK} tags per feedback")
    return sorted(tags)


def set_tags(feedback_id: int, raw: str | list[str], *, actor: str, ip: str = "",
             expected_version: str | None = None) -> list[str]:
    """Replace the tags of one feedback; returns the new list. Refused (409) when the feedback changed
    since the version the caller saw, unless the tags asked for are the ones it has."""
    row = _require(feedback_id)
    tags = parse_tags(raw)
    before = tags_for([row.id])[row.id]
    if tags != before:
        _check_seen(row, expected_version)
        db.session.execute(delete(FeedbackTag).where(FeedbackTag.feedback_id == row.id))
        db.session.add_all(FeedbackTag(feedback_id=row.id, tag=t, created_at=row.created_at) for t in tags)
        audit.record(actor, "feedback.tags", _target(row), {"tags": before}, {"tags": tags}, ip=ip, commit=False)
        row.updated_at = _now()
        fields = _live_fields(row)
        db.session.commit()
        cache.delete("nous:feedback:tags:50")
        _publish_live("updated", fields["id"], fields, at=fields["updated_at"])
    return tags


def known_tags(limit: int = 50) -> list[str]:
    """The most used tags (for suggestions), cached for a minute."""
    key = f"nous:feedback:tags:{limit}"
    cached = cache.get(key)
    if cached is None:
        cached = list(db.session.scalars(select(FeedbackTag.tag).group_by(FeedbackTag.tag)
                                         .order_by(func.count().desc(), FeedbackTag.tag).limit(limit)))
        cache.set(key, cached, timeout=CHARTS_CACHE_SECONDS)
    return cached


def reply_address(row: Feedback) -> str | None:
    if row.email:
        return row.email
    if row.tester_id:
        user = testers.get(row.tester_id)
        return user.email if user else None
    return None


def reply(feedback_id: int, body: str, *, actor: str, ip: str = "") -> FeedbackReply:
    """Email a reply to whoever sent the feedback (through the email layer's outbox and a job)."""
    row = _require(feedback_id)
    text = clean_text(body or "").strip()
    if not text:
        raise FeedbackError("write a reply first")
    if len(text) > REPLY_MAX:
        raise FeedbackError(f"a reply must be at most {REPLY_MAX} characters")
    to = reply_address(row)
    if not to:
        raise FeedbackError("this feedback came without an email address; there is no one to reply to", status=409)
    context = {"reply": text, "feature": row.feature or "", "original": row.message, "email": to,
               "feedback": row.as_dict(tags_for([row.id])[row.id])}
    try:
        email_id = queue_email(to, "feedback_reply", context, actor=actor)
    except Exception as exc:  # the email layer refused: nothing recorded as sent  # noqa: BLE001
        db.session.rollback()
        refused = testers.email_refused("reply", to, exc)
        raise FeedbackError(refused.message, status=refused.status) from None
    sent = FeedbackReply(feedback_id=row.id, created_at=_now(), sent_by=actor, to_email=to, body=text,
                         email_id=email_id if isinstance(email_id, int) else None)
    db.session.add(sent)
    audit.record(actor, "feedback.reply", _target(row), None, {"to": to, "reply": text[:500]}, ip=ip, commit=False)
    fields, replied_at = _live_fields(row), sent.created_at
    db.session.commit()
    _publish_live("replied", fields["id"], fields, at=replied_at, versioned=False)  # other tabs' history
    return sent


# --- statistics ---------------------------------------------------------------------------------

def _day_expr() -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(func.timezone("UTC", Feedback.created_at), Date)
    return func.date(Feedback.created_at)


def _day_key(value: Any) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)[:10]


def _avg(total: int, n: int) -> float | None:
    return round(total / n, 2) if n else None


def compute_stats(top_features: int = 20) -> dict[str, Any]:
    """Public figures over everything but spam: total, average, distribution, per feature, last 30 days.

    Two statements: one grouped pass over the table (feature x rating) and one range over the last
    30 days on the created_at index.
    """
    visible = Feedback.status != "spam"
    distribution = {str(i): 0 for i in range(1, 6)}
    features: dict[str | None, list[int]] = {}
    for feature, rating, n in db.session.execute(
            select(Feedback.feature, Feedback.rating, func.count()).where(visible)
            .group_by(Feedback.feature, Feedback.rating)):
        distribution[str(rating)] += n
        acc = features.setdefault(feature, [0, 0])
        acc[0] += n
        acc[1] += n * rating
    total = sum(distribution.values())
    rating_sum = sum(int(k) * v for k, v in distribution.items())
    ranked = sorted(features.items(), key=lambda kv: (-kv[1][0], kv[0] is None, kv[0] or ""))[:top_features]
    per_feature = [{"feature": f, "count": n, "average_rating": round(s / n, 2)} for f, (n, s) in ranked]
    start = _now().date() - timedelta(days=29)
    day = _day_expr()
    by_day = {_day_key(d): (n, int(s)) for d, n, s in db.session.execute(
        select(day, func.count(), func.sum(Feedback.rating)).where(visible, Feedback.created_at >= _day_start(start))
        .group_by(day))}
    daily = []
    for i in range(30):
        d = (start + timedelta(days=i)).isoformat()
        n, s = by_day.get(d, (0, 0))
        daily.append({"date": d, "count": n, "average_rating": _avg(s, n)})
    n30 = sum(x["count"] for x in daily)
    s30 = sum(v[1] for k, v in by_day.items() if k >= start.isoformat())
    return {
        "total": total,
        "average_rating": _avg(rating_sum, total),
        "distribution": distribution,
        "per_feature": per_feature,
        "last_30_days": {"total": n30, "average_rating": _avg(s30, n30), "daily": daily},
        "generated_at": _now().replace(microsecond=0).isoformat(),
    }


_computing = threading.Lock()  # one computation per process at a time


def stats() -> dict[str, Any]:
    """`compute_stats()`, cached in this process: fresh for STATS_CACHE_SECONDS; after that the old
    figures are still served (up to STATS_STALE_SECONDS) while a background thread computes new
    ones, so no request waits for the computation but the very first."""
    entry = cache.get(STATS_KEY)
    if entry is not None and time.monotonic() - entry[0] < STATS_CACHE_SECONDS:
        return entry[1]
    if entry is not None:
        if _computing.acquire(blocking=False):
            app = current_app._get_current_object()  # type: ignore[attr-defined]
            threading.Thread(target=_refresh_stats, args=(app,), name="feedback-stats", daemon=True).start()
        return entry[1]  # seconds old: the new figures follow in a moment
    with _computing:
        latest = cache.get(STATS_KEY)  # another request may have computed them while this one waited
        if latest is not None:
            return latest[1]
        return _store_stats()


def _store_stats() -> dict[str, Any]:
    figures = compute_stats()
    cache.set(STATS_KEY, (time.monotonic(), figures), timeout=STATS_STALE_SECONDS)
    return figures


def _refresh_stats(app: Any) -> None:
    """Runs in its own thread, holding `_computing`, which it releases."""
    try:
        with app.app_context():
            try:
                _store_stats()
            except Exception:  # the old figures stay; the next request after them tries again
                log.exception("feedback statistics not refreshed")
            finally:
                db.session.remove()
    finally:
        _computing.release()


def charts(days: int = 90) -> dict[str, Any]:
    """Series for the console charts: per day volume and average rating, per feature, per rating."""
    days = max(7, min(days, 365))
    key = f"nous:feedback:charts:{days}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    visible = Feedback.status != "spam"
    start = _now().date() - timedelta(days=days - 1)
    day = _day_expr()
    rows = {_day_key(d): (n, int(s)) for d, n, s in db.session.execute(
        select(day, func.count(), func.sum(Feedback.rating)).where(visible, Feedback.created_at >= _day_start(start))
        .group_by(day))}
    xs, counts, avgs = [], [], []
    for i in range(days):
        d = start + timedelta(days=i)
        n, s = rows.get(d.isoformat(), (0, 0))
        xs.append(int(_day_start(d).timestamp()))
        counts.append(n)
        avgs.append(_avg(s, n))
    base = stats()
    result = {
        "days": xs, "count": counts, "average": avgs,
        "features": [{"feature": f["feature"] or "(none)", "count": f["count"], "average": f["average_rating"]}
                     for f in base["per_feature"][:12]],
        "ratings": [base["distribution"][str(i)] for i in range(1, 6)],
    }
    cache.set(key, result, timeout=CHARTS_CACHE_SECONDS)
    return result


def counts_by_status() -> dict[str, int]:
    """Rows per status for the console header, cached like the statistics."""
    key = BY_STATUS_KEY
    cached = cache.get(key)
    if cached is not None:
        return cached
    out = dict.fromkeys(STATUSES, 0)
    try:
        for status, n in db.session.execute(select(Feedback.status, func.count()).group_by(Feedback.status)):
            out[status] = n
    except SQLAlchemyError:
        db.session.rollback()
        return out
    cache.set(key, out, timeout=STATS_CACHE_SECONDS)
    return out


# --- sites the widget was refused on ------------------------------------------------------------

REFUSED_KEY = "nous:feedback:refused-origins"  # sorted set: origin -> time of its last refusal
REFUSED_COUNTS_KEY = "nous:feedback:refused-origins:counts"  # hash: origin -> refusals
REFUSED_KEEP = 20  # the most recent ones; anyone can send any Origin header, so the list stays small
REFUSED_DAYS = 30
ORIGIN_MAX = 200
_ORIGIN_RE = re.compile(r"^https?://[a-z0-9.-]+(:[0-9]{1,5})?$|^https?://\[[0-9a-f:.]+\](:[0-9]{1,5})?$")
# One refusal, atomically: last time, count, and the oldest entries dropped beyond the bound.
_REFUSED_LUA = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HINCRBY', KEYS[2], ARGV[1], 1)
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[3])
if extra > 0 then
  local gone = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  redis.call('HDEL', KEYS[2], unpack(gone))
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


@dataclass(frozen=True)
class RefusedOrigin:
    origin: str
    count: int
    last: datetime


def web_origin(raw: str) -> str | None:
    """`raw` as an origin a site can be allowed by (https://app.example.com[:port], lower case), or None:
    "null" (sandboxed frames, files), "*", paths, odd characters."""
    raw = (raw or "").strip()
    if not raw or len(raw) > ORIGIN_MAX or raw == "*":
        return None
    try:
        [origin] = setting_types.parse("feedback.widget_origins", [raw])
    except (setting_types.SettingError, ValueError):
        return None
    return origin if _ORIGIN_RE.match(origin) else None


def record_refused_origin(raw: str) -> None:
    """Note that the widget was refused on this site (for the Settings page). Best effort: never raises."""
    origin = web_origin(raw)
    if origin is None:
        return
    conn = get_redis()
    try:
        conn.register_script(_REFUSED_LUA)(keys=[REFUSED_KEY, REFUSED_COUNTS_KEY],
                                           args=[origin, time.time(), REFUSED_KEEP, REFUSED_DAYS * 86400])
    except (redis.RedisError, OSError) as exc:
        log.warning("refused widget origin not recorded: Redis unreachable",
                    extra={"origin": origin, "error": str(exc).splitlines()[0][:200] if str(exc) else ""})


def refused_origins() -> list[RefusedOrigin]:
    """Sites refused in the last 30 days that are still not allowed, the latest first.
    Raises redis.RedisError when Redis is unreachable."""
    conn = get_redis()
    since = time.time() - REFUSED_DAYS * 86400
    with conn.pipeline(transaction=False) as pipe:
        pipe.zrevrangebyscore(REFUSED_KEY, "+inf", since, withscores=True)
        pipe.hgetall(REFUSED_COUNTS_KEY)
        rows, counts = pipe.execute()
    allowed = set(settings.get("feedback.widget_origins"))
    out = []
    for member, score in rows:
        origin = member.decode() if isinstance(member, bytes) else str(member)
        if origin in allowed or "*" in allowed:
            continue
        count = counts.get(member if isinstance(member, bytes) else origin.encode(), b"1")
        out.append(RefusedOrigin(origin, int(count), datetime.fromtimestamp(score, UTC)))
    return out


def allow_origin(raw: str, actor: str, ip: str = "") -> str:
    """Add a site to the setting feedback.widget_origins (audited) and drop it from the refused list.
    Returns the origin as stored; raises ValidationFailed for something that is not a site's origin."""
    origin = web_origin(raw)
    if origin is None:
        raise ValidationFailed({"origin": f"{str(raw)[:100]!r} is not a site's origin like https://app.example.com"})
    current = list(settings.get("feedback.widget_origins"))
    if origin not in current and "*" not in current:
        settings.set_value("feedback.widget_origins", [*current, origin], actor=actor, ip=ip)
    try:
        with get_redis().pipeline() as pipe:
            pipe.zrem(REFUSED_KEY, origin)
            pipe.hdel(REFUSED_COUNTS_KEY, origin)
            pipe.execute()
    except (redis.RedisError, OSError):
        pass  # allowed all the same; the list leaves out allowed sites anyway
    return origin


__all__ = [
    "CATEGORIES",
    "STATUSES",
    "BulkConflict",
    "FeedbackConflict",
    "FeedbackError",
    "Filter",
    "ListPage",
    "Outcome",
    "RefusedOrigin",
    "Submission",
    "ValidationFailed",
    "allow_origin",
    "bulk_status",
    "charts",
    "compute_stats",
    "export_rows",
    "feedback_created",
    "get",
    "latest",
    "list_page",
    "parse_filter",
    "record_refused_origin",
    "refused_origins",
    "reply",
    "set_status",
    "set_tags",
    "stats",
    "submit",
    "validate",
    "web_origin",
]
