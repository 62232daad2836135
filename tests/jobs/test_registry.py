"""The `@task` decorator: names, retry policies, priorities mapped onto the three queues."""

from __future__ import annotations

import pytest
from rq import Retry

from nous.jobs import queue_for, task, tasks_registry
from nous.jobs.registry import discover


@pytest.mark.parametrize(("priority", "queue"), [(1, "high"), (3, "high"), (4, "default"), (7, "default"),
                                                 (8, "low"), (10, "low")])
def test_priority_maps_onto_the_three_queues(priority, queue):
    assert queue_for(priority) == queue


@pytest.mark.parametrize("priority", [0, 11, -1, 5.0, "5", True])
def test_priority_outside_1_to_10_is_refused(priority):
    with pytest.raises(ValueError, match="priority"):
        queue_for(priority)


def test_declared_task_keeps_its_policy_and_stays_callable(ctx):
    from tests.jobs import tasks as test_tasks

    t = tasks_registry["tests.policy"]
    assert t.queue == "high" and t.timeout == 45 and t.max_attempts == 4
    retry = t.rq_retry()
    assert isinstance(retry, Retry) and retry.max == 3 and retry.intervals == [10, 60, 300]
    assert test_tasks.policy(21) == 42  # still a plain function when called directly


def test_module_level_task_path_is_importable_by_rq():
    import importlib

    from tests.jobs import tasks as test_tasks

    t = tasks_registry["tests.flaky"]
    module, _, name = t.path.rpartition(".")
    assert getattr(importlib.import_module(module), name) is test_tasks.flaky


def test_tasks_must_be_module_level_functions():
    with pytest.raises(ValueError, match="module-level"):
        @task("tests.local")
        def local() -> None: ...
    assert "tests.local" not in tasks_registry


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"retry": (3, [10, 60])}, "one interval"),
    ({"retry": (2, [10, -1])}, "one interval"),
    ({"retry": "often"}, "retry must be"),
    ({"priority": 11}, "priority"),
    ({"timeout": 0}, "timeout"),
    ({"cron": "every minute"}, "cron"),
    ({"interval": 0}, "interval"),
])
def test_bad_policies_are_refused_when_declared(kwargs, message):
    with pytest.raises(ValueError, match=message):
        task("tests.bad", **kwargs)


@pytest.mark.parametrize("name", ["Email.Send", "email", "email send", "", "email..send", "1email.send"])
def test_task_names_are_dotted_lower_case(name):
    with pytest.raises(ValueError, match="task name"):
        task(name)


def test_one_name_cannot_be_declared_by_two_functions():
    from tests.jobs import tasks as test_tasks

    discover()
    with pytest.raises(ValueError, match=r"already declared by nous\.jobs\.tasks\.noop"):
        task("jobs.noop")(test_tasks.mark.__wrapped__)
    assert tasks_registry["jobs.noop"].path == "nous.jobs.tasks.noop"


def test_no_retry_policy_means_one_attempt():
    from tests.jobs import tasks as test_tasks  # noqa: F401

    assert tasks_registry["tests.echo"].rq_retry() is None
    assert tasks_registry["tests.echo"].max_attempts == 1


def test_discover_finds_the_tasks_of_every_area():
    discover()
    assert {"jobs.noop", "jobs.sleep", "jobs.fail", "jobs.prune_history", "email.send"} <= set(tasks_registry)
    assert tasks_registry["email.send"].retry_intervals == (5, 30, 120, 600, 1800)
    assert tasks_registry["email.send"].queue == "high"


def test_a_job_queued_under_the_former_module_path_still_finds_its_function(redis_conn):
    """RQ stores a job's function as a dotted path: jobs queued before the tasks moved name nous.jobs.builtin."""
    from rq.job import Job

    from nous.jobs import tasks

    job = Job.create("nous.jobs.builtin.sleep", args=[0.01, 1], connection=redis_conn)
    job.save()
    assert Job.fetch(job.id, connection=redis_conn).func is tasks.sleep
