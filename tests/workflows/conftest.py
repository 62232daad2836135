"""Workflow tests: real workers (subprocesses, or RQ's SimpleWorker in this process), real Redis
and database of the test run, and test-only step handlers (tests/workflows/handlers.py)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

import tests.workflows.handlers  # noqa: F401  (registers test.* handlers in this process)
from tests.jobs.helpers import run_jobs_here, start_worker, wait_for  # noqa: F401  (fixture, helpers)

HANDLER_ENV = {"NOUS_WORKFLOW_HANDLER_MODULES": "tests.workflows.handlers"}
ADMIN = "admin@nous.test"


@pytest.fixture
def wf_worker(start_worker):  # noqa: F811
    """A real `flask nous worker` subprocess that also knows the test handlers."""

    def start(*args: str):
        return start_worker(*args, env=HANDLER_ENV)

    return start


@pytest.fixture
def make_workflow(ctx) -> Callable[..., object]:
    from nous.workflows import service

    def make(text: str, enabled: bool = True):
        return service.create(textwrap.dedent(text), ADMIN, enabled=enabled)

    return make


def run_here() -> None:
    """Run every queued job (the steps queue each other) in this process, then return."""
    run_jobs_here()


def run_status(run_id: int) -> str:
    from nous.extensions import db
    from nous.workflows.models import WorkflowRun

    db.session.expire_all()
    return db.session.get(WorkflowRun, run_id).status


def steps(run_id: int) -> dict[str, object]:
    from nous.extensions import db
    from nous.workflows import engine

    db.session.expire_all()
    return {s.step_id: s for s in engine.steps_of(run_id)}
