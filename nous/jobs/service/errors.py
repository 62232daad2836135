"""The job layer's errors: what a caller asked cannot be done, and the message says why."""


class JobError(Exception):
    """Something the caller asked cannot be done; the message says why."""


class JobNotFound(JobError):
    pass


class UnknownTask(JobError):
    pass
