"""/api/admin/v1/jobs: the job history with the console's filters, statistics, one job with its traceback,
starting a registered task by name, cancel, retry, retry every failed job, and the recurring schedules —
through nous.jobs.service, as the console's Jobs page and `flask nous jobs` do."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Response, request, url_for

from nous import inputs
from nous.adminapi.conventions import (
    Problem,
    actor,
    body,
    client_ip,
    encode_cursor,
    endpoint,
    id_cursor,
    limit_arg,
    page,
    param,
    respond,
    rfc3339,
    schemas,
)
from nous.clock import utcnow
from nous.jobs import registry
from nous.jobs import service as jobs
from nous.jobs.models import STATES, JobAttempt, JobRun, JobSchedule

RUN_TIMES = ("enqueued_at", "scheduled_for", "started_at", "ended_at")
MAX_DELAY = 30 * 86400

_TIME = {"type": ["string", "null"], "format": "date-time"}
schemas(
    Job={"type": "object", "required": ["id", "task", "status"], "properties": {
        "id": {"type": "string"}, "task": {"type": "string"}, "queue": {"type": "string"},
        "priority": {"type": "integer"}, "status": {"enum": list(STATES)}, "attempts": {"type": "integer"},
        "max_attempts": {"type": "integer"}, "args_summary": {"type": "string"}, "actor": {"type": "string"},
        "schedule": {"type": ["string", "null"]}, "enqueued_at": _TIME, "scheduled_for": _TIME,
        "started_at": _TIME, "ended_at": _TIME, "duration_ms": {"type": ["number", "null"]},
        "worker": {"type": "string"}, "error": {"type": "string"}, "result": {"type": "string"},
        "progress": {"type": ["integer", "null"]}, "progress_message": {"type": "string"}}},
    JobDetail={"allOf": [{"$ref": "#/components/schemas/Job"}, {"type": "object", "properties": {
        "args": {"type": ["object", "null"]}, "traceback": {"type": "string"},
        "attempts_detail": {"type": "array", "items": {"type": "object"}},
        "live": {"type": "object", "description": "What Redis knows of it now (position, retries left…)."}}}]},
    JobStart={"type": "object", "required": ["task"], "properties": {
        "task": {"type": "string", "example": "jobs.noop"},
        "args": {"type": "array", "description": "Positional arguments: JSON values (ids, not objects)."},
        "kwargs": {"type": "object"},
        "priority": {"type": ["integer", "null"], "minimum": 1, "maximum": 10},
        "at": {"type": ["string", "null"], "format": "date-time", "description": "Run at this time (UTC)."},
        "delay_seconds": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_DELAY}}},
    JobSchedule={"type": "object", "required": ["name", "task"], "properties": {
        "name": {"type": "string"}, "task": {"type": "string"}, "cron": {"type": ["string", "null"]},
        "interval_seconds": {"type": ["integer", "null"]}, "args": {"type": ["object", "null"]},
        "enabled": {"type": "boolean"}, "source": {"type": "string"}, "next_run_at": _TIME,
        "last_run_at": _TIME, "last_job_id": {"type": ["string", "null"]}}},
    JobAction={"type": "object", "required": ["id", "status"], "properties": {
        "id": {"type": "string"}, "status": {"enum": list(STATES)}}},
)


def job_json(run: JobRun, *, full: bool = False) -> dict[str, Any]:
    out = {"id": run.job_id, "task": run.task, "queue": run.queue, "priority": run.priority, "status": run.status,
           "attempts": run.attempts, "max_attempts": run.max_attempts, "args_summary": run.args_summary,
           "actor": run.actor, "schedule": run.schedule, "duration_ms": run.duration_ms, "worker": run.worker,
           "error": run.error, "result": run.result_summary, "progress": run.progress,
           "progress_message": run.progress_message}
    out.update({name: rfc3339(getattr(run, name)) for name in RUN_TIMES})
    if full:
        out.update(args=run.args, traceback=run.traceback)
    return out


def _attempt_json(a: JobAttempt) -> dict[str, Any]:
    return {"attempt": a.attempt, "worker": a.worker, "outcome": a.outcome, "error": a.error,
            "traceback": a.traceback, "started_at": rfc3339(a.started_at), "ended_at": rfc3339(a.ended_at)}


def schedule_json(s: JobSchedule) -> dict[str, Any]:
    return {"name": s.name, "task": s.task, "cron": s.cron, "interval_seconds": s.interval_seconds, "args": s.args,
            "enabled": s.enabled, "source": s.source, "next_run_at": rfc3339(s.next_run_at),
            "last_run_at": rfc3339(s.last_run_at), "last_job_id": s.last_job_id}


def _call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """A jobs service call, its refusals as problems: unknown job 404, an action the job's state does not
    allow 409, an unknown task or unusable arguments 422 naming the field. Only the service's own refusals:
    any other exception is a fault of ours and stays a 500 (logged), not a client error."""
    try:
        return fn(*args, **kwargs)
    except jobs.JobNotFound as exc:
        raise Problem(404, str(exc)) from None
    except jobs.UnknownTask as exc:
        raise Problem(422, str(exc), {"task": "not a registered task"}) from None
    except jobs.BadArguments as exc:
        raise Problem(422, str(exc), {exc.field: str(exc)}) from None
    except jobs.JobError as exc:
        raise Problem(409, str(exc)) from None


_FILTERS = [
    param("status", {"enum": list(STATES)}, "Only jobs in this state."),
    param("task", {"type": "string", "maxLength": 100}, "Only this task."),
    param("q", {"type": "string", "maxLength": 200}, "A job id, or words in the task, arguments or error."),
]


@endpoint("GET", "/jobs", scope="jobs:read", tag="jobs", summary="List jobs",
          description="Newest first, with the console's filters.", query=_FILTERS,
          response={"type": "object", "required": ["items", "next_cursor"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/Job"}},
              "next_cursor": {"type": ["string", "null"]}}},
          paginated=True, links={name: {"job_id": "$response.body#/items/0/id"} for name in (
              "get_job", "cancel_job", "retry_job")})
def list_jobs() -> Response:
    filters = jobs.RunFilter(status=inputs.arg_choice("status", STATES), task=request.args.get("task", ""),
                             q=request.args.get("q", ""))
    found = _call(jobs.list_runs, filters, before=id_cursor(), limit=limit_arg())
    return page([job_json(r) for r in found.rows],
                encode_cursor(found.older_cursor) if found.older_cursor is not None else None)


@endpoint("GET", "/jobs/statistics", scope="jobs:read", tag="jobs", summary="Job statistics",
          description="Jobs by state (all time), per task over the last `hours` (counts, throughput per hour, "
                      "failure rate, mean and p95 duration), the queues and the workers.",
          query=[param("hours", {"type": "integer", "minimum": 1, "maximum": 720, "default": 24})],
          response={"type": "object", "required": ["counts", "tasks"], "properties": {
              "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
              "tasks": {"type": "array", "items": {"type": "object"}}, "hours": {"type": "integer"},
              "queues": {"type": "array", "items": {"type": "object"}},
              "workers": {"type": "array", "items": {"type": "object"}}}})
def job_statistics() -> Response:
    hours = inputs.arg_int("hours", 24, 1, 720) or 24
    workers = [{**w, "birth": rfc3339(w["birth"]), "last_heartbeat": rfc3339(w["last_heartbeat"])}
               for w in jobs.workers()]
    return respond({"counts": jobs.counts_by_status(), "hours": hours, "tasks": jobs.stats(hours),
                    "queues": jobs.queues(), "workers": workers})


@endpoint("GET", "/jobs/series", scope="jobs:read", tag="jobs", summary="Jobs ended and failed over time",
          description="The console's chart: per hour (48h) or per day (14d, 30d).",
          query=[param("range", {"enum": list(jobs.RANGES), "default": "48h"})],
          response={"type": "object"})
def job_series() -> Response:
    return respond(jobs.series(inputs.arg_choice("range", tuple(jobs.RANGES), "48h")))


@endpoint("GET", "/jobs/tasks", scope="jobs:read", tag="jobs", summary="The registered tasks a job can run",
          response={"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": {
              "type": "object", "properties": {"name": {"type": "string"}, "description": {"type": "string"},
                                               "priority": {"type": "integer"}, "queue": {"type": "string"},
                                               "max_attempts": {"type": "integer"},
                                               "timeout": {"type": "integer"}}}}}})
def list_tasks() -> Response:
    registry.discover()
    items = [{"name": t.name, "description": t.description, "priority": t.priority, "queue": t.queue,
              "max_attempts": t.max_attempts, "timeout": t.timeout}
             for t in sorted(registry.tasks_registry.values(), key=lambda t: t.name)]
    return respond({"items": items})


def _when(data: dict[str, Any]) -> datetime | None:
    at, delay = data.get("at"), data.get("delay_seconds")
    if at is not None and delay is not None:
        raise Problem(422, "Send `at` or `delay_seconds`, not both.", {"at": "not with delay_seconds"})
    if delay is not None:
        if isinstance(delay, bool) or not isinstance(delay, int) or not 0 <= delay <= MAX_DELAY:
            raise Problem(422, "delay_seconds is out of range.", {"delay_seconds": f"0 to {MAX_DELAY}"})
        return utcnow() + timedelta(seconds=delay) if delay else None
    if at is None:
        return None
    when = inputs.parse_datetime(at, "at") if isinstance(at, str) else None
    if when is None:
        raise Problem(422, "at is not an RFC 3339 time.", {"at": "an RFC 3339 time, e.g. 2026-12-06T09:00:00Z"})
    return when


@endpoint("POST", "/jobs", scope="jobs:write", tag="jobs", summary="Start a registered task",
          description="Enqueues the task by name with its arguments, now, at `at` or after `delay_seconds`. "
                      "The answer is the job as queued; follow it at its Location.",
          body="JobStart", response="Job", status=201, idempotent=True, errors=(422,),
          links={name: {"job_id": "$response.body#/id"} for name in ("get_job", "cancel_job", "retry_job")})
def start_job() -> Response:
    data = body()
    task = data.get("task")
    if not isinstance(task, str) or not task:
        raise Problem(422, "Name the task to run.", {"task": "required: a registered task's name"})
    args, kwargs, priority = data.get("args", []), data.get("kwargs", {}), data.get("priority")
    if not isinstance(args, list):
        raise Problem(422, "args is a list.", {"args": "a list of JSON values"})
    if not isinstance(kwargs, dict):
        raise Problem(422, "kwargs is an object.", {"kwargs": "an object of JSON values"})
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int)
                                 or not 1 <= priority <= 10):
        raise Problem(422, "priority is a whole number from 1 to 10.", {"priority": "1 to 10"})
    job_id = _call(jobs.start_task, task, args, kwargs, at=_when(data), priority=priority, actor=actor(),
                   ip=client_ip())
    return respond(job_json(jobs.get_run(job_id)), 201, location=url_for("adminapi.get_job", job_id=job_id))


@endpoint("POST", "/jobs/retry-failed", scope="jobs:write", tag="jobs", summary="Retry every failed job",
          description="Of one task when `task` is given. Jobs whose task no longer exists are skipped.",
          body={"type": "object", "properties": {"task": {"type": "string", "maxLength": 100}}},
          response={"type": "object", "required": ["retried", "skipped"], "properties": {
              "retried": {"type": "integer"}, "skipped": {"type": "integer"}}})
def retry_failed_jobs() -> Response:
    name = body().get("task", "") if request.content_length else ""  # a body is optional here
    if not isinstance(name, str) or len(name) > 100:
        raise Problem(422, "task is a task's name.", {"task": "a task's name"})
    return respond(_call(jobs.retry_all_failed, actor(), client_ip(), task=name.strip()))


@endpoint("GET", "/jobs/schedules", scope="jobs:read", tag="jobs", summary="List the recurring schedules",
          response={"type": "object", "required": ["items"], "properties": {
              "items": {"type": "array", "items": {"$ref": "#/components/schemas/JobSchedule"}}}})
def list_schedules() -> Response:
    return respond({"items": [schedule_json(s) for s in jobs.list_schedules()]})


@endpoint("POST", "/jobs/schedules/<name>/run", scope="jobs:write", tag="jobs",
          summary="Run a schedule's task now", description="Its timetable is unchanged.", response="Job",
          status=201)
def run_schedule(name: str) -> Response:
    job_id = _call(jobs.run_schedule_now, name, actor(), client_ip())
    return respond(job_json(jobs.get_run(job_id)), 201, location=url_for("adminapi.get_job", job_id=job_id))


@endpoint("GET", "/jobs/<job_id>", scope="jobs:read", tag="jobs", summary="One job, with its traceback",
          description="With its arguments, every attempt (each with its error and traceback), what Redis knows "
                      "of it now and the admin actions taken on it.", response="JobDetail")
def get_job(job_id: str) -> Response:
    info = _call(jobs.detail, job_id)
    live = {k: rfc3339(v) if isinstance(v, datetime) else v for k, v in info["live"].items()}
    actions = [{"action": e.action, "actor": e.actor, "at": rfc3339(e.at)} for e in info["actions"]]
    return respond({**job_json(info["run"], full=True), "attempts_detail": [_attempt_json(a) for a in info["attempts"]],
                    "live": live, "actions": actions})


@endpoint("POST", "/jobs/<job_id>/cancel", scope="jobs:write", tag="jobs", summary="Cancel or stop a job",
          description="A waiting job never runs; a running one is stopped. 409 when it has already ended.",
          response="JobAction", errors=(409,))
def cancel_job(job_id: str) -> Response:
    return respond({"id": job_id, "status": _call(jobs.cancel, job_id, actor(), client_ip())})


@endpoint("POST", "/jobs/<job_id>/retry", scope="jobs:write", tag="jobs", summary="Run a job again",
          description="A failed, stopped or canceled job, or one waiting for its next retry (then at once). "
                      "409 for a job in another state.",
          response="JobAction", errors=(409,))
def retry_job(job_id: str) -> Response:
    return respond({"id": job_id, "status": _call(jobs.retry, job_id, actor(), client_ip())})
