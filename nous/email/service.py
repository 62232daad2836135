"""Email: render a Jinja template (HTML + text), keep it in the outbox, send it from a job over SMTP.

    from nous.email.service import queue_email
    outbox_id = queue_email("tester@example.com", "invite", {"invite_url": url, "email": addr})

Every message is a row in `email_outbox` before anything is sent, and stays there with its fate:
sent, failed (with the reason) or kept (no SMTP configured: the message is logged instead). The
send job retries on connection trouble; a message refused for good (5xx) fails at once.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import time
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Any

import redis
from flask import current_app
from rq import get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import func, select

from nous.audit import service as audit
from nous.clock import utcnow
from nous.email.models import FAILED, KEPT, QUEUED, SENDING, SENT, STATUSES, OutboxMessage
from nous.extensions import db, get_redis
from nous.jobs import service as jobs

log = logging.getLogger("nous.email")

# Each template's required context (others are optional); every template also gets `base_url`.
TEMPLATES: dict[str, tuple[str, ...]] = {
    "invite": ("invite_url",),
    "feedback_reply": ("reply",),
    "system_alert": ("title", "message"),
    "job_failed": ("task", "job_id", "error"),
    "workflow_finished": ("workflow", "status"),
    "test": (),
}
# The local part may hold an apostrophe (o'brien@…), as RFC 5322 allows; the domain may not.
EMAIL_RE = re.compile(r"^[^@\s<>\",;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
# This machine's own mailboxes (admin@localhost, the default admin address; RFC 6761 *.localhost):
# accepted as addresses, never handed to an SMTP server, kept in the outbox instead.
LOCAL_RE = re.compile(r"^[^@\s<>\",;]+@(?:[a-z0-9-]+\.)*localhost$", re.IGNORECASE)
SMTP_TIMEOUT = 15
STUCK_AFTER = timedelta(minutes=5)


class EmailError(ValueError):
    """The message cannot be made (bad address, unknown template, missing context)."""


def is_local(addr: str) -> bool:
    """A mailbox on this machine (user@localhost): kept in the outbox, never sent over SMTP."""
    return bool(LOCAL_RE.match(addr))


def check_address(to: str) -> str:
    to = (to or "").strip()
    addr = parseaddr(to)[1]
    if not addr or addr != to or not (EMAIL_RE.match(addr) or is_local(addr)) or len(addr) > 320:
        raise EmailError(f"{to[:100]!r} is not an email address")
    return addr


def render_email(template: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """(subject, text, html) for `template` with `context`."""
    if template not in TEMPLATES:
        raise EmailError(f"no email template {template!r}; there are {', '.join(sorted(TEMPLATES))}")
    if not isinstance(context, dict):
        raise EmailError("context must be a dictionary")
    missing = [k for k in TEMPLATES[template] if k not in context]
    if missing:
        raise EmailError(f"{template}: missing {', '.join(missing)} in the context")
    ctx = {"base_url": current_app.config["SYSTEM_BASE_URL"], "product": "NOUS Beta", **context}
    env = current_app.jinja_env
    module = env.get_template(f"email/{template}.txt").make_module(ctx)
    subject = " ".join(str(getattr(module, "subject", "")).split())[:300] or "Message from NOUS Beta"
    text = str(module).strip() + "\n"
    html = env.get_template(f"email/{template}.html").render(subject=subject, **ctx)
    return subject, text, html


def create_message(to: str, template: str, context: dict[str, Any], actor: str = "system") -> OutboxMessage:
    """Render and store a message (status queued) without sending it."""
    addr = check_address(to)
    subject, text, html = render_email(template, context)
    now = utcnow()
    msg = OutboxMessage(to_addr=addr, template=template, subject=subject, text_body=text, html_body=html,
                        status=QUEUED, attempts=0, last_error="", actor=actor[:320], created_at=now, updated_at=now,
                        message_id="")
    db.session.add(msg)
    db.session.commit()
    return msg


def _enqueue_send(msg: OutboxMessage, actor: str) -> None:
    try:
        msg.job_id = jobs.submit("email.send", [msg.id], actor=actor)
        db.session.commit()
    except (redis.RedisError, OSError) as exc:
        db.session.rollback()
        log.warning("email kept in the outbox: the queue is unreachable; it is sent once Redis is back",
                    extra={"outbox_id": msg.id, "error": str(exc)[:200]})


def queue_email(to: str, template: str, context: dict[str, Any], actor: str = "system") -> int:
    """Render `template` (HTML + text), store the message in the outbox and queue its sending.
    Returns the outbox id. Raises EmailError for a bad address, template or context."""
    msg = create_message(to, template, context, actor)
    _enqueue_send(msg, actor)
    return msg.id


# --- SMTP --------------------------------------------------------------------------------------

def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context()  # verifies the server's certificate and name


def connect(config: dict[str, Any], timeout: float = SMTP_TIMEOUT, login: bool = True) -> smtplib.SMTP:
    """An SMTP connection per the EMAIL_* settings: implicit TLS, STARTTLS or plain; signed in."""
    host, port = config["EMAIL_HOST"], config["EMAIL_PORT"]
    if config.get("EMAIL_USE_SSL"):
        conn: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=_tls_context())
        conn.ehlo()
    else:
        conn = smtplib.SMTP(host, port, timeout=timeout)
        try:
            conn.ehlo()
            if config.get("EMAIL_USE_TLS"):
                conn.starttls(context=_tls_context())
                conn.ehlo()
        except BaseException:
            conn.close()
            raise
    if login and config.get("EMAIL_USER"):
        try:
            conn.login(config["EMAIL_USER"], config.get("EMAIL_PASS", ""))
        except BaseException:
            conn.close()
            raise
    return conn


def smtp_probe(host: str, port: int, use_ssl: bool, timeout: float = 3, starttls: bool = False) -> float:
    """Connect, say EHLO (and STARTTLS when asked); milliseconds. Raises OSError/SMTPException.
    The health check's probe, kept next to the sending code."""
    started = time.perf_counter()
    conn = connect({"EMAIL_HOST": host, "EMAIL_PORT": port, "EMAIL_USE_SSL": use_ssl, "EMAIL_USE_TLS": starttls},
                   timeout=timeout, login=False)
    with conn:
        conn.noop()
    return round((time.perf_counter() - started) * 1000, 2)


def reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{type(exc).__name__}: {exc.smtp_code} {' '.join(text.split())}"[:1000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        parts = []
        for rcpt, (code, text) in exc.recipients.items():
            msg = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
            parts.append(f"{rcpt}: {code} {msg}")
        return f"SMTPRecipientsRefused: {'; '.join(parts)}"[:1000]
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:1000] if text else type(exc).__name__


def _permanent(exc: BaseException) -> bool:
    """The server said no for good (5xx on the sender, a recipient or the data)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPSenderRefused | smtplib.SMTPDataError):
        return exc.smtp_code >= 500
    return False


def test_connection() -> tuple[bool, str]:
    """Connect, secure and sign in as configured; (ok, what happened)."""
    config = current_app.config
    host, port = config["EMAIL_HOST"], config["EMAIL_PORT"]
    if not host:
        return False, "SMTP is not configured (EMAIL_HOST is empty): mail is kept in the outbox and the log"
    mode = "implicit TLS" if config["EMAIL_USE_SSL"] else "STARTTLS" if config["EMAIL_USE_TLS"] else "no TLS"
    started = time.perf_counter()
    try:
        with connect(config, timeout=10) as conn:
            conn.noop()
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        return False, f"{host}:{port} ({mode}): {reason(exc)}"
    ms = (time.perf_counter() - started) * 1000
    who = f", signed in as {config['EMAIL_USER']}" if config["EMAIL_USER"] else ""
    return True, f"{host}:{port} answered ({mode}{who}) in {ms:.0f} ms"


def check_connection(actor: str, ip: str = "") -> tuple[bool, str]:
    """`test_connection()` asked by someone (the console, the API): audited with what happened."""
    ok, detail = test_connection()
    audit.record(actor, "email.test_connection", "smtp", after={"ok": ok, "detail": detail}, ip=ip)
    return ok, detail


def configuration() -> dict[str, Any]:
    """How mail is sent, as the environment configured it (EMAIL_*; never the password)."""
    config = current_app.config
    security = "implicit TLS" if config["EMAIL_USE_SSL"] else "STARTTLS" if config["EMAIL_USE_TLS"] else "none"
    return {"configured": bool(config["EMAIL_HOST"]), "host": config["EMAIL_HOST"] or None,
            "port": config["EMAIL_PORT"], "security": security, "from": config["EMAIL_FROM"],
            "user": config["EMAIL_USER"] or None, "password_set": bool(config["EMAIL_PASS"])}


def build(msg: OutboxMessage, sender: str) -> EmailMessage:
    em = EmailMessage()
    em["Subject"] = msg.subject
    em["From"] = sender
    em["To"] = msg.to_addr
    em["Date"] = formatdate(localtime=False)
    domain = parseaddr(sender)[1].partition("@")[2] or "localhost"
    em["Message-ID"] = msg.message_id or make_msgid(domain=domain)
    em.set_content(msg.text_body)
    em.add_alternative(msg.html_body, subtype="html")
    return em


def send(outbox_id: int) -> dict[str, Any]:
    """Deliver one outbox message (the body of the `email.send` task; safe to run twice)."""
    msg = db.session.get(OutboxMessage, outbox_id)
    if msg is None:
        return {"outbox_id": outbox_id, "status": "missing"}
    if msg.status in (SENT, KEPT):
        return {"outbox_id": outbox_id, "status": msg.status, "already": True}
    config = current_app.config
    if not config["EMAIL_HOST"] or is_local(msg.to_addr):
        msg.status, msg.updated_at = KEPT, utcnow()
        msg.last_error = ""
        db.session.commit()
        why = "a local address" if config["EMAIL_HOST"] else "no SMTP configured"
        log.info(f"email kept in the outbox ({why})", extra={
            "outbox_id": msg.id, "to": msg.to_addr, "subject": msg.subject, "body": msg.text_body[:4000]})
        return {"outbox_id": outbox_id, "status": KEPT}
    job = get_current_job()
    last_attempt = job is None or not job.retries_left
    em = build(msg, config["EMAIL_FROM"])
    msg.status, msg.attempts, msg.updated_at = SENDING, msg.attempts + 1, utcnow()
    msg.message_id = str(em["Message-ID"])
    db.session.commit()
    try:
        with connect(config) as conn:
            conn.send_message(em)
    except (OSError, smtplib.SMTPException, ssl.SSLError) as exc:
        permanent = _permanent(exc)
        msg.last_error = reason(exc)
        msg.status = FAILED if permanent or last_attempt else QUEUED
        msg.updated_at = utcnow()
        db.session.commit()
        log.warning("email not sent", extra={"outbox_id": msg.id, "to": msg.to_addr, "error": msg.last_error,
                                             "final": msg.status == FAILED})
        if permanent and job is not None:
            job.retries_left = 0  # a 5xx refusal will not change: no retries
        raise
    msg.status, msg.sent_at, msg.updated_at, msg.last_error = SENT, utcnow(), utcnow(), ""
    db.session.commit()
    log.info("email sent", extra={"outbox_id": msg.id, "to": msg.to_addr, "template": msg.template})
    return {"outbox_id": outbox_id, "status": SENT, "to": msg.to_addr}


def send_now(outbox_id: int) -> OutboxMessage:
    """Send in this process (the CLI), recording the outcome; never raises for SMTP trouble."""
    try:
        send(outbox_id)
    except (OSError, smtplib.SMTPException, ssl.SSLError):
        pass
    msg = db.session.get(OutboxMessage, outbox_id)
    db.session.refresh(msg)
    return msg  # type: ignore[return-value]


# --- outbox ------------------------------------------------------------------------------------

OUTBOX_ID_MAX = 2**31 - 1  # the ids are database integers: past this none exists (PostgreSQL refuses to look)


def get_message(outbox_id: int) -> OutboxMessage | None:
    return db.session.get(OutboxMessage, outbox_id) if 1 <= outbox_id <= OUTBOX_ID_MAX else None


def list_outbox(status: str = "", q: str = "", before: int | None = None, limit: int = 50
                ) -> tuple[list[OutboxMessage], bool]:
    """Newest first, keyset on id; returns (rows, has_more)."""
    if status and status not in STATUSES:
        raise EmailError(f"status must be one of {', '.join(STATUSES)}")
    stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit + 1)
    if status:
        stmt = stmt.where(OutboxMessage.status == status)
    if q:
        stmt = stmt.where(OutboxMessage.to_addr.icontains(q[:200], autoescape=True)
                          | OutboxMessage.subject.icontains(q[:200], autoescape=True))
    if before is not None:
        stmt = stmt.where(OutboxMessage.id < before)
    rows = list(db.session.scalars(stmt))
    return rows[:limit], len(rows) > limit


def counts() -> dict[str, int]:
    out = dict.fromkeys(STATUSES, 0)
    for status, n in db.session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
        out[status] = n
    return out


def resend(outbox_id: int, actor: str, ip: str = "") -> OutboxMessage:
    """Queue a failed (or kept) message again."""
    msg = get_message(outbox_id)
    if msg is None:
        raise LookupError(f"no message {outbox_id}")
    if msg.status not in (FAILED, KEPT):
        raise EmailError(f"message {outbox_id} is {msg.status}; only failed or kept messages can be sent again")
    before = msg.status
    msg.status, msg.last_error, msg.updated_at = QUEUED, "", utcnow()
    db.session.commit()
    _enqueue_send(msg, actor)
    audit.record(actor, "email.resend", str(outbox_id), before={"status": before}, after={"status": QUEUED}, ip=ip)
    return msg


def send_test(to: str, actor: str, ip: str = "") -> int:
    outbox_id = queue_email(to, "test", {"sent_by": actor}, actor=actor)
    audit.record(actor, "email.test", to, after={"outbox_id": outbox_id}, ip=ip)
    return outbox_id


def _job_alive(job_id: str | None) -> bool:
    if not job_id:
        return False
    try:
        status = Job.fetch(job_id, connection=get_redis()).get_status(refresh=False)
    except NoSuchJobError:
        return False
    return status in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.STARTED, JobStatus.DEFERRED)


def requeue_stuck() -> int:
    """Messages still queued (or sending) long after they were written, with no live job — Redis was
    down or lost the job — get a new send job. Returns how many."""
    cutoff = utcnow() - STUCK_AFTER
    stmt = (select(OutboxMessage).where(OutboxMessage.status.in_((QUEUED, SENDING)))
            .where(OutboxMessage.updated_at < cutoff).order_by(OutboxMessage.id).limit(500))
    n = 0
    for msg in db.session.scalars(stmt).all():
        if _job_alive(msg.job_id):
            continue
        msg.updated_at = utcnow()
        db.session.commit()
        _enqueue_send(msg, "system")
        n += 1
    if n:
        log.warning("outbox messages queued again", extra={"count": n})
    return n
