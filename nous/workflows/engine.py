"""Running a workflow: every step is one job of the job layer (task `workflows.step`).

The protocol that makes a run crash-safe, step by step:

1. A step row names the one job allowed to run it (`job_id`). Queueing a step is a compare-and-set
   on the row (pending → queued, with a new job id) committed in the same transaction as the job's
   history row, then the job goes to Redis. A crash before Redis has it leaves a queued step whose
   job the reconciler (`workflows.reconcile`, every minute) puts back.
2. At the start the job claims the row (queued/retrying/running → running, attempts + 1) only if it
   is still the row's job. Another job for the same step, or a step already done, does nothing
   more than finish the hand-over below.
3. The outcome (succeeded, skipped, failed, or retrying with the next job id) is committed on the
   step row *before* the next step is queued. A worker killed after that commit is retried by the
   job layer (its abandoned-job sweep); the retried job finds the step done and only queues the next
   step — a completed step never runs again. A worker killed while the handler runs gets the step
   run again (the attempt counts), so the step in flight at a crash is at-least-once; every
   completed step is exactly once.
4. Retries follow the step's `retry {max, backoff}` and are scheduled jobs (no worker sleeps); a
   failed step fails the run unless `continue_on_error`; a canceled run stops before its next step.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import signal
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from flask import current_app
from rq import get_current_job
from sqlalchemy import func, select, update

from nous import events
from nous.audit import service as audit
from nous.clock import aware, isoformat, utcnow
from nous.email import service as email
from nous.extensions import db
from nous.jobs import service as jobs
from nous.settings import service as settings
from nous.settings.registry import DEFINITIONS
from nous.workflows import expressions
from nous.workflows import handlers as registry
from nous.workflows.handlers import StepContext, StepError, StepSkipped
from nous.workflows.models import (
    CANCELED,
    FAILED,
    PENDING,
    QUEUED,
    RETRYING,
    RUN_ACTIVE,
    RUNNING,
    SKIPPED,
    STEP_DONE,
    SUCCEEDED,
    WorkflowRun,
    WorkflowStepRun,
)
from nous.workflows.schema import CONTEXT_NAMES, in_words

log = logging.getLogger("nous.workflows")

STEP_TASK = "workflows.step"
MAX_OUTPUT = 2_000_000  # characters of JSON a step may return
MAX_ERROR = 2000
SECRET_KEY_RE = re.compile(r"authorization|password|passwd|secret|token|api[-_]?key|cookie", re.IGNORECASE)


class StepTimeout(Exception):
    pass


# --- small helpers -----------------------------------------------------------------------------

def new_job_id(run_id: int, position: int) -> str:
    return f"wf-{run_id}-{position}-{uuid.uuid4().hex[:12]}"


def iso(value: Any) -> str | None:
    """A run's times as its history and events carry them: to the millisecond."""
    return isoformat(value, "milliseconds")


def json_safe(value: Any) -> Any:
    """Plain JSON data (datetimes and other objects become text)."""
    return json.loads(json.dumps(value, default=str, ensure_ascii=False))


def redact(value: Any) -> Any:
    """A copy fit for the step's stored input: values of secret-looking keys are hidden."""
    if isinstance(value, dict):
        return {k: ("***" if SECRET_KEY_RE.search(str(k)) and v not in (None, "") else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class SettingsView(Mapping[str, Any]):
    """`settings["jobs.history_retention_days"]` in expressions: read-only runtime settings."""

    HIDDEN_KINDS = ("probes",)

    def _keys(self) -> list[str]:
        return [k for k, d in DEFINITIONS.items() if d.kind not in self.HIDDEN_KINDS]

    def __getitem__(self, key: str) -> Any:
        if key not in self._keys():
            raise KeyError(key)
        return settings.get(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys())

    def __len__(self) -> int:
        return len(self._keys())


def build_context(run: WorkflowRun, rows: list[WorkflowStepRun] | None = None) -> dict[str, Any]:
    """What expressions see: the input's keys, `input`, `steps.<id>.{status, output, error}`, …"""
    if rows is None:
        rows = steps_of(run.id)
    data = run.input if isinstance(run.input, dict) else {}
    context: dict[str, Any] = {k: v for k, v in data.items() if k not in CONTEXT_NAMES}
    context.update({
        "input": data,
        "steps": {r.step_id: {"status": r.status, "output": r.output, "error": r.error or None,
                              "attempts": r.attempts} for r in rows if r.status in STEP_DONE},
        "trigger": {"type": run.trigger, "event": run.event, "actor": run.actor},
        "event": {"name": run.event, "data": data} if run.event else None,
        "run": {"id": run.id, "created_at": iso(run.created_at)},
        "workflow": {"id": run.workflow_id, "name": run.workflow_name, "version": run.workflow_version},
        "settings": SettingsView(),
    })
    return context


def steps_of(run_id: int) -> list[WorkflowStepRun]:
    """A run's step rows as the database has them now (never the session's older copies)."""
    return list(db.session.scalars(select(WorkflowStepRun).where(WorkflowStepRun.run_id == run_id)
                                   .order_by(WorkflowStepRun.position).execution_options(populate_existing=True)))


def _step(run_id: int, position: int) -> WorkflowStepRun | None:
    return db.session.scalar(select(WorkflowStepRun).where(WorkflowStepRun.run_id == run_id,
                                                           WorkflowStepRun.position == position)
                             .execution_options(populate_existing=True))


def _run(run_id: int) -> WorkflowRun | None:
    return db.session.get(WorkflowRun, run_id, populate_existing=True)


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise StepTimeout in this (main) thread after `seconds`, leaving an outer alarm (RQ's job
    timeout uses SIGALRM too) as it was. Elsewhere than the main thread: no limit but the handler's own."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    outer_left = signal.getitimer(signal.ITIMER_REAL)[0]
    if outer_left and outer_left <= seconds:
        yield  # the job's own timeout comes first
        return
    previous = signal.getsignal(signal.SIGALRM)

    def on_alarm(signum: int, frame: Any) -> None:
        raise StepTimeout(seconds)

    started = time.monotonic()
    signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(0.01, outer_left - (time.monotonic() - started)))


# --- queueing ----------------------------------------------------------------------------------

def _submit(run_id: int, position: int, job_id: str, at: Any, actor: str) -> None:
    """Send the step's job (commits the session: the step row's change and the job's history row
    land together). Redis unreachable: the step stays queued for the reconciler."""
    try:
        jobs.submit(STEP_TASK, [run_id, position], at=at, actor=actor, job_id=job_id)
    except (redis.RedisError, OSError) as exc:
        db.session.commit()  # whatever the job layer had not committed yet: the step stays queued, on record
        log.warning("workflow step kept queued: the job queue is unreachable; the reconciler sends it later",
                    extra={"run_id": run_id, "position": position, "error": str(exc)[:200]})


def queue_step(run_id: int, position: int, actor: str = "system") -> str | None:
    """Queue a pending step (compare-and-set: only one caller wins). Returns the job id, or None."""
    now = utcnow()
    row = _step(run_id, position)
    if row is None or row.status != PENDING:
        return None
    at = aware(row.not_before)
    job_id = new_job_id(run_id, position)
    won = db.session.execute(
        update(WorkflowStepRun).where(WorkflowStepRun.id == row.id, WorkflowStepRun.status == PENDING)
        .values(status=QUEUED, job_id=job_id, queued_at=now, updated_at=now)
    ).rowcount
    if not won:
        db.session.commit()
        return None
    _submit(run_id, position, job_id, at if at and at > now else None, actor)
    return job_id


def requeue(step: WorkflowStepRun, actor: str = "system:reconcile") -> str | None:
    """Give a queued or retrying step whose job was lost a new job (compare-and-set on the old id)."""
    now = utcnow()
    job_id = new_job_id(step.run_id, step.position)
    won = db.session.execute(
        update(WorkflowStepRun).where(WorkflowStepRun.id == step.id, WorkflowStepRun.job_id == step.job_id,
                                      WorkflowStepRun.status.in_((QUEUED, RETRYING)))
        .values(job_id=job_id, updated_at=now)
    ).rowcount
    if not won:
        db.session.commit()
        return None
    at = aware(step.not_before)
    _submit(step.run_id, step.position, job_id, at if at and at > now else None, actor)
    return job_id


# --- the end of a run --------------------------------------------------------------------------

def announce(run_id: int) -> None:
    """Send `run.changed` after the commit (live relays it on topic `workflows`): the run's page, the
    workflow's run list and the runs page follow. Never raises."""
    row = db.session.execute(select(WorkflowRun.workflow_id, WorkflowRun.status)
                             .where(WorkflowRun.id == run_id)).first()
    if row is None:
        return
    try:
        events.run_changed.send(None, event={"run_id": run_id, "workflow_id": row.workflow_id,
                                             "status": row.status, "at": iso(utcnow())})
    except Exception:  # the live view is a convenience; the run must never notice  # noqa: BLE001
        log.debug("run event not sent", exc_info=True, extra={"run_id": run_id})


def _end_run(run_id: int, status: str, error: str = "", only_from: tuple[str, ...] = RUN_ACTIVE) -> bool:
    now = utcnow()
    won = db.session.execute(
        update(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.status.in_(only_from))
        .values(status=status, error=error[:MAX_ERROR], ended_at=now, updated_at=now)
    ).rowcount
    db.session.commit()
    if won:
        log.info("workflow run ended", extra={"run_id": run_id, "status": status})
        announce(run_id)
        notify(run_id)
    return bool(won)


def notify(run_id: int) -> None:
    """The `workflow_finished` email, as the workflow's `notify` asks (default: on failure, to the admin)."""
    run = _run(run_id)
    if run is None:
        return
    spec = (run.definition or {}).get("notify") or {}
    when = spec.get("on", "failure")
    if when == "never" or (when == "failure" and run.status != FAILED):
        return
    try:
        rows = steps_of(run.id)
        counts = {s: sum(1 for r in rows if r.status == s) for s in (SUCCEEDED, SKIPPED, FAILED)}
        summary = run.error or ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        duration = run.duration_ms
        base = current_app.config.get("SYSTEM_BASE_URL", "").rstrip("/")
        context = {"workflow": run.workflow_name, "status": run.status, "run_id": run.id, "summary": summary,
                   "duration": f"{duration / 1000:.1f} s" if duration is not None else "",
                   "url": f"{base}/admin/workflows/runs/{run.id}"}
        for to in spec.get("to") or current_app.config["NOUS_ADMIN_EMAILS"]:
            email.queue_email(to, "workflow_finished", context, actor=f"workflow:{run.workflow_name}")
    except Exception:  # the run's outcome is on record; the email is best effort
        db.session.rollback()
        log.exception("could not queue the workflow-finished email", extra={"run_id": run_id})


def hand_over(run_id: int, position: int) -> bool:
    """After a step's outcome is stored: queue the next step, or end the run. Idempotent: returns
    whether this call did it (False when another caller already had, or there is nothing to do)."""
    run = _run(run_id)
    step = _step(run_id, position)
    if run is None or step is None or run.status not in RUN_ACTIVE:
        return False
    spec = run.definition["steps"][position]
    if step.status == FAILED and not spec.get("continue_on_error"):
        return _end_run(run_id, FAILED, f"step {step.step_id} failed: {step.error}")
    if step.status not in STEP_DONE:
        return False
    if position + 1 < run.step_count:
        return queue_step(run_id, position + 1, actor=f"workflow:{run.workflow_name}") is not None
    return _end_run(run_id, SUCCEEDED)


# --- running one step --------------------------------------------------------------------------

def _log_entry(step: WorkflowStepRun, outcome: str, started_at: Any, error: str = "") -> list[dict[str, Any]]:
    entries = list(step.attempt_log or [])
    now = utcnow()
    entries.append({"attempt": step.attempts, "outcome": outcome, "started_at": iso(started_at),
                    "ended_at": iso(now), "duration_ms": round((now - aware(started_at)).total_seconds() * 1000, 1),
                    "error": error[:500]})
    return entries[-50:]


def _store_outcome(step: WorkflowStepRun, values: dict[str, Any]) -> bool:
    """Write the step's outcome if it is still this job's running step (cancel may have come first)."""
    won = db.session.execute(
        update(WorkflowStepRun).where(WorkflowStepRun.id == step.id, WorkflowStepRun.status == RUNNING,
                                      WorkflowStepRun.job_id == step.job_id)
        .values(updated_at=utcnow(), **values)
    ).rowcount
    return bool(won)


def _finish(step: WorkflowStepRun, status: str, started_at: Any, *, output: Any = None, note: str = "",
            delay: float | None = None) -> None:
    now = utcnow()
    first = aware(step.started_at) or aware(started_at)
    won = _store_outcome(step, {
        "status": status, "output": output, "note": note[:MAX_ERROR], "error": "", "ended_at": now,
        "not_before": None, "duration_ms": round((now - first).total_seconds() * 1000, 1),
        "attempt_log": _log_entry(step, status, started_at),
    })
    if won and delay:
        # the wait is stored on the next step in the same transaction, so a resume keeps it
        db.session.execute(update(WorkflowStepRun)
                           .where(WorkflowStepRun.run_id == step.run_id, WorkflowStepRun.position == step.position + 1,
                                  WorkflowStepRun.status == PENDING)
                           .values(not_before=now + timedelta(seconds=delay)))
    db.session.commit()
    if won:
        announce(step.run_id)
        hand_over(step.run_id, step.position)


def _fail(step: WorkflowStepRun, spec: dict[str, Any], started_at: Any, message: str, retryable: bool,
          actor: str) -> None:
    message = message[:MAX_ERROR]
    now = utcnow()
    entries = _log_entry(step, FAILED, started_at, message)
    if retryable and step.attempts < step.max_attempts:
        backoff = spec.get("retry", {}).get("backoff") or [0]
        wait = float(backoff[min(step.attempts - 1, len(backoff) - 1)])
        at = now + timedelta(seconds=wait)
        job_id = new_job_id(step.run_id, step.position)
        won = _store_outcome(step, {"status": RETRYING, "error": message, "job_id": job_id, "not_before": at,
                                    "attempt_log": entries})
        if won:
            log.info("workflow step failed; retrying", extra={"run_id": step.run_id, "step": step.step_id,
                                                              "attempt": step.attempts, "in_seconds": wait})
            _submit(step.run_id, step.position, job_id, at if wait > 0 else None, actor)
        else:
            db.session.commit()
        return
    first = aware(step.started_at) or aware(started_at)
    won = _store_outcome(step, {"status": FAILED, "error": message, "ended_at": now, "not_before": None,
                                "duration_ms": round((now - first).total_seconds() * 1000, 1),
                                "attempt_log": entries})
    db.session.commit()
    if won:
        log.info("workflow step failed", extra={"run_id": step.run_id, "step": step.step_id, "error": message[:200]})
        announce(step.run_id)
        hand_over(step.run_id, step.position)


def _params(spec: dict[str, Any], handler: registry.Handler, context: dict[str, Any],
            time_budget: float) -> dict[str, Any]:
    from jsonschema import Draft202012Validator  # imported on first use: the web process rarely needs it

    try:
        params = expressions.render(spec.get("with") or {}, context, time_budget)
    except (expressions.ExpressionError, expressions.EvaluationError) as exc:
        raise StepError(f"with: {exc}", retryable=False) from None
    params = json_safe(params)
    errors = sorted(Draft202012Validator(handler.schema).iter_errors(params), key=lambda e: list(e.absolute_path))
    if errors:
        words = in_words(errors[0])
        raise StepError(f"with{'.' if errors[0].absolute_path else ': '}{words}", retryable=False)
    return params


def _condition(spec: dict[str, Any], context: dict[str, Any], time_budget: float) -> bool:
    if spec.get("if") is None:
        return True
    try:
        return expressions.evaluate_condition(spec["if"], context, time_budget)
    except (expressions.ExpressionError, expressions.EvaluationError) as exc:
        raise StepError(f"if: {exc}", retryable=False) from None


def run_step(run_id: int, position: int) -> dict[str, Any]:
    """The body of the `workflows.step` job."""
    job = get_current_job()
    job_id = job.id if job is not None else None
    run, step = _run(run_id), _step(run_id, position)
    if run is None or step is None:
        return {"ignored": "the run no longer exists"}
    if run.status not in RUN_ACTIVE:
        return {"ignored": f"the run is {run.status}"}
    if step.status in STEP_DONE:
        hand_over(run_id, position)  # the job was cut short after the outcome was stored
        return {"ignored": f"step already {step.status}; the run was handed over"}
    if step.status == CANCELED or step.status == PENDING or (job_id is not None and step.job_id != job_id):
        return {"ignored": "this job no longer owns the step"}
    now = utcnow()
    resumed = step.status == RUNNING  # a previous attempt of this very job died with its worker
    claimed = db.session.execute(
        update(WorkflowStepRun)
        .where(WorkflowStepRun.id == step.id, WorkflowStepRun.job_id == step.job_id,
               WorkflowStepRun.status.in_((QUEUED, RETRYING, RUNNING)))
        .values(status=RUNNING, attempts=WorkflowStepRun.attempts + 1,
                started_at=func.coalesce(WorkflowStepRun.started_at, now), updated_at=now)
    ).rowcount
    if not claimed:
        db.session.commit()
        return {"ignored": "the step was claimed by another job"}
    db.session.execute(update(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.status == QUEUED)
                       .values(status=RUNNING, started_at=now, updated_at=now))
    db.session.commit()
    announce(run_id)
    step = _step(run_id, position)
    assert step is not None
    if resumed:
        log.warning("workflow step resumed after its worker died", extra={"run_id": run_id, "step": step.step_id})
        entries = list(step.attempt_log or [])
        entries.append({"attempt": step.attempts - 1, "outcome": "abandoned", "started_at": None, "ended_at": iso(now),
                        "duration_ms": None, "error": "the worker running this attempt died; the step runs again"})
        db.session.execute(update(WorkflowStepRun).where(WorkflowStepRun.id == step.id)
                           .values(attempt_log=entries[-50:]))
        db.session.commit()
        step = _step(run_id, position)
        assert step is not None
    return _execute(run, step, now)


def _execute(run: WorkflowRun, step: WorkflowStepRun, started_at: Any) -> dict[str, Any]:
    """The step under its timeout: its `if`, its `with` and its handler share one deadline, and each
    expression evaluation also stops by itself within the time that is left (or its own budget)."""
    spec = run.definition["steps"][step.position]
    actor = f"workflow:{run.workflow_name}"
    context = build_context(run)
    timeout = float(spec.get("timeout", 300))
    ends = time.monotonic() + timeout
    phase = "while evaluating its if:"
    try:
        with deadline(timeout):
            take = _condition(spec, context, min(expressions.TIME_BUDGET, timeout))
            if take:
                phase = "while filling in its with:"
                handler = registry.get(spec["uses"])
                if handler is None:
                    raise StepError(f"handler {spec['uses']!r} is not available on this worker", retryable=False)
                left = max(0.0, ends - time.monotonic())
                params = _params(spec, handler, context, min(expressions.TIME_BUDGET, left))
        if not take:
            _finish(step, SKIPPED, started_at, note=f"condition is false: {spec['if']}")
            return {"status": SKIPPED}
        db.session.execute(update(WorkflowStepRun).where(WorkflowStepRun.id == step.id)
                           .values(input=redact(params)))
        db.session.commit()
        phase = ""
        left = ends - time.monotonic()
        if left <= 0:
            raise StepTimeout(timeout)
        sctx = StepContext(run_id=run.id, step_id=step.step_id, position=step.position, attempt=step.attempts,
                           max_attempts=step.max_attempts, timeout=left, workflow=run.workflow_name, data=context,
                           instance_path=Path(current_app.instance_path))
        with deadline(left):
            output = handler.fn(params, sctx)
        output = json_safe(output)
        if len(json.dumps(output)) > MAX_OUTPUT:
            raise StepError(f"the step's output is larger than {MAX_OUTPUT} characters", retryable=False)
    except StepSkipped as exc:
        db.session.rollback()
        _finish(step, SKIPPED, started_at, note=str(exc))
        return {"status": SKIPPED, "reason": str(exc)}
    except StepTimeout:
        db.session.rollback()
        why = f"timed out after {timeout:g} s" + (f" {phase}" if phase else "")
        _fail(step, spec, started_at, why, True, actor)
        return {"status": "timeout"}
    except StepError as exc:
        db.session.rollback()
        _fail(step, spec, started_at, str(exc), exc.retryable, actor)
        return {"status": FAILED, "error": str(exc)[:300]}
    except Exception as exc:  # a handler's bug or a dependency's failure: retried by the step's policy  # noqa: BLE001
        db.session.rollback()
        log.warning("workflow step raised", exc_info=True, extra={"run_id": run.id, "step": step.step_id})
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        _fail(step, spec, started_at, f"{type(exc).__name__}: {text}" if text else type(exc).__name__, True, actor)
        return {"status": FAILED, "error": f"{type(exc).__name__}"}
    _finish(step, SUCCEEDED, started_at, output=output, note="; ".join(sctx.notes), delay=sctx.delay_next)
    return {"status": SUCCEEDED}


# --- canceling and repairing ------------------------------------------------------------------

def cancel(run_id: int, actor: str, ip: str = "") -> bool:
    """Cancel a queued or running run: no further step starts; a running step's job is stopped."""
    now = utcnow()
    won = db.session.execute(
        update(WorkflowRun).where(WorkflowRun.id == run_id, WorkflowRun.status.in_(RUN_ACTIVE))
        .values(status=CANCELED, error=f"canceled by {actor}"[:MAX_ERROR], ended_at=now, updated_at=now)
    ).rowcount
    if not won:
        db.session.rollback()
        return False
    live = list(db.session.execute(
        select(WorkflowStepRun.job_id, WorkflowStepRun.status)
        .where(WorkflowStepRun.run_id == run_id, WorkflowStepRun.status.in_((QUEUED, RETRYING, RUNNING)))))
    db.session.execute(update(WorkflowStepRun)
                       .where(WorkflowStepRun.run_id == run_id,
                              WorkflowStepRun.status.in_((QUEUED, RETRYING, RUNNING)))
                       .values(status=CANCELED, note=f"canceled by {actor}"[:MAX_ERROR], ended_at=now,
                               updated_at=now))
    audit.record(actor, "workflows.run.cancel", f"workflow_run:{run_id}", before={"status": "active"},
                 after={"status": CANCELED}, ip=ip, commit=False)
    db.session.commit()
    announce(run_id)
    for job_id, _status in live:
        if not job_id:
            continue
        try:
            jobs.cancel(job_id, actor, ip)
        except jobs.JobError:
            pass  # already over, or never reached the queue: the step's own check stops it
        except (redis.RedisError, OSError):
            log.warning("could not cancel a workflow step's job; it will find the run canceled",
                        extra={"run_id": run_id, "job_id": job_id})
    return True


def fail_lost_step(step: WorkflowStepRun, reason: str) -> None:
    """A running step whose job has ended without it (stopped, abandoned beyond its retries)."""
    run = _run(step.run_id)
    if run is None:
        return
    spec = run.definition["steps"][step.position]
    _fail(step, spec, aware(step.started_at) or utcnow(), reason, True, f"workflow:{run.workflow_name}")
