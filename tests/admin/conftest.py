"""Fixtures of the console tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _forget_sign_outs(request: pytest.FixtureRequest) -> Iterator[None]:
    """The tables are emptied after every test; the process's copy of the sign-outs must follow at once
    (a session generation left from a test would refuse the next test's sessions)."""
    yield
    if "app" in request.fixturenames:
        request.getfixturevalue("app").extensions["nous.admin.sessions"].reset()
