"""What runs around a task inside the worker: an app context, error notes, progress reports."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import redis
from flask import Flask, current_app, has_app_context
from rq import get_current_job

from nous.extensions import db
from nous.jobs import announce

log = logging.getLogger("nous.jobs")
_app: Flask | None = None  # built once per process when a task runs outside any app (a cache: safe to lose)
current_attempt: int | None = None  # set by the worker before it forks the job's work-horse

TRACEBACK_LIMIT = 20_000


def get_app() -> Flask:
    """The app of the worker that forked this job, or one built for this process."""
    global _app
    if has_app_context():
        return current_app._get_current_object()  # type: ignore[attr-defined]
    if _app is None:
        from nous import create_app  # the app factory imports every area, this one too: imported on use

        _app = create_app()
    return _app


def error_note(exc: BaseException) -> dict[str, str]:
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return {
        "type": type(exc).__name__,
        "message": f"{type(exc).__name__}: {message}"[:500] if message else type(exc).__name__,
        "traceback": traceback.format_exc()[-TRACEBACK_LIMIT:],
    }


def run(name: str, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Run a task in a fresh app context; note a failure on the job so its history keeps the traceback."""
    job = get_current_job()
    with get_app().app_context():
        try:
            return fn(*args, **kwargs)
        except BaseException as exc:
            if job is not None:
                try:
                    job.meta["error"] = error_note(exc)
                    job.save_meta()
                except Exception:  # Redis gone: RQ records the failure itself  # noqa: BLE001
                    log.warning("could not note the error on the job", extra={"job_id": job.id, "task": name})
            raise
        finally:
            try:
                db.session.rollback()
            finally:
                db.session.remove()


def report_progress(percent: float, message: str = "") -> None:
    """Tell the console how far the current task is (0–100). A no-op outside a job."""
    job = get_current_job()
    if job is None:
        return
    try:
        value = max(0, min(100, int(percent)))
    except (TypeError, ValueError):
        raise ValueError(f"percent must be a number from 0 to 100, got {percent!r}") from None
    job.meta["progress"] = {"percent": value, "message": str(message)[:200]}
    try:
        job.save_meta()
    except (redis.RedisError, OSError) as exc:  # a report missed in an outage; the task goes on
        log.warning("progress not saved: Redis is not reachable", extra={"job_id": job.id, "error": str(exc)[:200]})
        return
    task, queue = announce.meta_of(job)
    announce.progress_event(job.id, task, queue, current_attempt, value)
