"""Fixtures of the testers tests."""

from tests.feedback.conftest import _empty_cache  # noqa: F401  (statistics cached per process)
