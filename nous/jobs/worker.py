"""The RQ worker process: builds its own app, listens on high, default, low with the scheduler.

What it adds to RQ's forking `Worker` (and why):
- the durable history is written here, in the worker process around each job, not in the forked
  work-horse (which would need a new database connection per job);
- heartbeats every 5 s with a 15 s grace, and a sweep of the started-job registry every 5 s, so a
  job whose worker was killed is found and retried within half a minute (RQ's defaults take
  minutes: 30 s monitoring + 60 s grace, maintenance every 10 minutes); both are worker options;
- the work-horse and the scheduler process die with the worker (PR_SET_PDEATHSIG): a SIGKILLed
  worker leaves no orphan that could finish a job a second time after it was retried;
- scheduler locks expire 10 s after their holder dies instead of 61 s, so a new worker takes over
  scheduled jobs quickly;
- the scheduler process also runs the recurring schedules (one leader through a Redis lock) and,
  every `reconcile_interval` seconds, makes the history and Redis agree (jobs Redis lost are put
  back from the history; outcomes the history missed are taken from RQ);
- outages pause the worker instead of ending it: a Redis call that fails is tried again with
  backoff (a running work-horse is kept, and its outcome is written once Redis answers), and no
  job is taken while the database is unreachable (its history could not be written).

Kept as one module of about 600 lines: the worker, its scheduler and their outage handling share
the timings, the fork guards and the Redis retry helpers defined at the top.
"""

from __future__ import annotations

import ctypes
import gc
import logging
import math
import os
import signal
import time
import weakref
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import redis
from flask import Flask, current_app
from rq import Queue, SimpleWorker, Worker, worker_registration
from rq.defaults import DEFAULT_LOGGING_DATE_FORMAT, DEFAULT_LOGGING_FORMAT
from rq.exceptions import AbandonedJobError, StopRequested
from rq.executions import Execution
from rq.job import Job
from rq.registry import ScheduledJobRegistry, StartedJobRegistry
from rq.scheduler import RQScheduler
from rq.scripts import ACQUIRE_OR_REFRESH_LOCK_SCRIPT, acquire_or_refresh_lock, release_lock
from rq.utils import now as rq_now
from rq.utils import utcformat
from sqlalchemy import event, exc, text
from sqlalchemy.engine import Engine

from nous import events
from nous.clock import utcnow
from nous.extensions import db, get_redis
from nous.jobs import announce, history, runtime, service
from nous.jobs import registry as tasks
from nous.jobs.models import FAILED, STARTED
from nous.telemetry import maybe_flush

log = logging.getLogger("nous.worker")

JOB_MONITORING_INTERVAL = 5  # seconds between heartbeats of a running job
HEARTBEAT_GRACE = 15  # a job whose heartbeat is this late is abandoned
MAINTENANCE_INTERVAL = 5  # registry clean-up in idle workers
DEQUEUE_TIMEOUT = 5  # idle workers wake this often (heartbeat, maintenance)
SCHEDULER_LOCK_TTL = 10
SWEEP_INTERVAL = 5  # the scheduler's sweep of started jobs
# After Redis failed them, the sweep and RQ's registry clean-up wait the jobs' heartbeat interval plus
# this long, so running jobs can send a heartbeat again before they are judged (an outage longer than
# the grace would otherwise make every running job look abandoned, and run it twice).
SWEEP_HOLD_MARGIN = 5.0
HOUSEKEEPING_INTERVAL = 60  # re-send stuck mail
RECONCILE_INTERVAL = 10  # seconds between two passes that restore jobs Redis lost (a worker option)
BACKOFF_START = 0.5  # seconds before the first retry of a failed Redis or database call, doubled each time
BACKOFF_MAX = 5.0
CRON_LOCK = "nous:cron:leader"
ERROR_LOG_INTERVAL = 60  # seconds between two reports of the same scheduler failure
PR_SET_PDEATHSIG = 1
REDIS_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
DB_ERRORS = (exc.OperationalError, exc.InterfaceError)  # what a database that went away raises

T = TypeVar("T")


class NousJob(Job):
    """RQ's job; a retry is scheduled no earlier than its interval (RQ keeps whole seconds and
    rounds down, so a 2 s retry could start after 1.1 s)."""

    def retry(self, queue: Queue, pipeline: Any) -> None:
        interval = self.get_retry_interval() if self.retries_left else 0
        super().retry(queue, pipeline)
        if interval:
            registry = ScheduledJobRegistry(queue=queue)
            pipeline.zadd(registry.key, {self.id: math.ceil(time.time() + interval)})


def _load_prctl() -> Any:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_prctl = _load_prctl()  # loaded once, before any fork
_guarded_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this forked process when its parent dies (no-op elsewhere)."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:  # the parent died before that took effect
        os._exit(1)


def guard_connections_across_fork(engine: Engine) -> None:
    """SQLAlchemy's recipe for a pool used across os.fork(): a connection made in another process is
    never used here; it is dropped without being closed (closing would disturb its owner). Unlike
    disposing of the pool in every child, this costs nothing for jobs that do not use the database."""
    if engine in _guarded_engines:
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout", insert=True)  # before any listener that would use the connection
    def _checkout(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None
            raise exc.DisconnectionError("connection made in another process; making a new one")

    _guarded_engines.add(engine)
    engine.dispose()  # connections made before the guard carry no pid: close them here, in their process


def _database_answers() -> bool:
    """Whether the database answers a round trip now (a step's database error may be the step's own)."""
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except exc.SQLAlchemyError:
        return False
    finally:
        db.session.rollback()


def until_redis(what: str, fn: Callable[[], T], stopping: Callable[[], bool] = lambda: False) -> T:
    """`fn()`, tried again with backoff (0.5 s doubling to 5 s) while Redis is unreachable; the outage
    is logged once. Raises StopRequested when `stopping()` says the worker is asked to stop."""
    wait = BACKOFF_START
    failed_at: float | None = None
    while True:
        try:
            value = fn()
        except REDIS_ERRORS as exc:
            if stopping():
                raise StopRequested() from exc
            if failed_at is None:
                failed_at = time.monotonic()
                log.warning("Redis is not reachable; trying again", extra={"step": what, "error": str(exc)[:200]})
            time.sleep(wait)
            wait = min(wait * 2, BACKOFF_MAX)
            continue
        if failed_at is not None:
            log.warning("Redis answers again", extra={"step": what, "after_s": round(time.monotonic() - failed_at, 1)})
        return value


def abandoned_handler(job: Job, exc_type: type[BaseException] | None, exc_value: Any, tb: Any) -> bool:
    """Exception handler given to the started-registry clean-up: write down abandoned jobs."""
    if exc_type is AbandonedJobError:
        history.record_abandoned(job, will_retry=bool(job.retries_left and job.retries_left > 0))
    return True


def sweep_abandoned(connection: Any, queue_names: list[str]) -> None:
    """RQ's own abandoned-job handling, run now: expired started jobs are retried or failed."""
    for name in queue_names:
        queue = Queue(name, connection=connection, job_class=NousJob)
        if queue.acquire_maintenance_lock():
            try:
                StartedJobRegistry(queue=queue, job_class=NousJob).cleanup(exception_handlers=[abandoned_handler])
            finally:
                queue.release_maintenance_lock()


def notify_failure(job: Job, outcome: dict[str, Any]) -> None:
    task = tasks.tasks_registry.get(str(job.meta.get("task", "")))
    if task is None or not task.notify_on_failure:
        return
    try:
        events.job_failed.send(None, job_id=job.id, task=task.name, error=outcome.get("error", ""))
    except Exception:  # notification is best effort; the failure itself is on record
        log.exception("could not send the job-failed email", extra={"job_id": job.id})


class NousScheduler(RQScheduler):
    """RQ's scheduler process, with short lock lifetimes, the cron leader and the abandoned-job sweep."""

    def __init__(self, *args: Any, app: Flask, reconcile_interval: float = RECONCILE_INTERVAL,
                 job_monitoring_interval: float = JOB_MONITORING_INTERVAL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.app = app
        self.parent_pid = os.getpid()
        self.reconcile_interval = reconcile_interval
        self.sweep_hold = job_monitoring_interval + SWEEP_HOLD_MARGIN
        self.leader = False  # holds the cron lock: runs the schedules and the reconciler
        self.redis_failed_at = -1e9  # monotonic time of the last Redis failure any step saw
        self._reported: dict[tuple[str, str, str], float] = {}

    def acquire_locks(self, auto_start: bool = False) -> set[str]:
        successful = set()
        for name in self._queue_names:
            outcome = acquire_or_refresh_lock(self.connection, self.get_locking_key(name), self.name,
                                              SCHEDULER_LOCK_TTL)
            if outcome in ("acquired", "refreshed"):
                successful.add(name)
        self._scheduled_job_registries = []
        self._acquired_locks = successful
        self.lock_acquisition_time = datetime.now()
        if self._acquired_locks and auto_start and (not self._process or not self._process.is_alive()):
            self.start()
        return successful

    @property
    def should_reacquire_locks(self) -> bool:
        """A queue whose lock this scheduler does not hold is tried again after SCHEDULER_LOCK_TTL
        seconds (RQ waits 2 minutes): when the holder died, or lost the lock in an outage, scheduled
        jobs wait no longer than that."""
        if self._queue_names == self.acquired_locks:
            return False
        elapsed = (datetime.now() - self.lock_acquisition_time).total_seconds() if self.lock_acquisition_time else None
        return elapsed is None or elapsed > SCHEDULER_LOCK_TTL

    def heartbeat(self) -> None:
        self.last_heartbeat = rq_now()
        names = sorted(self._acquired_locks)
        script = self.connection.register_script(ACQUIRE_OR_REFRESH_LOCK_SCRIPT)
        with self.connection.pipeline() as pipe:
            pipe.hset(self.key, "last_heartbeat", utcformat(self.last_heartbeat))
            pipe.expire(self.key, SCHEDULER_LOCK_TTL)
            for name in names:
                script(keys=[self.get_locking_key(name)], args=[self.name, SCHEDULER_LOCK_TTL], client=pipe)
            results = pipe.execute()
        lost = {name for name, outcome in zip(names, results[2:], strict=False) if outcome == 0}
        if lost:
            self._acquired_locks -= lost
            self._scheduled_job_registries = []

    def save(self, pipeline: Any = None) -> None:
        conn = pipeline if pipeline is not None else self.connection.pipeline()
        conn.hset(self.key, mapping=self.to_dict())
        conn.expire(self.key, SCHEDULER_LOCK_TTL)
        if pipeline is None:
            conn.execute()

    def tick_cron(self) -> None:
        self.leader = acquire_or_refresh_lock(self.connection, CRON_LOCK, self.name, SCHEDULER_LOCK_TTL) != "taken"
        if not self.leader:
            return
        service.run_due_schedules()

    def reconcile(self) -> None:
        if not self.leader:  # one reconciler at a time: two could put the same lost job back twice
            return
        service.reconcile()

    def housekeeping(self) -> None:
        events.jobs_housekeeping.send(None)

    def _guarded(self, what: str, fn: Any) -> None:
        try:
            fn()
        except Exception as exc:  # the scheduler keeps scheduling whatever one step does
            db.session.rollback()
            # The same failure every second (Redis or the database down, not migrated) is logged once a minute.
            key = (what, type(exc).__name__, str(exc)[:200])
            if isinstance(exc, REDIS_ERRORS):
                self.redis_failed_at = time.monotonic()
            if time.monotonic() - self._reported.get(key, -1e9) >= ERROR_LOG_INTERVAL:
                self._reported[key] = time.monotonic()
                if isinstance(exc, REDIS_ERRORS):
                    log.warning("scheduler step waits for Redis", extra={"step": what, "error": str(exc)[:200]})
                elif isinstance(exc, DB_ERRORS) and not _database_answers():
                    log.warning("scheduler step waits for the database",
                                extra={"step": what, "error": str(exc).splitlines()[0][:200]})
                else:
                    log.error("scheduler step failed", exc_info=True, extra={"step": what})

    def _locks_and_heartbeat(self) -> None:
        if self.should_reacquire_locks:
            self.acquire_locks()
        self.heartbeat()

    def _stop(self) -> None:
        try:
            self.stop()
            release_lock(self.connection, CRON_LOCK, self.name)
        except REDIS_ERRORS:  # the locks expire by themselves
            pass

    def work(self) -> None:
        die_with_parent(self.parent_pid)
        with self.app.app_context():
            self._install_signal_handlers()
            # A scheduler started just now (perhaps because an outage let its lock expire) gives running
            # jobs the same time to send a heartbeat before its first sweep.
            self.redis_failed_at = time.monotonic()
            self._guarded("birth", self.register_birth)
            self._guarded("sync schedules", self._sync_schedules)
            last_sweep = last_housekeeping = last_reconcile = 0.0
            while True:
                if self._stop_requested:
                    self._stop()
                    break
                # Each step on its own: a Redis or database outage skips a turn, never ends the loop.
                self._guarded("heartbeat", self._locks_and_heartbeat)
                self._guarded("scheduled jobs", self.enqueue_scheduled_jobs)
                self._guarded("cron", self.tick_cron)
                mono = time.monotonic()
                if mono - last_sweep >= SWEEP_INTERVAL and mono - self.redis_failed_at >= self.sweep_hold:
                    last_sweep = mono
                    self._guarded("sweep", lambda: sweep_abandoned(self.connection, sorted(self._queue_names)))
                if mono - last_reconcile >= self.reconcile_interval:
                    last_reconcile = mono
                    self._guarded("reconcile", self.reconcile)
                if mono - last_housekeeping >= HOUSEKEEPING_INTERVAL:
                    last_housekeeping = mono
                    self._guarded("housekeeping", self.housekeeping)
                db.session.remove()
                time.sleep(self.interval)

    def _sync_schedules(self) -> None:
        service.sync_declared_schedules()

    def run_once(self) -> None:
        """Burst mode: what one turn of the loop does, in this process."""
        self.enqueue_scheduled_jobs()
        self._guarded("sync schedules", self._sync_schedules)
        self._guarded("cron", self.tick_cron)
        self._guarded("sweep", lambda: sweep_abandoned(self.connection, sorted(self._queue_names)))


class OutageMixin:
    """Redis and database outages pause the worker instead of ending it (RQ's own loop quits on any
    Redis error outside its wait for the next job). Redis calls are tried again with backoff; a
    running work-horse is kept and writes its outcome once Redis answers; no job is taken while
    the database is unreachable."""

    name: str
    is_horse: bool
    _stop_requested: bool
    _history: history.Writer | None = None
    redis_failed_at = -1e9  # monotonic time of the last Redis failure this worker saw

    def _until_redis(self, what: str, fn: Callable[[], T]) -> T:
        def noted() -> T:
            try:
                return fn()
            except REDIS_ERRORS:
                self.redis_failed_at = time.monotonic()
                raise

        return until_redis(what, noted, stopping=lambda: self._stop_requested and not self.is_horse)

    def _best_effort(self, what: str, fn: Callable[[], Any]) -> None:
        """A Redis write that the next turn repeats anyway (heartbeats, state, registry clean-up)."""
        try:
            fn()
        except REDIS_ERRORS as exc:
            self.redis_failed_at = time.monotonic()
            log.debug("Redis is not reachable; skipped", extra={"step": what, "error": str(exc)[:200]})

    @property
    def history_writer(self) -> history.Writer:
        if self._history is None:
            self._history = history.Writer()
        return self._history

    def wait_for_database(self) -> None:
        """Return once the database answers (at once if it did a moment ago)."""
        writer = self.history_writer
        if writer.reachable():
            return
        wait, since = BACKOFF_START, time.monotonic()
        log.warning("the database is not reachable; taking no jobs until it is", extra={"worker": self.name})
        while not writer.reachable():
            if self._stop_requested:
                raise StopRequested()
            self.heartbeat()  # type: ignore[attr-defined]  # still alive, only waiting
            time.sleep(wait)
            wait = min(wait * 2, BACKOFF_MAX)
        log.warning("the database answers again", extra={"worker": self.name,
                                                          "after_s": round(time.monotonic() - since, 1)})

    def dequeue_job_and_maintain_ttl(self, timeout: int | None, max_idle_time: int | None = None) -> Any:
        """RQ's wait for the next job, entered only while the database answers."""
        self.wait_for_database()
        return self._until_redis("dequeue", lambda: super(OutageMixin, self).dequeue_job_and_maintain_ttl(  # type: ignore[misc]
            timeout, max_idle_time))

    def give_back(self, job: Job, queue: Queue) -> None:
        """Put a job this worker took but will not run back at the front of its queue."""
        def push() -> None:
            with queue.connection.pipeline() as pipe:
                pipe.lrem(queue.intermediate_queue_key, 1, job.id)
                pipe.lpush(queue.key, job.id)
                pipe.execute()

        self._until_redis("give back", push)
        log.warning("job given back to its queue: the database is not reachable", extra={"job_id": job.id})

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)  # type: ignore[misc]
            return
        self._best_effort("heartbeat", lambda: self._heartbeat(timeout))

    def _heartbeat(self, timeout: int | None) -> None:
        """RQ's heartbeat in one round trip; a worker whose record Redis lost (a flush, a restart
        without persistence) registers again, so the console and the health check still see it."""
        with self.connection.pipeline() as pipe:  # type: ignore[attr-defined]
            super().heartbeat(timeout, pipeline=pipe)  # type: ignore[misc]
            pipe.sismember(self.redis_workers_keys, self.key)  # type: ignore[attr-defined]
            *_, registered = pipe.execute()
        if not registered:
            with self.connection.pipeline() as pipe:  # type: ignore[attr-defined]
                pipe.hset(self.key, mapping={**self.serialize(), "state": self._state})  # type: ignore[attr-defined]
                worker_registration.register(self, pipe)  # type: ignore[arg-type]
                pipe.expire(self.key, timeout or self.worker_ttl + 60)  # type: ignore[attr-defined]
                pipe.execute()
            log.warning("worker registered again: Redis had lost its record", extra={"worker": self.name})

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().set_state(state, pipeline=pipeline)  # type: ignore[misc]
            return
        self._best_effort("state", lambda: super(OutageMixin, self).set_state(state))  # type: ignore[misc]

    def check_for_suspension(self, burst: bool) -> None:
        self._until_redis("suspension", lambda: super(OutageMixin, self).check_for_suspension(burst))  # type: ignore[misc]

    def run_maintenance_tasks(self) -> None:
        if time.monotonic() - self.redis_failed_at < self.job_monitoring_interval + SWEEP_HOLD_MARGIN:  # type: ignore[attr-defined]
            return  # RQ's clean-up judges running jobs by their heartbeats: give them time to come back
        self._best_effort("maintenance", super().run_maintenance_tasks)  # type: ignore[misc]

    def prepare_execution(self, job: Job) -> Execution:
        return self._until_redis("job start", lambda: super(OutageMixin, self).prepare_execution(job))  # type: ignore[misc]

    def _finalize_success(self, job: Job, queue: Queue, execution: Execution, return_value: Any) -> None:
        self._until_redis("job outcome", lambda: super(OutageMixin, self)._finalize_success(  # type: ignore[misc]
            job, queue, execution, return_value))

    def _finalize_failure(self, job: Job, queue: Queue, execution: Execution, exc_info: Any) -> None:
        self._until_redis("job outcome", lambda: super(OutageMixin, self)._finalize_failure(  # type: ignore[misc]
            job, queue, execution, exc_info))

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        except REDIS_ERRORS:  # the worker's key expires by itself
            log.warning("worker stopped without telling Redis", extra={"worker": self.name})


class HistoryMixin(OutageMixin):
    """Write the job history around each job, in the worker process."""

    def execute_job(self, job: Job, queue: Queue) -> None:
        started = utcnow()
        # Written before the fork, not while the work-horse runs: on a busy machine the pages the
        # parent would touch meanwhile are copied for the child (copy-on-write), which costs more.
        attempt = history.record_started(job.id, self.name, self.history_writer)
        if attempt is None and not self.history_writer.reachable(fresh=True):
            self.give_back(job, queue)  # the database went away while this worker waited for the job
            return
        runtime.current_attempt = attempt  # the work-horse forked next reports progress with it
        task, queue_name = announce.meta_of(job)
        announce.job_event(job.id, task, STARTED, queue=queue_name, attempt=attempt)
        try:
            super().execute_job(job, queue)  # type: ignore[misc]
        finally:
            outcome = history.record_ended(job, started, utcnow(), self.history_writer)
            if outcome:
                announce.job_event(job.id, task, outcome["status"], queue=queue_name, attempt=attempt,
                                   progress=outcome.get("progress"), error=outcome.get("error"))
            if outcome and outcome["status"] == FAILED:
                notify_failure(job, outcome)
            maybe_flush(self.connection)  # type: ignore[attr-defined]  # this process's DB statistics

    def _start_scheduler(self, burst: bool = False, logging_level: str | None = "INFO", date_format: str = "",
                         log_format: str = "") -> None:
        self.scheduler = NousScheduler(  # type: ignore[attr-defined]
            self.queues, connection=self.connection,  # type: ignore[attr-defined]
            logging_level=logging_level or "INFO", date_format=date_format or DEFAULT_LOGGING_DATE_FORMAT,
            log_format=log_format or DEFAULT_LOGGING_FORMAT, serializer=self.serializer,  # type: ignore[attr-defined]
            app=current_app._get_current_object(),  # type: ignore[attr-defined]
            reconcile_interval=self.reconcile_interval,
            job_monitoring_interval=self.job_monitoring_interval,  # type: ignore[attr-defined]
        )
        scheduler: NousScheduler = self.scheduler  # type: ignore[attr-defined]
        scheduler.acquire_locks()
        if scheduler.acquired_locks:
            if burst:
                try:
                    scheduler.register_birth()
                    scheduler.run_once()
                finally:
                    scheduler.release_locks()
                    scheduler.register_death()
            else:
                scheduler.start()

    reconcile_interval: float = RECONCILE_INTERVAL

    @property
    def dequeue_timeout(self) -> int:
        return DEQUEUE_TIMEOUT

    def teardown(self) -> None:
        try:
            super().teardown()  # type: ignore[misc]
        finally:
            if self._history is not None and not self.is_horse:  # type: ignore[attr-defined]
                self._history.close()
                self._history = None


class NousWorker(HistoryMixin, Worker):
    """RQ's forking worker with the history, fast abandoned-job detection and no orphans."""

    heartbeat_grace = HEARTBEAT_GRACE

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        if job.timeout and job.timeout > 0:
            remaining = max(1.0, job.timeout - working_time)
            return int(min(remaining, self.job_monitoring_interval)) + self.heartbeat_grace
        return self.job_monitoring_interval + self.heartbeat_grace

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        die_with_parent(self.pid or 0)
        # What the work-horse inherited stays out of its garbage collections: a collection would
        # walk (and so copy, page by page) the worker's whole heap for a job that never frees it.
        gc.freeze()
        super().main_work_horse(job, queue)

    _horse_exit: tuple[Any, Any, Any] | None = None

    def wait_for_horse(self) -> tuple[Any, Any, Any]:
        """The work-horse's exit, kept until the job's outcome is written (a Redis outage may make
        that take more than one try)."""
        if self._horse_exit is None:
            pid, status, rusage = super().wait_for_horse()
            if pid:
                self._horse_exit = (pid, status, rusage)
            return pid, status, rusage
        return self._horse_exit

    def monitor_work_horse(self, job: Job, queue: Queue, execution: Execution) -> None:
        """RQ's monitor, tried again while Redis is unreachable: the work-horse keeps running, and
        once it has ended its exit is handled as soon as Redis answers."""
        self._horse_exit = None
        try:
            self._until_redis("job monitor", lambda: super(NousWorker, self).monitor_work_horse(job, queue, execution))
        finally:
            self._horse_exit = None

    def maintain_heartbeats(self, job: Job, execution: Execution) -> None:
        try:
            super().maintain_heartbeats(job, execution)
            # Survives a flushed Redis (RQ's own heartbeats only refresh keys that still exist): the
            # reconciler leaves a job alone while its worker says it is still on it.
            self.connection.set(history.RUNNING_KEY.format(job.id), self.name,
                                ex=self.job_monitoring_interval + self.heartbeat_grace)
        except REDIS_ERRORS as exc:  # the work-horse goes on; the next heartbeat tries again
            self.redis_failed_at = time.monotonic()
            log.warning("job heartbeat missed: Redis is not reachable",
                        extra={"job_id": job.id, "error": str(exc)[:200]})

    def handle_work_horse_killed(self, job: Job, retpid: Any, ret_val: Any, rusage: Any) -> None:
        sig = os.WTERMSIG(ret_val) if ret_val and os.WIFSIGNALED(ret_val) else None
        message = f"WorkHorseKilled: the process running the job ended unexpectedly (signal {sig}, status {ret_val})"
        try:
            job.get_meta(refresh=True)
            job.meta["error"] = {"type": "WorkHorseKilled", "message": message[:500], "traceback": message}
            job.save_meta()
        except Exception:  # noqa: BLE001
            log.warning("could not note the killed work-horse", extra={"job_id": job.id})
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)


class NousSimpleWorker(HistoryMixin, SimpleWorker):
    """Runs jobs in its own process (no fork): for tests and debugging."""


def make_worker(queue_names: list[str], name: str | None = None, simple: bool = False,
                job_monitoring_interval: int = JOB_MONITORING_INTERVAL,
                heartbeat_grace: int = HEARTBEAT_GRACE, reconcile_interval: float = RECONCILE_INTERVAL) -> Worker:
    conn = get_redis()
    cls = NousSimpleWorker if simple else NousWorker
    worker = cls(
        [Queue(q, connection=conn, job_class=NousJob) for q in queue_names], connection=conn, name=name,
        job_class=NousJob,
        job_monitoring_interval=job_monitoring_interval, maintenance_interval=MAINTENANCE_INTERVAL,
        worker_ttl=DEQUEUE_TIMEOUT + 30,
    )
    worker.reconcile_interval = reconcile_interval
    worker.max_connection_wait_time = BACKOFF_MAX  # RQ's own backoff while waiting for a job (default 60 s)
    if isinstance(worker, NousWorker):
        worker.heartbeat_grace = heartbeat_grace
        guard_connections_across_fork(db.engine)
    worker.push_exc_handler(abandoned_handler)
    return worker


def run_worker(queue_names: list[str], burst: bool = False, name: str | None = None, *, simple: bool = False,
               job_monitoring_interval: int = JOB_MONITORING_INTERVAL, heartbeat_grace: int = HEARTBEAT_GRACE,
               reconcile_interval: float = RECONCILE_INTERVAL) -> bool:
    """Work on `queue_names` (in that order) with the scheduler until stopped (or, with `burst`,
    until the queues are empty). Returns whether any job was processed.

    A running job's heartbeat comes every `job_monitoring_interval` seconds; one that is
    `heartbeat_grace` seconds late is abandoned (its worker died) and retried per its policy. The
    scheduler puts back jobs Redis lost every `reconcile_interval` seconds."""
    tasks.discover()
    worker = make_worker(queue_names, name=name, simple=simple, job_monitoring_interval=job_monitoring_interval,
                         heartbeat_grace=heartbeat_grace, reconcile_interval=reconcile_interval)
    log.info("worker starting", extra={"queues": queue_names, "burst": burst, "worker": worker.name})
    with current_app.app_context():
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
