"""What the workflows service refuses: the message says why."""

from __future__ import annotations

from typing import Any

from nous.errors import Conflict
from nous.workflows.models import Workflow


class WorkflowError(ValueError):
    """The request cannot be done; the message says why."""


class NotFound(WorkflowError):
    pass


class WorkflowConflict(Conflict, WorkflowError):
    """A save decided on an older version of the workflow: `current` is the workflow now, `changes` its
    latest audit entries (oldest first)."""

    def __init__(self, current: Workflow, seen: int, changes: list[Any]) -> None:
        super().__init__(current.name, current, changes,
                         since=f"you opened it (version {seen} → {current.version})",
                         tail="Your text is kept below, next to the stored one.")
