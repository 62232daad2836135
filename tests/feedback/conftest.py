"""Fixtures of the feedback tests."""

from __future__ import annotations

from typing import Any

import pytest

from nous.feedback import service as feedback
from tests.feedback.helpers import GOOD, set_setting


@pytest.fixture
def unlimited(app: Any) -> None:
    """The feedback rate limit out of the way, for tests that post a lot."""
    set_setting(app, "feedback.rate_limit", "100000/minute")


@pytest.fixture(autouse=True)
def _empty_cache(request: pytest.FixtureRequest) -> None:
    """The statistics are cached per process (flask-caching); tests start without them."""
    if "app" in request.fixturenames:
        from nous.extensions import cache

        with request.getfixturevalue("app").app_context():
            cache.clear()


@pytest.fixture(autouse=True)
def _fresh_flag_snapshot(request: pytest.FixtureRequest) -> None:
    """Tables are emptied after every test; the process's flag snapshot must follow (the flags recorded
    with feedback are evaluated from it). Test modules elsewhere that record flags import this fixture."""
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions["nous.flags"].reset()


@pytest.fixture
def row_id(ctx: Any) -> int:
    """One stored feedback (GOOD), inside an app context."""
    return feedback.submit(GOOD).id
