"""What the workflows service refuses: the message says why."""

from __future__ import annotations

from typing import Any

from nous.workflows.models import Workflow


class WorkflowError(ValueError):
    """The request cannot be done; the message says why."""


class NotFound(WorkflowError):
    pass


class WorkflowConflict(WorkflowError):
    """A save decided on an older version of the workflow: `current` is the workflow now, `changes` its
    latest audit entries (oldest first)."""

    status = 409

    def __init__(self, current: Workflow, seen: int, changes: list[Any]) -> None:
        who = f" by {changes[-1].actor}" if changes else ""
        super().__init__(f"{current.name} was changed{who} since you opened it (version {seen} → {current.version}); "
                         "nothing was saved. Your text is kept below, next to the stored one.")
        self.message = str(self)
        self.current = current
        self.changes = changes
