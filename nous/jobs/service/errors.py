"""The job layer's errors: what a caller asked cannot be done, and the message says why."""


class JobError(Exception):
    """Something the caller asked cannot be done; the message says why."""


class JobNotFound(JobError):
    pass


class UnknownTask(JobError):
    pass


class BadArguments(JobError, ValueError):
    """Arguments, a priority or a schedule's timetable a task cannot take: the caller's input, named by
    `field`, as opposed to a job whose state refuses an action. Also a ValueError, the type these
    refusals had before they had a class of their own."""

    def __init__(self, message: str, field: str = "args") -> None:
        super().__init__(message)
        self.field = field
