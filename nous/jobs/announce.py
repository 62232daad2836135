"""Tell live viewers (topic "jobs" of `nous.live`, through the `job.changed` event) that a job changed state.

Published where the outcome is known, after the history is written (a viewer that reloads on the
event sees the new row): queued or scheduled by the enqueuer; started and ended (finished, failed,
retrying, stopped, canceled) by the worker process around each job; progress from the work-horse,
at most one event a second per job so a chatty task cannot push failures out of the replay buffer;
abandoned by the started-job sweep; the admin's cancel and retry. The shape is the one
`nous.live.events` documents for "jobs".

Best effort by design: one Redis round trip, never raises, and the job goes on whatever happens
here (the history and RQ stay the record; a missed event costs a viewer one refresh).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from nous import events
from nous.clock import utcnow

log = logging.getLogger("nous.jobs")

PROGRESS_EVERY = 1.0  # seconds between two progress events of one job
_last_progress: dict[str, float] = {}  # job id -> when its last progress event went out (this process)


def _one_line(text: str | None, limit: int = 300) -> str | None:
    if not text:
        return None
    line = text.strip().splitlines()[0] if text.strip() else ""
    return (line if len(line) <= limit else line[: limit - 1] + "…") or None


def job_event(job_id: str, task: str, status: str, *, queue: str = "", attempt: int | None = None,
              progress: int | None = None, error: str | None = None) -> None:
    """Send `job.changed` (live publishes it on topic "jobs"). Never raises."""
    try:
        events.job_changed.send(None, event={
            "job_id": job_id, "task": task, "status": status, "queue": queue or None, "attempt": attempt,
            "progress": progress, "error": _one_line(error), "at": utcnow().isoformat()})
    except Exception:  # the live view is a convenience; the job must never notice  # noqa: BLE001
        log.debug("job event not published", exc_info=True, extra={"job_id": job_id})


def progress_event(job_id: str, task: str, queue: str, attempt: int | None, percent: int) -> None:
    """A progress event, unless this job sent one less than PROGRESS_EVERY seconds ago (100 % always goes)."""
    now = time.monotonic()
    if percent < 100 and now - _last_progress.get(job_id, -1e9) < PROGRESS_EVERY:
        return
    if len(_last_progress) > 1000:  # one job at a time per work-horse; this only bounds a long-lived process
        _last_progress.clear()
    _last_progress[job_id] = now
    job_event(job_id, task, "started", queue=queue, attempt=attempt, progress=percent)


def meta_of(job: Any) -> tuple[str, str]:
    """(task, queue) of an RQ job, without a round trip."""
    meta = job.meta if isinstance(getattr(job, "meta", None), dict) else {}
    return str(meta.get("task") or getattr(job, "description", "") or ""), str(getattr(job, "origin", "") or "")
