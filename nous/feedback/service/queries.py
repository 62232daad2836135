"""Reading feedback: the console's filter, keyset pages newest first, one row, its tags and replies,
and exports that stream any number of rows."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, tuple_

from nous import inputs
from nous.clock import aware
from nous.extensions import cache, db
from nous.feedback.models import (
    CATEGORIES,
    STATUSES,
    Feedback,
    FeedbackAttachment,
    FeedbackFlag,
    FeedbackReply,
    FeedbackTag,
)
from nous.feedback.service.common import (
    CHARTS_CACHE_SECONDS,
    EMAIL_MAX,
    EPOCH,
    FEATURE_MAX,
    TAG_MAX,
    FeedbackError,
    day_start,
)
from nous.testers import service as testers
from nous.text import clean_text

_CURSOR = re.compile(r"(-?[0-9]{1,17})_([0-9]{1,19})")
FLAG_STATES = ("on", "off")
FLAG_KEY_MAX = 200
VARIANT_MAX = 200
ENVIRONMENT_MAX = 100
KNOWN_TAGS_KEY = "nous:feedback:tags:{}"  # the most used tags, per limit


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
    flag: str = ""  # feedback whose tester had this flag recorded when sending it…
    flag_env: str = ""  # …in this flag environment ("" = the one recorded, whichever)…
    flag_state: str = ""  # …"on" or "off" ("" = either)…
    variant: str = ""  # …with this variant (implies on)

    def as_args(self) -> dict[str, str]:
        """The query-string form, for links that keep the filter (pager, export)."""
        out = {"q": self.q, "rating": str(self.rating or ""), "feature": self.feature, "category": self.category,
               "status": self.status, "tag": self.tag, "email": self.email,
               "tester": str(self.tester_id) if self.tester_id else "",
               "since": self.since.isoformat() if self.since else "",
               "until": self.until.isoformat() if self.until else "",
               "flag": self.flag, "flag_env": self.flag_env if self.flag else "",
               "flag_state": self.flag_state if self.flag else "", "variant": self.variant if self.flag else ""}
        return {k: v for k, v in out.items() if v}

    @property
    def active(self) -> bool:
        return bool(self.as_args())


def normalize_tag(raw: str) -> str:
    tag = " ".join(clean_text(str(raw)).replace("\ufffd", "").split()).lower().strip(" ,#")
    return tag[:TAG_MAX]


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
    flag_state = args.get("flag_state", "").strip()
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
        flag=_word(args.get("flag", ""), FLAG_KEY_MAX),
        flag_env=_word(args.get("flag_env", ""), ENVIRONMENT_MAX),
        flag_state=flag_state if flag_state in FLAG_STATES else "",
        variant=_word(args.get("variant", ""), VARIANT_MAX),
    )


def check_flag_filter(args: Mapping[str, str]) -> None:
    """The flag filters that cannot mean anything together, refused naming the field (InputError, a 400):
    flag_env, flag_state or variant without a flag, and a variant with flag_state=off (a variant is only
    ever served with the flag on)."""
    def given(name: str) -> str:
        value = args.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    needing = [name for name in ("flag_env", "flag_state", "variant") if given(name)]
    if needing and not given("flag"):
        raise inputs.InputError("flag", f"is needed with {' and '.join(needing)}")
    if given("flag_state") == "off" and given("variant"):
        raise inputs.InputError("variant", "means the flag was on: leave it out with flag_state=off")


def _word(raw: Any, limit: int) -> str:
    return clean_text(raw if isinstance(raw, str) else "").strip()[:limit]


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


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
        stmt = stmt.where(Feedback.created_at >= day_start(f.since))
    if f.until:
        stmt = stmt.where(Feedback.created_at < day_start(f.until) + timedelta(days=1))
    if f.q:
        # The message, or the text of one of its files (read from an image, or a log's own): each has its
        # trigram index on PostgreSQL, and the files' matches are one subquery.
        pattern = _like(f.q)
        in_files = select(FeedbackAttachment.feedback_id).where(FeedbackAttachment.text.ilike(pattern, escape="\\"))
        stmt = stmt.where(or_(Feedback.message.ilike(pattern, escape="\\"), Feedback.id.in_(in_files)))
    if f.tag:
        # Driven from the tag's own (tag, created_at, feedback_id) index: see _sort_key().
        stmt = stmt.join(FeedbackTag, FeedbackTag.feedback_id == Feedback.id).where(FeedbackTag.tag == f.tag)
    if f.flag:
        # Driven from the (flag_key, environment, created_at) index of the flags recorded with each feedback
        # (one environment per feedback, so the join adds no row): see _sort_key().
        stmt = stmt.join(FeedbackFlag, FeedbackFlag.feedback_id == Feedback.id).where(FeedbackFlag.flag_key == f.flag)
        if f.flag_env:
            stmt = stmt.where(FeedbackFlag.environment == f.flag_env)
        if f.variant:
            stmt = stmt.where(FeedbackFlag.enabled.is_(True), FeedbackFlag.variant == f.variant)
        elif f.flag_state:
            stmt = stmt.where(FeedbackFlag.enabled.is_(f.flag_state == "on"))
    return stmt


# --- keyset pages -------------------------------------------------------------------------------

def make_cursor(row: Feedback) -> str:
    created = aware(row.created_at) or EPOCH
    delta = created - EPOCH
    micros = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
    return f"{micros}_{row.id}"


def parse_cursor(raw: str | None) -> tuple[datetime, int] | None:
    m = _CURSOR.fullmatch(raw or "")
    if not m:
        return None
    try:
        return EPOCH + timedelta(microseconds=int(m.group(1))), int(m.group(2))
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
    if f.flag:
        return FeedbackFlag.created_at, FeedbackFlag.feedback_id
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


def latest(limit: int = 8) -> list[Feedback]:
    """The newest open feedback (not spam), for the dashboard's panel."""
    return list_page(Filter(), limit=limit).items


# --- one feedback -------------------------------------------------------------------------------

def get(feedback_id: int) -> Feedback | None:
    return db.session.get(Feedback, feedback_id) if 0 < feedback_id < 2**63 else None


def require(feedback_id: int) -> Feedback:
    row = get(feedback_id)
    if row is None:
        raise FeedbackError("no such feedback", status=404)
    return row


def tags_for(ids: list[int]) -> dict[int, list[str]]:
    if not ids:
        return {}
    out: dict[int, list[str]] = {i: [] for i in ids}
    for fid, tag in db.session.execute(select(FeedbackTag.feedback_id, FeedbackTag.tag)
                                       .where(FeedbackTag.feedback_id.in_(ids)).order_by(FeedbackTag.tag)):
        out[fid].append(tag)
    return out


def known_tags(limit: int = 50) -> list[str]:
    """The most used tags (for suggestions), cached for a minute."""
    key = KNOWN_TAGS_KEY.format(limit)
    cached = cache.get(key)
    if cached is None:
        cached = list(db.session.scalars(select(FeedbackTag.tag).group_by(FeedbackTag.tag)
                                         .order_by(func.count().desc(), FeedbackTag.tag).limit(limit)))
        cache.set(key, cached, timeout=CHARTS_CACHE_SECONDS)
    return cached


def replies(feedback_id: int) -> list[FeedbackReply]:
    return list(db.session.scalars(select(FeedbackReply).where(FeedbackReply.feedback_id == feedback_id)
                                   .order_by(FeedbackReply.id)))


def reply_address(row: Feedback) -> str | None:
    if row.email:
        return row.email
    if row.tester_id:
        user = testers.get(row.tester_id)
        return user.email if user else None
    return None


# --- exports ------------------------------------------------------------------------------------

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
