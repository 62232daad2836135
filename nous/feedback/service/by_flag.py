"""What testers felt, by flag: the feedback of testers who had a flag on against those who had it off (and
per variant) over a period, from the flags recorded with each feedback (FeedbackFlag).

    compare("checkout.new-flow", "production", days=30)  # a Comparison: groups, figures, a reading

Each group has its count, the average rating with a 95 % confidence interval (Student's t with n − 1
degrees of freedom), the share of bug reports and the most frequent words and tags of its messages
among the flag's latest SAMPLE. The figures are sums (n, Σ rating, Σ rating², bugs) per group: for the
whole UTC days of the period, once they are over, summed once into feedback_flag_days and read from
there; for the two open ends, from the (flag_key, environment, created_at) index of feedback_flags,
which carries rating and category (they never change). Spam is left out, as on the feedback list
(subtracted from the days' sums, so marking feedback as spam later still counts).

The plain-language reading says "too few to tell" below MIN_GROUP in either group and "no clear
difference" when the two intervals overlap (a cautious test: it never claims a difference that is
not there at 95 %).
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError

from nous import inputs
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback.models import Feedback, FeedbackFlag, FeedbackFlagDay, FeedbackTag
from nous.feedback.service.common import FeedbackError, day_start
from nous.feedback.service.queries import FLAG_KEY_MAX
from nous.flags import service as flags
from nous.settings import service as settings

log = logging.getLogger("nous.feedback")

MIN_GROUP = 10  # below this many feedback in a group, no conclusion is drawn
PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
MAX_DAYS = 3650
SAMPLE = 1000  # the flag's latest messages of the period read for each group's frequent words and tags
TOP_WORDS = 8
TOP_TAGS = 5
CLOSED_AFTER = timedelta(minutes=10)  # a UTC day is summed for good this long after it ended

# Two-sided 95 % critical values of Student's t for 1–30 degrees of freedom (no statistics library in
# the dependencies has the t distribution; beyond 30 the Cornish–Fisher expansion below is exact to 0.001).
_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
_Z975 = 1.959964

# Words that say nothing about how a feature felt (a short English list of our own: the project has no
# language library, and feedback words are counted only to be glanced at).
STOP_WORDS = frozenset("""
a about above after again all also am an and any are aren't as at be because been before being below between
both but by can can't cannot could couldn't did didn't do does doesn't doing don't down during each even ever
every few for from get gets got had hadn't has hasn't have haven't having he her here hers him his how i i'm i've
if in into is isn't it it's its itself just like me more most much my no nor not now of off on once one only or
other our ours out over own please really same she should shouldn't so some still such than that that's the
their theirs them then there these they this those through to too under until up upon us very was wasn't way we
were weren't what when where which while who whom why will with won't would wouldn't you your yours yourself
""".split())
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W_]|[^\W\d_]", re.UNICODE)


def t_critical(df: int) -> float:
    """The two-sided 95 % critical value of Student's t with `df` degrees of freedom."""
    if df < 1:
        return math.inf
    if df <= len(_T975):
        return _T975[df - 1]
    z = _Z975
    return z + (z**3 + z) / (4 * df) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * df**2)


def words_of(text: str) -> list[str]:
    """The words of a message that count: lower case, at least three letters, no stop words."""
    out = []
    for w in _WORD.findall(text.lower().replace("’", "'")):
        w = w.strip("'-")
        if len(w) >= 3 and w not in STOP_WORDS:
            out.append(w)
    return out


@dataclass
class Group:
    """The feedback of one group: the flag `state` ("on", "off") or a variant (`variant`)."""

    label: str
    state: str  # "on" | "off"
    variant: str | None = None
    count: int = 0
    average: float | None = None
    stdev: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    bugs: int = 0
    words: list[tuple[str, int]] = field(default_factory=list)
    tags: list[tuple[str, int]] = field(default_factory=list)

    @property
    def bug_share(self) -> float | None:
        return self.bugs / self.count if self.count else None

    def as_dict(self) -> dict[str, Any]:
        def r(x: float | None, digits: int = 3) -> float | None:
            return None if x is None else round(x, digits)
        return {"label": self.label, "state": self.state, "variant": self.variant, "count": self.count,
                "average_rating": r(self.average), "stdev": r(self.stdev),
                "ci95": None if self.ci_low is None else [r(self.ci_low), r(self.ci_high)],
                "bug_reports": self.bugs, "bug_share": r(self.bug_share),
                "top_words": [{"word": w, "count": n} for w, n in self.words],
                "top_tags": [{"tag": t, "count": n} for t, n in self.tags]}


@dataclass
class Comparison:
    flag: str
    environment: str
    days: int
    since: datetime
    on: Group
    off: Group
    variants: list[Group]
    reading: str
    verdict: str  # "too-few" | "no-clear-difference" | "higher" | "lower"
    variant_reading: str = ""
    min_group: int = MIN_GROUP

    @property
    def total(self) -> int:
        return self.on.count + self.off.count

    def as_dict(self) -> dict[str, Any]:
        return {"flag": self.flag, "environment": self.environment, "days": self.days,
                "since": self.since.isoformat(), "min_group": self.min_group,
                "confidence_interval": "95 %, Student's t with n - 1 degrees of freedom",
                "on": self.on.as_dict(), "off": self.off.as_dict(),
                "variants": [v.as_dict() for v in self.variants],
                "verdict": self.verdict, "reading": self.reading, "variant_reading": self.variant_reading}


def _fill(group: Group, n: int, total: float, squares: float, bugs: int) -> Group:
    """Count, mean, sample standard deviation and the t interval from n, Σx and Σx² (ratings 1–5)."""
    group.count, group.bugs = n, bugs
    if n:
        mean = total / n
        group.average = mean
        if n >= 2:
            var = max(0.0, (squares - n * mean * mean) / (n - 1))
            group.stdev = math.sqrt(var)
            margin = t_critical(n - 1) * group.stdev / math.sqrt(n)
            group.ci_low, group.ci_high = max(1.0, mean - margin), min(5.0, mean + margin)
    return group


def _overlap(a: Group, b: Group) -> bool:
    if None in (a.ci_low, a.ci_high, b.ci_low, b.ci_high):
        return True
    return not (a.ci_low > b.ci_high or b.ci_low > a.ci_high)  # type: ignore[operator]


def _reading(on: Group, off: Group) -> tuple[str, str]:
    if on.count < MIN_GROUP or off.count < MIN_GROUP:
        return ("too-few", f"Too few to tell: {on.count} with the flag on and {off.count} with it off "
                           f"(at least {MIN_GROUP} in each are needed).")
    assert on.average is not None and off.average is not None
    if _overlap(on, off):
        return ("no-clear-difference",
                f"No clear difference: testers with the flag on rated it {on.average:.1f} and with it off "
                f"{off.average:.1f}, and the 95 % intervals overlap.")
    diff = on.average - off.average
    word = "higher" if diff > 0 else "lower"
    return (word, f"Testers with the flag on rated it {abs(diff):.1f} {word} "
                  f"({on.average:.1f} vs {off.average:.1f}).")


def _variant_reading(variants: list[Group]) -> str:
    enough = [v for v in variants if v.count >= MIN_GROUP and v.average is not None]
    if len(variants) < 2:
        return ""
    if len(enough) < 2:
        return "Variants: too few to tell."
    best = max(enough, key=lambda v: v.average or 0)
    worst = min(enough, key=lambda v: v.average or 0)
    if _overlap(best, worst):
        return "Variants: no clear difference between them."
    return (f"Variant {best.variant} was rated {best.average - worst.average:.1f} higher than "  # type: ignore[operator]
            f"{worst.variant} ({best.average:.1f} vs {worst.average:.1f}).")


def _not_spam(since: datetime) -> Any:
    """Leaves spam out: the spam of the period is few rows of the (status, created_at) index, so the
    database holds their ids in a hash rather than probing the feedback of every row."""
    spam = select(Feedback.id).where(Feedback.status == "spam", Feedback.created_at >= since)
    return FeedbackFlag.feedback_id.not_in(spam)


def _where(flag_key: str, environment: str, since: datetime) -> Any:
    return and_(FeedbackFlag.flag_key == flag_key, FeedbackFlag.environment == environment,
                FeedbackFlag.created_at >= since, _not_spam(since))


def _top(items: list[str], limit: int) -> list[tuple[str, int]]:
    return sorted(Counter(items).items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def _texts(flag_key: str, environment: str, since: datetime, groups: list[Group]) -> None:
    """Each group's most frequent words and tags among the flag's latest SAMPLE messages of the period
    (spam left out): one walk of the flag's index newest first for the messages, one query for their tags."""
    rows = db.session.execute(
        select(FeedbackFlag.enabled, FeedbackFlag.variant, Feedback.id, Feedback.message)
        .join(Feedback, Feedback.id == FeedbackFlag.feedback_id)
        .where(FeedbackFlag.flag_key == flag_key, FeedbackFlag.environment == environment,
               FeedbackFlag.created_at >= since, Feedback.status != "spam")
        .order_by(FeedbackFlag.created_at.desc()).limit(SAMPLE)).all()
    if not rows:
        return
    tags_of: dict[int, list[str]] = defaultdict(list)
    for fid, tag in db.session.execute(select(FeedbackTag.feedback_id, FeedbackTag.tag)
                                       .where(FeedbackTag.feedback_id.in_([r[2] for r in rows]))):
        tags_of[fid].append(tag)
    for g in groups:
        mine = [r for r in rows if bool(r[0]) == (g.state == "on") and (g.variant is None or r[1] == g.variant)]
        g.words = _top([w for r in mine for w in set(words_of(r[3] or ""))], TOP_WORDS)
        g.tags = _top([t for r in mine for t in tags_of[r[2]]], TOP_TAGS)


Sums = dict[tuple[bool, str | None], list[int]]  # (enabled, variant) → [n, Σ rating, Σ rating², bugs]


def _add(into: Sums, enabled: Any, variant: Any, n: Any, total: Any, squares: Any, bugs: Any,
         sign: int = 1) -> None:
    got = into.setdefault((bool(enabled), variant or None), [0, 0, 0, 0])
    for i, v in enumerate((n, total, squares, bugs)):
        got[i] += sign * int(v or 0)


def _is_bug(column: Any) -> Any:
    return case((column == "bug", 1), else_=0)


def _live(into: Sums, flag_key: str, environment: str, start: datetime, end: datetime) -> None:
    """Sums over [start, end) straight from feedback_flags' index (spam left out)."""
    r = FeedbackFlag.rating
    stmt = (select(FeedbackFlag.enabled, FeedbackFlag.variant, func.count(), func.sum(r), func.sum(r * r),
                   func.sum(_is_bug(FeedbackFlag.category)))
            .where(_where(flag_key, environment, start), FeedbackFlag.created_at < end)
            .group_by(FeedbackFlag.enabled, FeedbackFlag.variant))
    for row in db.session.execute(stmt):
        _add(into, *row)


def _day_of(column: Any) -> Any:
    """The UTC calendar day of a stored time, in the database's own terms."""
    if db.engine.dialect.name == "postgresql":
        return func.date(func.timezone("UTC", column))
    return func.date(column)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _fill_days(flag_key: str, environment: str, first: date, last: date) -> None:
    """Sum the closed days first..last not summed yet (one GROUP BY over their range), on a connection of
    its own; two callers summing the same day at once store it once (ON CONFLICT DO NOTHING)."""
    done = set(map(_as_date, db.session.scalars(
        select(FeedbackFlagDay.day).where(FeedbackFlagDay.flag_key == flag_key,
                                          FeedbackFlagDay.environment == environment,
                                          FeedbackFlagDay.day >= first, FeedbackFlagDay.day <= last,
                                          FeedbackFlagDay.enabled.is_(False), FeedbackFlagDay.variant == ""))))
    missing = [first + timedelta(days=i) for i in range((last - first).days + 1)
               if first + timedelta(days=i) not in done]
    if not missing:
        return
    r = FeedbackFlag.rating
    day = _day_of(FeedbackFlag.created_at)
    stmt = (select(day, FeedbackFlag.enabled, FeedbackFlag.variant, func.count(), func.sum(r), func.sum(r * r),
                   func.sum(_is_bug(FeedbackFlag.category)))
            .where(FeedbackFlag.flag_key == flag_key, FeedbackFlag.environment == environment,
                   FeedbackFlag.created_at >= day_start(missing[0]),
                   FeedbackFlag.created_at < day_start(missing[-1] + timedelta(days=1)))
            .group_by(day, FeedbackFlag.enabled, FeedbackFlag.variant))
    wanted = set(missing)
    rows: dict[tuple[date, bool, str], dict[str, Any]] = {
        (d, False, ""): {"flag_key": flag_key, "environment": environment, "day": d, "enabled": False,
                         "variant": "", "n": 0, "total": 0, "squares": 0, "bugs": 0} for d in missing}
    for raw_day, enabled, variant, n, total, squares, bugs in db.session.execute(stmt):
        d = _as_date(raw_day)
        if d in wanted:
            rows[(d, bool(enabled), variant or "")] = {
                "flag_key": flag_key, "environment": environment, "day": d, "enabled": bool(enabled),
                "variant": variant or "", "n": int(n), "total": int(total or 0), "squares": int(squares or 0),
                "bugs": int(bugs or 0)}
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    with db.engine.begin() as conn:
        conn.execute(insert(FeedbackFlagDay).on_conflict_do_nothing(), list(rows.values()))


def _closed(into: Sums, flag_key: str, environment: str, first: date, last: date) -> None:
    """Sums over the closed days first..last: their stored sums, less the spam among them."""
    try:
        _fill_days(flag_key, environment, first, last)
    except SQLAlchemyError:  # cannot store them now (read-only replica, lock): sum the feedback itself
        log.warning("feedback by flag: days not summed, reading them whole", exc_info=True)
        db.session.rollback()
        _live(into, flag_key, environment, day_start(first), day_start(last + timedelta(days=1)))
        return
    d = FeedbackFlagDay
    stmt = (select(d.enabled, d.variant, func.sum(d.n), func.sum(d.total), func.sum(d.squares), func.sum(d.bugs))
            .where(d.flag_key == flag_key, d.environment == environment, d.day >= first, d.day <= last)
            .group_by(d.enabled, d.variant))
    for enabled, variant, *figures in db.session.execute(stmt):
        _add(into, enabled, variant, *figures)
    # Spam is the one thing about a feedback that changes: the period's few spam rows are subtracted.
    r = FeedbackFlag.rating
    spam = (select(FeedbackFlag.enabled, FeedbackFlag.variant, func.count(), func.sum(r), func.sum(r * r),
                   func.sum(_is_bug(FeedbackFlag.category)))
            .join(Feedback, and_(Feedback.id == FeedbackFlag.feedback_id))
            .where(Feedback.status == "spam", Feedback.created_at >= day_start(first),
                   Feedback.created_at < day_start(last + timedelta(days=1)),
                   FeedbackFlag.flag_key == flag_key, FeedbackFlag.environment == environment)
            .group_by(FeedbackFlag.enabled, FeedbackFlag.variant))
    for row in db.session.execute(spam):
        _add(into, *row, sign=-1)


def _sums(flag_key: str, environment: str, since: datetime, now: datetime) -> Sums:
    """Sums per (enabled, variant) over [since, now): the whole UTC days closed CLOSED_AFTER ago from
    feedback_flag_days, the two open ends from feedback_flags."""
    out: Sums = {}
    first = since.date() if since == day_start(since.date()) else since.date() + timedelta(days=1)
    last = (now - CLOSED_AFTER).date() - timedelta(days=1)
    if first > last:
        _live(out, flag_key, environment, since, now)
        return out
    _live(out, flag_key, environment, since, day_start(first))
    _closed(out, flag_key, environment, first, last)
    _live(out, flag_key, environment, day_start(last + timedelta(days=1)), now)
    return out


def compare(flag_key: str, environment: str, days: int = DEFAULT_DAYS, *, now: datetime | None = None) -> Comparison:
    """The feedback of the last `days` days from testers with `flag_key` on against off in
    `environment` (as recorded when each was sent), and per variant. Checking that the flag and the
    environment exist is the caller's (the flags service's)."""
    days = max(1, min(int(days), MAX_DAYS))
    now = now or utcnow()
    since = now - timedelta(days=days)
    on_sums, off_sums = [0, 0, 0, 0], [0, 0, 0, 0]
    variants: list[Group] = []
    for (enabled, variant), (n, total, squares, bugs) in sorted(
            _sums(flag_key, environment, since, now).items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if n <= 0:
            continue
        sums = on_sums if enabled else off_sums
        for i, v in enumerate((n, total, squares, bugs)):
            sums[i] += v
        if enabled and variant is not None:
            variants.append(_fill(Group(label=f"variant {variant}", state="on", variant=variant),
                                  n, total, squares, bugs))
    on = _fill(Group(label="on", state="on"), *on_sums)
    off = _fill(Group(label="off", state="off"), *off_sums)
    _texts(flag_key, environment, since, [on, off, *variants])
    verdict, reading = _reading(on, off)
    return Comparison(flag=flag_key, environment=environment, days=days, since=since, on=on, off=off,
                      variants=variants, reading=reading, verdict=verdict,
                      variant_reading=_variant_reading(variants))


class ComparisonRefused(FeedbackError):
    """A comparison that cannot be made: `errors` names the field at fault (flag, environment, days)."""

    def __init__(self, message: str, errors: dict[str, str], status: int = 400) -> None:
        super().__init__(message, status=status)
        self.errors = errors


def compare_flag(flag_key: str, environment: Any = None, days: Any = None) -> Comparison:
    """compare() for input as a client sends it: the environment and period checked (400 naming the
    field), the flag looked up (404 when there is none; an archived flag still has its history)."""
    try:
        period = inputs.parse_int(None if days is None else str(days), "days", default=DEFAULT_DAYS, minimum=1,
                                 maximum=MAX_DAYS)
    except inputs.InputError as exc:
        raise ComparisonRefused(f"days must be a whole number of days from 1 to {MAX_DAYS}.", exc.errors) from None
    try:
        flag = flags.get_flag(flag_key, environment=environment or str(settings.get("flags.environment")))
    except flags.FlagNotFound:
        raise ComparisonRefused(f"There is no flag {str(flag_key)[:FLAG_KEY_MAX]!r}.", {"flag": "no such flag"},
                                status=404) from None
    except flags.FlagError as exc:  # an unknown environment, asked for or named by the setting
        raise ComparisonRefused(exc.message, exc.errors) from None
    return compare(flag.key, flag.environment, period)
