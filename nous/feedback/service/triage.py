"""Triage: status (one or many), tags and replies. Each change is audited in the same transaction, refused
(409) when decided on an older state of the feedback than the stored one, and told to live viewers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from nous.audit import service as audit
from nous.clock import utcnow
from nous.email.service import queue_email
from nous.extensions import cache, db
from nous.feedback.models import STATUSES, Feedback, FeedbackReply, FeedbackTag
from nous.feedback.service.announce import live_fields, tell_viewers
from nous.feedback.service.common import (
    EPOCH,
    REPLY_MAX,
    TAGS_PER_FEEDBACK,
    FeedbackConflict,
    FeedbackError,
    target,
    version_of,
)
from nous.feedback.service.figures import invalidate
from nous.feedback.service.queries import KNOWN_TAGS_KEY, normalize_tag, reply_address, require, tags_for
from nous.testers import service as testers
from nous.text import clean_text


def _check_seen(row: Feedback, seen: str | None) -> None:
    """Refuse (409) a change decided on an older state of the feedback than the stored one."""
    if seen is None or seen == "":
        return
    if not (seen.isascii() and seen.isdigit() and len(seen) <= 17):  # µs up to the year 5138: a datetime holds it
        raise FeedbackError("version: the page sent a version that is not one", status=400)
    current = version_of(row)
    if seen == current:
        return
    since = EPOCH + timedelta(microseconds=int(seen))
    changes = [e for e in reversed(audit.query(target=target(row), since=since, limit=20)) if e.target == target(row)]
    raise FeedbackConflict(f"Feedback #{row.id} changed since you opened it; nothing was changed. "
                           "It is shown as it is now.", current=row, changes=changes)


def _selected(ids: list[int]) -> list[Feedback]:
    """The feedback a bulk change names: each id once, at most 200, in id order (so its audit entries and
    events come in the order of the ids)."""
    ids = sorted({i for i in ids if 0 < i < 2**63})[:200]
    return list(db.session.scalars(select(Feedback).where(Feedback.id.in_(ids)).order_by(Feedback.id)))


def _stale(rows: list[Feedback], seen: Mapping[int, str] | None) -> list[Feedback]:
    """The rows a list showed at an older version (`seen`: {id: version}) than the stored one."""
    return [r for r in rows if (seen or {}).get(r.id) not in (None, "", version_of(r))]


# --- status -------------------------------------------------------------------------------------

def _change_status(row: Feedback, status: str, *, actor: str, ip: str) -> dict[str, Any]:
    """Set and audit the status (not committed); returns what the live event needs."""
    audit.record(actor, "feedback.status", target(row), {"status": row.status}, {"status": status}, ip=ip,
                 commit=False)
    row.status = status
    row.updated_at = utcnow()
    return live_fields(row)


def set_status(feedback_id: int, status: str, *, actor: str, ip: str = "",
               expected_version: str | None = None) -> Feedback:
    """Set the status asked for. Asking for the status it already has changes nothing and succeeds;
    another one on a view older than the stored state (`expected_version`, see version_of) is refused (409)."""
    if status not in STATUSES:
        raise FeedbackError(f"status must be one of {', '.join(STATUSES)}")
    row = require(feedback_id)
    if row.status != status:
        _check_seen(row, expected_version)
        fields = _change_status(row, status, actor=actor, ip=ip)
        db.session.commit()
        invalidate()
        tell_viewers("updated", fields["id"], fields, at=utcnow())
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
    changing = [r for r in _selected(ids) if r.status != status]
    if stale := _stale(changing, seen):
        raise BulkConflict(stale)
    changed = [_change_status(row, status, actor=actor, ip=ip) for row in changing]
    db.session.commit()
    if changed:
        invalidate()
        now = utcnow()
        for fields in changed:
            tell_viewers("updated", fields["id"], fields, at=now)
    return len(changed)


# --- tags ---------------------------------------------------------------------------------------

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


def _replace_tags(row: Feedback, before: list[str], tags: list[str], *, actor: str, ip: str,
                  at: datetime) -> dict[str, Any]:
    """Replace and audit the tags (not committed); returns what the live event needs."""
    db.session.execute(delete(FeedbackTag).where(FeedbackTag.feedback_id == row.id))
    db.session.add_all(FeedbackTag(feedback_id=row.id, tag=t, created_at=row.created_at) for t in tags)
    audit.record(actor, "feedback.tags", target(row), {"tags": before}, {"tags": tags}, ip=ip, commit=False)
    row.updated_at = at
    return live_fields(row)


def set_tags(feedback_id: int, raw: str | list[str], *, actor: str, ip: str = "",
             expected_version: str | None = None) -> list[str]:
    """Replace the tags of one feedback; returns the new list. Refused (409) when the feedback changed
    since the version the caller saw, unless the tags asked for are the ones it has."""
    row = require(feedback_id)
    tags = parse_tags(raw)
    before = tags_for([row.id])[row.id]
    if tags != before:
        _check_seen(row, expected_version)
        fields = _replace_tags(row, before, tags, actor=actor, ip=ip, at=utcnow())
        db.session.commit()
        cache.delete(KNOWN_TAGS_KEY.format(50))
        tell_viewers("updated", fields["id"], fields, at=fields["updated_at"])
    return tags


def bulk_tags(ids: list[int], add: list[str], remove: list[str], *, actor: str, ip: str = "",
              seen: Mapping[int, str] | None = None) -> int:
    """Add and/or remove tags on many rows (at most 200), all in one transaction; returns how many changed.
    Refused as a whole when a row would end with too many tags, or (BulkConflict, 409) when a row that would
    change changed since the version in `seen`."""
    adding, removing = parse_tags(add), set(parse_tags(remove))
    rows = _selected(ids)
    current = tags_for([r.id for r in rows])
    wanted = {r.id: sorted((set(current[r.id]) | set(adding)) - removing) for r in rows}
    changing = [r for r in rows if wanted[r.id] != current[r.id]]
    if too_many := [r for r in changing if len(wanted[r.id]) > TAGS_PER_FEEDBACK]:
        raise FeedbackError(f"#{too_many[0].id} would have more than {TAGS_PER_FEEDBACK} tags; nothing was changed")
    if stale := _stale(changing, seen):
        raise BulkConflict(stale)
    now = utcnow()
    changed = [_replace_tags(row, current[row.id], wanted[row.id], actor=actor, ip=ip, at=now) for row in changing]
    db.session.commit()
    if changed:
        cache.delete(KNOWN_TAGS_KEY.format(50))
        for fields in changed:
            tell_viewers("updated", fields["id"], fields, at=now)
    return len(changed)


# --- replies ------------------------------------------------------------------------------------

def reply(feedback_id: int, body: str, *, actor: str, ip: str = "") -> FeedbackReply:
    """Email a reply to whoever sent the feedback (through the email layer's outbox and a job)."""
    row = require(feedback_id)
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
    sent = FeedbackReply(feedback_id=row.id, created_at=utcnow(), sent_by=actor, to_email=to, body=text,
                         email_id=email_id if isinstance(email_id, int) else None)
    db.session.add(sent)
    audit.record(actor, "feedback.reply", target(row), None, {"to": to, "reply": text[:500]}, ip=ip, commit=False)
    fields, replied_at = live_fields(row), sent.created_at
    db.session.commit()
    tell_viewers("replied", fields["id"], fields, at=replied_at, versioned=False)  # other tabs' history
    return sent
