"""The job layer's tasks under their former path: RQ finds a job's function by the dotted path stored with
it, and jobs queued before these tasks moved to `nous.jobs.tasks` still name this module."""

from nous.jobs.tasks import fail, noop, prune_history, sleep

__all__ = ["fail", "noop", "prune_history", "sleep"]
