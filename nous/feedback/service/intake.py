"""Submissions from the widget and the public API: validate each field, drop bots, store the row, find or
make its tester, and tell the rest of the app."""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis
from sqlalchemy import Boolean, String, bindparam, func, select, text, true, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.exc import SQLAlchemyError

from nous import flags, inputs
from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.feedback.models import CATEGORIES, Feedback, FeedbackAttachment, FeedbackFlag
from nous.feedback.service import attachments as files
from nous.feedback.service import resends
from nous.feedback.service.announce import announce_created, feedback_created, tell_viewers
from nous.feedback.service.common import (
    APP_VERSION_MAX,
    EMAIL_MAX,
    FEATURE_MAX,
    HONEYPOT_FIELD,
    MESSAGE_MAX,
    PAGE_URL_MAX,
    PAGE_URL_PATTERN,
    USER_AGENT_MAX,
    VIEWPORT_PATTERN,
    FeedbackError,
    ValidationFailed,
)
from nous.feedback.service.figures import header_changed
from nous.jobs import service as jobs
from nous.settings import service as settings
from nous.testers import service as testers
from nous.text import clean_text, is_email

log = logging.getLogger("nous.feedback")

_VISIBLE = re.compile(r"[^\s\x00-\x08\x0e-\x1f\x7f\ufffd\ud800-\udfff]")  # MESSAGE_PATTERN, lone surrogates too
_DIGITS = re.compile(r"[0-9]{1,12}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


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


# --- one step per field: the value to store, or _Invalid with the field's message -------------------

class _Invalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


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


def _rating(value: Any, from_form: bool) -> int:
    if _blank(value):
        raise _Invalid("is required")
    rating = _integer(value, from_form)
    if rating is None or not 1 <= rating <= 5:
        raise _Invalid("must be a whole number from 1 to 5")
    return rating


def _message(value: Any, from_form: bool) -> str:
    if _blank(value):
        raise _Invalid("is required")
    if not isinstance(value, str):
        raise _Invalid("must be text")
    if len(value) > MESSAGE_MAX:
        raise _Invalid(f"must be at most {MESSAGE_MAX} characters (got {len(value)})")
    if not _VISIBLE.search(value):
        raise _Invalid("must not be empty")
    return clean_text(value).strip()


def _category(value: Any, from_form: bool) -> str:
    if _blank(value):
        raise _Invalid("is required")
    if value not in CATEGORIES:
        raise _Invalid(f"must be one of {', '.join(CATEGORIES)}")
    return value


def _optional_text(limit: int) -> Callable[[Any, bool], str | None]:
    def step(value: Any, from_form: bool) -> str | None:
        if _blank(value):
            return None
        if not isinstance(value, str):
            raise _Invalid("must be text")
        if len(value) > limit:
            raise _Invalid(f"must be at most {limit} characters")
        return clean_text(value).strip() or None
    return step


def _email(value: Any, from_form: bool) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str) or len(value) > EMAIL_MAX or not is_email(value.strip()):
        raise _Invalid("must be a valid email address")
    return value.strip().lower()


def _page_url(value: Any, from_form: bool) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str) or len(value) > PAGE_URL_MAX or not re.search(PAGE_URL_PATTERN, value):
        raise _Invalid(f"must be an http(s) URL of at most {PAGE_URL_MAX} characters")
    return clean_text(value).strip()


def _viewport(value: Any, from_form: bool) -> str | None:
    if _blank(value):
        return None
    if not isinstance(value, str) or not re.search(VIEWPORT_PATTERN, value):
        raise _Invalid("must look like 1280x720 (width x height in CSS pixels)")
    return value.strip()


def _tester_id(value: Any, from_form: bool) -> uuid.UUID | None:
    if _blank(value):
        return None
    if isinstance(value, str) and _UUID.fullmatch(value):
        return uuid.UUID(value)
    raise _Invalid("must be a tester id (a UUID like 0b7e…-…)")


def _honeypot(value: Any, from_form: bool) -> bool:
    if not _blank(value) and not isinstance(value, str):
        raise _Invalid("must be text")
    return not _blank(value)


def _elapsed(value: Any, from_form: bool) -> float | None:
    if _blank(value):
        return None
    elapsed = _number(value, from_form)
    if elapsed is None or elapsed < 0:
        raise _Invalid("must be a number of milliseconds, 0 or more")
    return elapsed


# (field in the submission, attribute of Submission, its step), in the order errors are reported
_FIELDS: tuple[tuple[str, str, Callable[[Any, bool], Any]], ...] = (
    ("rating", "rating", _rating),
    ("message", "message", _message),
    ("category", "category", _category),
    ("feature", "feature", _optional_text(FEATURE_MAX)),
    ("app_version", "app_version", _optional_text(APP_VERSION_MAX)),
    ("email", "email", _email),
    ("page_url", "page_url", _page_url),
    ("viewport", "viewport", _viewport),
    ("tester_id", "tester_id", _tester_id),
    (HONEYPOT_FIELD, "honeypot", _honeypot),
    ("elapsed_ms", "elapsed_ms", _elapsed),
)


def validate(data: Mapping[str, Any], *, from_form: bool = False) -> Submission:
    """A submission from a JSON object or a form; ValidationFailed with a message per bad field."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for field, attribute, step in _FIELDS:
        try:
            values[attribute] = step(data.get(field), from_form)
        except _Invalid as exc:
            errors[field] = exc.message
    if errors:
        raise ValidationFailed(errors)
    return Submission(**values)


# --- storing ------------------------------------------------------------------------------------

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


def submit(data: Mapping[str, Any], *, from_form: bool = False, user_agent: str = "",
           uploads: Sequence[files.Upload] = (), idempotency_key: str | None = None,
           fingerprint: str = "") -> Outcome:
    """`store` once per `idempotency_key` (see `resends`): a submission sent again with the key of one that
    was stored is answered with that one's id (reason "resent") and stores nothing. `fingerprint` tells it
    from another submission under the same key (idempotency.Reused). Raises idempotency.InProgress while
    the first is being stored."""
    claim = resends.take(idempotency_key, fingerprint) if idempotency_key is not None else None
    if claim is None:
        return store(data, from_form=from_form, user_agent=user_agent, uploads=uploads)
    if claim.kept:
        return Outcome(id=claim.kept["id"], stored=False, reason="resent")
    try:
        outcome = store(data, from_form=from_form, user_agent=user_agent, uploads=uploads)
    except BaseException:
        claim.forget()  # refused (or failed): the same key with corrected fields is a new try
        raise
    claim.keep({"id": outcome.id})
    return outcome


def store(data: Mapping[str, Any], *, from_form: bool = False, user_agent: str = "",
          uploads: Sequence[files.Upload] = ()) -> Outcome:
    """Validate and store one submission, with its files (`uploads`). Bots (honeypot filled, sent faster
    than the setting `feedback.min_submit_ms`) get an Outcome that looks the same but stores nothing.

    The fields and every file are checked before anything is written: one bad field or refused file
    refuses the whole submission (ValidationFailed, a message per field or file). The row and the flags its
    tester has (`flag_rows`) are committed together on a connection of its own, whatever the caller's
    session holds, with its files when there are some (the flags in a savepoint: they never cost the row).
    Then live viewers and the workflows hear of it; with images, the workflows hear of it once their
    text is read (`read_attachment_text`)."""
    errors: dict[str, str] = {}
    sub: Submission | None = None
    try:
        sub = validate(data, from_form=from_form)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    reason = _bot_reason(sub, int(settings.get("feedback.min_submit_ms"))) if sub is not None else ""
    if reason:  # before the files: a bot's are not worth decoding
        log.info("feedback dropped as a bot", extra={"reason": reason})
        return Outcome(id=secrets.randbelow(2**31 - 1) + 1, stored=False, reason=reason)
    prepared: list[files.Prepared] = []
    try:
        prepared = files.prepare(uploads)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    if errors or sub is None:
        raise ValidationFailed(errors)
    now = utcnow()
    values = {"created_at": now, "updated_at": now, "rating": sub.rating, "message": sub.message,
              "feature": sub.feature, "category": sub.category, "status": "new", "email": sub.email,
              "page_url": sub.page_url, "user_agent": clean_text(user_agent[:USER_AGENT_MAX]) or None,
              "viewport": sub.viewport, "app_version": sub.app_version}
    # One Core INSERT … RETURNING that also finds the tester (a subquery), and the flags the tester has:
    # the public API's hot path costs one commit (one WAL flush, what a write costs most), one or two
    # statements on PostgreSQL (`_store_with_flags`), and skips the ORM's unit of work.
    by = "id" if sub.tester_id is not None else "email" if sub.email else ""
    params = {**values, "tester_ref": sub.tester_id if by == "id" else sub.email}
    # The flags the tester has are recorded with the row; a new address's are recorded once its tester
    # exists (below), so that they are evaluated for the tester id its apps will be asked about with.
    if prepared:
        with db.engine.begin() as conn:  # the row and its files stand or fall together
            feedback_id, tester_id = conn.execute(_insert_statement(by), params).one()
            conn.execute(FeedbackAttachment.__table__.insert(), files.rows_for(feedback_id, tester_id, prepared, now))
            if tester_id is not None:
                testers.touch_seen(tester_id, now, conn=conn)
            if tester_id is not None or not sub.email:
                _record_flags(conn, feedback_id, tester_id, sub, values)
    else:
        feedback_id, tester_id = _store_with_flags(by, params, sub, values)
    if sub.tester_id is not None and tester_id is None:
        log.info("feedback names an unknown tester id; stored without it", extra={"tester_id": str(sub.tester_id)})
    if tester_id is None and sub.email:  # an address seen for the first time: a new tester, not invited
        tester_id = _link_new_tester(feedback_id, sub.email, now, with_files=bool(prepared))
        _record_flags(None, feedback_id, tester_id, sub, values)
    tell_viewers("created", feedback_id, values)
    header_changed()
    if any(p.kind == "image" for p in prepared):
        # The workflows hear of it when the text is read: by this job, or by the one the sweep queues when
        # this one cannot be queued now (telling them now as well would start their runs twice).
        _queue_text_reading(feedback_id)
        return Outcome(id=feedback_id, stored=True)
    if feedback_created.receivers:
        event = Feedback(id=feedback_id, tester_id=tester_id, **values).as_dict()
        event["attachments"] = files.for_event(feedback_id) if prepared else []
        announce_created(event)
    return Outcome(id=feedback_id, stored=True)


def flag_context(tester_id: uuid.UUID | None, email: str | None, app_version: str | None,
                 page_url: str | None, environment: str) -> dict[str, Any]:
    """The flag context of a tester sending feedback, as NOUS's apps would send it: userId is the tester's
    id (their address while they have no tester record), and email, appVersion and the page (`page`,
    also as `url`) are properties."""
    properties = {name: value for name, value in (("email", email), ("appVersion", app_version),
                                                   ("page", page_url), ("url", page_url)) if value}
    context: dict[str, Any] = {"environment": environment, "properties": properties}
    user_id = str(tester_id) if tester_id is not None else email
    if user_id:
        context["userId"] = user_id
    return context


def flag_rows(feedback_id: int, tester_id: uuid.UUID | None, email: str | None, values: Mapping[str, Any],
              environment: str | None = None) -> list[dict[str, Any]]:
    """A feedback_flags row for every flag that is not archived, as the tester has it now in `environment`
    (the setting `flags.environment` by default): evaluated in this process, no I/O of its own. The answers
    are recorded, not asked for by an app: they are not added to the flags' evaluation counts."""
    environment = environment or str(settings.get("flags.environment"))
    context = flag_context(tester_id, email, values.get("app_version"), values.get("page_url"), environment)
    rows = []
    for key, result in flags.evaluate_all(context, environment=environment, counted=False).items():
        variant = result.get("variant") or {}
        name = variant.get("name") if variant.get("enabled") else None
        rows.append({"feedback_id": feedback_id, "environment": environment, "flag_key": key[:200],
                     "enabled": bool(result.get("enabled")),
                     "variant": name[:200] if isinstance(name, str) and name != "disabled" else None,
                     "created_at": values["created_at"], "rating": values["rating"], "category": values["category"]})
    return rows


def _flags_for(feedback_id: int, tester_id: uuid.UUID | None, sub: Submission,
               values: Mapping[str, Any]) -> list[dict[str, Any]]:
    """flag_rows(), or none when the flags cannot be evaluated (logged): that never costs a submission.
    Evaluated for the tester's id, else for the id the submission named: one the server does not know is
    stored without a tester, but it is the id the tester's apps ask for their flags with."""
    try:
        return flag_rows(feedback_id, tester_id if tester_id is not None else sub.tester_id, sub.email, values)
    except Exception:  # evaluation must never cost a submission
        log.exception("feedback stored without its flags: they could not be evaluated",
                      extra={"feedback_id": feedback_id})
        return []


def _store_with_flags(by: str, params: dict[str, Any], sub: Submission,
                      values: Mapping[str, Any]) -> tuple[int, uuid.UUID | None]:
    """The row and the flags its tester has, on a connection of its own.

    PostgreSQL: each statement commits by itself (autocommit), so the hot path sends no BEGIN and no
    COMMIT: one statement when the flags are known before the row (a tester id, or no tester), else the
    row, then its flags. Once the row is stored, what follows (the flags, the tester's last visit) can
    only be lost with a log line: failing the request then would have the widget send a stored note again.
    SQLite: one transaction (a commit there is a write to the disk, not a round trip)."""
    if db.engine.dialect.name != "postgresql":
        return _store_in_transaction(by, params, sub, values)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        stored = _store_with_known_flags(conn, by, params, sub, values) if not sub.email else None
        feedback_id, tester_id = stored or conn.execute(_insert_statement(by), params).one()
        try:
            if tester_id is not None:
                testers.touch_seen(tester_id, values["created_at"], conn=conn)
            if sub.email and tester_id is not None:  # without an address they were evaluated before the row
                rows = _flags_for(feedback_id, tester_id, sub, values)
                if rows:
                    _insert_flags(conn, rows)
        except SQLAlchemyError:
            log.exception("feedback stored without its flags or its tester's last visit: they could not be "
                          "written", extra={"feedback_id": feedback_id})
    return feedback_id, tester_id


def _store_with_known_flags(conn: Any, by: str, params: dict[str, Any], sub: Submission,
                            values: Mapping[str, Any]) -> tuple[int, uuid.UUID | None] | None:
    """A tester id (or none) and no address: the flags are known before the row, and both go in one
    statement (None when there are no flags to record, or they could not be written: the row goes alone).
    With an address, an unknown id makes a new tester: its flags wait for it (`store`)."""
    rows = _flags_for(0, sub.tester_id, sub, values)
    if not rows:
        return None
    try:
        return conn.execute(_with_flags_statement(by), {**params, **_arrays(rows)}).one()
    except SQLAlchemyError:
        log.exception("feedback stored without its flags: they could not be written")
        return None


def _store_in_transaction(by: str, params: dict[str, Any], sub: Submission,
                          values: Mapping[str, Any]) -> tuple[int, uuid.UUID | None]:
    """The row and its flags in one transaction. Should the flags not be written, the transaction is lost
    with them: the row is then stored again, alone (no savepoint for a failure that should never happen)."""
    now = values["created_at"]
    with db.engine.connect() as conn:
        feedback_id, tester_id = conn.execute(_insert_statement(by), params).one()
        if tester_id is not None:
            testers.touch_seen(tester_id, now, conn=conn)
        rows = _flags_for(feedback_id, tester_id, sub, values) if tester_id is not None or not sub.email else []
        if rows:
            try:
                _insert_flags(conn, rows)
            except SQLAlchemyError:
                log.exception("feedback stored without its flags: they could not be written",
                              extra={"feedback_id": feedback_id})
                conn.rollback()
                feedback_id, tester_id = conn.execute(_insert_statement(by), params).one()
                if tester_id is not None:
                    testers.touch_seen(tester_id, now, conn=conn)
        conn.commit()
    return feedback_id, tester_id


def _record_flags(conn: Any, feedback_id: int, tester_id: uuid.UUID | None, sub: Submission,
                  values: Mapping[str, Any]) -> None:
    """Store the flags the tester has with the feedback already stored: in a savepoint of the transaction
    that stored it with its files (`conn`), or, once a new address's tester exists, on a connection of their
    own (`conn` None). Flags that cannot be evaluated or stored cost the feedback nothing (logged)."""
    rows = _flags_for(feedback_id, tester_id, sub, values)
    if not rows:
        return
    try:
        if conn is None:
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as own:
                _insert_flags(own, rows)
        else:
            with conn.begin_nested():  # a failure here must not undo the row
                _insert_flags(conn, rows)
    except SQLAlchemyError:
        log.exception("feedback stored without its flags: they could not be written",
                      extra={"feedback_id": feedback_id})


# On PostgreSQL the rows go as three arrays unnested by the server: a handful of parameters whatever the
# number of flags, so the web process spends next to nothing on them (a multi-row VALUES binds 8 a flag).
_FLAGS_FROM_ARRAYS = text(
    "INSERT INTO feedback_flags (feedback_id, environment, flag_key, enabled, variant, created_at, rating, category) "
    "SELECT :feedback_id, :environment, f.key, f.enabled, f.variant, :created_at, :rating, :category "
    "FROM unnest(CAST(:keys AS varchar[]), CAST(:enabled AS boolean[]), CAST(:variants AS varchar[])) "
    "AS f(key, enabled, variant)"
).bindparams(bindparam("created_at", type_=FeedbackFlag.__table__.c.created_at.type))


def _arrays(rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {"flag_environment": rows[0]["environment"], "flag_keys": [r["flag_key"] for r in rows],
            "flag_enabled": [r["enabled"] for r in rows], "flag_variants": [r["variant"] for r in rows]}


_with_flags: dict[str, Any] = {}


def _with_flags_statement(by: str) -> Any:
    """PostgreSQL: WITH fb AS (INSERT INTO feedback … RETURNING …), fl AS (INSERT INTO feedback_flags SELECT
    … FROM fb, unnest(keys, enabled, variants)) SELECT id, tester_id FROM fb — the row and its flags in one
    statement and one commit, for a tester known by id (or none), built once per way of finding it."""
    stmt = _with_flags.get(by)
    if stmt is None:
        table, ff = Feedback.__table__, FeedbackFlag.__table__
        ref = bindparam("tester_ref", type_=table.c.tester_id.type)
        fb = table.insert().values(
            **{c: bindparam(c, type_=table.c[c].type) for c in _INSERT_COLUMNS},
            tester_id=testers.tester_subquery_for(by, ref),
        ).returning(table.c.id, table.c.tester_id, table.c.created_at, table.c.rating, table.c.category).cte("fb")
        f = func.unnest(bindparam("flag_keys", type_=ARRAY(String())),
                        bindparam("flag_enabled", type_=ARRAY(Boolean())),
                        bindparam("flag_variants", type_=ARRAY(String()))).table_valued(
            "key", "enabled", "variant").render_derived("f")
        rows = select(fb.c.id, bindparam("flag_environment", type_=ff.c.environment.type), f.c.key, f.c.enabled,
                      f.c.variant, fb.c.created_at, fb.c.rating, fb.c.category).select_from(fb).join(f, true())
        flags_cte = ff.insert().from_select(
            ["feedback_id", "environment", "flag_key", "enabled", "variant", "created_at", "rating", "category"],
            rows).cte("fl")
        stmt = _with_flags[by] = select(fb.c.id, fb.c.tester_id).add_cte(flags_cte)
    return stmt


def _insert_flags(conn: Any, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "postgresql":
        conn.execute(FeedbackFlag.__table__.insert(), rows)
        return
    first = rows[0]
    conn.execute(_FLAGS_FROM_ARRAYS, {
        "feedback_id": first["feedback_id"], "environment": first["environment"], "created_at": first["created_at"],
        "rating": first["rating"], "category": first["category"], "keys": [r["flag_key"] for r in rows],
        "enabled": [r["enabled"] for r in rows], "variants": [r["variant"] for r in rows]})


def read_text_again(attachment_id: int, actor: str, ip: str = "") -> FeedbackAttachment | None:
    """Read an image's text again when its reading ended without it ("failed": Tesseract could not read it
    or ran out of time; "unavailable": Tesseract was not installed then). Audited on its feedback; the
    workflows are not told again. Returns the row as it is now (None when there is no such file); its
    status stays as it was, and nothing is changed, when it need not be read again or the job cannot be
    queued now (Redis down: FeedbackError)."""
    row = files.get(attachment_id)
    if row is None or not row.can_read_again:
        return row
    before = row.text_status
    db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == row.id,
                                                        FeedbackAttachment.text_status == before)
                       .values(text_status="pending"))
    db.session.commit()  # pending before the job can run, or it would find nothing to read
    if not _queue_text_reading(row.feedback_id, announce=False):
        db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.id == row.id,
                                                            FeedbackAttachment.text_status == "pending")
                           .values(text_status=before))
        db.session.commit()
        raise FeedbackError("The text cannot be read again now: the job queue (Redis) is unavailable. "
                            "Try again in a moment.", status=503)
    audit.record(actor, "feedback.attachment.read_again", f"feedback:{row.feedback_id}",
                 {"attachment": row.id, "filename": row.filename, "text_status": before}, None, ip=ip)
    db.session.refresh(row)
    return row


def _queue_text_reading(feedback_id: int, announce: bool = True) -> bool:
    """Queue the job that reads the text in the feedback's images; False when it cannot be queued now
    (Redis down): the feedback stands, and the hourly sweep queues it later."""
    try:
        jobs.enqueue("feedback.read_attachment_text", feedback_id, *(() if announce else (False,)))
        return True
    except (redis.RedisError, OSError, SQLAlchemyError) as exc:
        db.session.rollback()
        log.warning("text reading of attachments not queued; the sweep will queue it",
                    extra={"feedback_id": feedback_id, "error": str(exc)[:200]})
        return False


def read_attachment_text(feedback_id: int, announce: bool = True) -> dict[str, int]:
    """The background job's work: read the text in the feedback's images, then tell the workflows that
    the feedback was created, with `feedback.attachments[*].text` (unless another job already did, or
    this is a reading again, `announce=False`: they were told when the feedback came)."""
    counts = files.read_text(feedback_id)
    if announce and sum(counts.values()):
        files.announce_when_read(feedback_id)
    return counts


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


def _link_new_tester(feedback_id: int, email: str, now: datetime, with_files: bool = False) -> uuid.UUID | None:
    """The feedback is stored; now the tester record for its new address and the link to it, in a
    transaction of their own. Should that fail, the feedback stays stored without the link (logged)."""
    table = Feedback.__table__
    try:
        tester_id = testers.tester_for_feedback(email)
        db.session.execute(table.update().where(table.c.id == feedback_id).values(tester_id=tester_id))
        if with_files:  # removing the tester removes their files (see FeedbackAttachment)
            db.session.execute(update(FeedbackAttachment).where(FeedbackAttachment.feedback_id == feedback_id)
                               .values(tester_id=tester_id))
        testers.touch_seen(tester_id, now)
        db.session.commit()
        return tester_id
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("feedback stored, but no tester record made for its address", extra={"feedback_id": feedback_id})
        return None
