"""The job layer's service: enqueue named tasks, act on jobs, read the history, keep recurring schedules.

No `request` or `g` in here: routes, the CLI and other tasks all call these functions. Actions
that change something take the actor (and IP) and write the audit log themselves. The modules:
`queue` (enqueueing, queues and workers), `runs` (reading the history), `stats` (figures and
series), `actions` (cancel, retry, delete), `housekeeping` (reconciler, pruning) and `schedules`.
"""

from nous.jobs.models import CANCELED, FAILED, FINISHED, QUEUED, RETRYING, SCHEDULED, STARTED, STATES, STOPPED
from nous.jobs.service.actions import cancel, delete_job, retry, retry_all_failed, start_task
from nous.jobs.service.errors import BadArguments, JobError, JobNotFound, UnknownTask
from nous.jobs.service.housekeeping import prune_history, reconcile
from nous.jobs.service.queue import enqueue, enqueue_at, enqueue_in, has_active, queues, submit, workers
from nous.jobs.service.runs import (
    COUNTS_KEY,
    COUNTS_MAX_AGE,
    PAGE_SIZE,
    RunFilter,
    RunPage,
    check_job_id,
    counts_by_status,
    detail,
    get_run,
    latest_failures,
    list_runs,
    progress,
    recent_counts,
    task_names,
)
from nous.jobs.service.schedules import (
    list_schedules,
    next_run,
    run_due_schedules,
    run_schedule_now,
    schedule_cron,
    schedule_interval,
    sync_declared_schedules,
    unschedule,
)
from nous.jobs.service.stats import RANGES, series, stats

__all__ = ["CANCELED", "COUNTS_KEY", "COUNTS_MAX_AGE", "FAILED", "FINISHED", "PAGE_SIZE", "QUEUED", "RANGES",
           "RETRYING", "SCHEDULED", "STARTED", "STATES", "STOPPED", "BadArguments", "JobError", "JobNotFound",
           "RunFilter", "RunPage", "UnknownTask", "cancel", "check_job_id", "counts_by_status", "delete_job", "detail",
           "enqueue", "enqueue_at", "enqueue_in", "get_run", "has_active", "latest_failures", "list_runs",
           "list_schedules", "next_run", "progress", "prune_history", "queues", "recent_counts", "reconcile", "retry",
           "retry_all_failed", "run_due_schedules", "run_schedule_now", "schedule_cron", "schedule_interval",
           "series", "start_task", "stats", "submit", "sync_declared_schedules", "task_names", "unschedule", "workers"]
