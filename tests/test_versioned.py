"""nous.versioned.Followed: a per-process copy that follows its version key. A copy bound to an app is
read without any app context (it asks that app's Redis and loads inside that app's context), and
work given as `before_check` travels with each version check, not with every read."""

from __future__ import annotations

import threading

from flask import current_app, has_app_context

from nous.versioned import Followed

KEY = "nous:test:versioned"


def test_a_copy_bound_to_an_app_is_read_and_follows_changes_outside_any_app_context(app, redis_conn) -> None:
    loaded_in: list[object] = []
    source = {"value": 1}

    def load() -> int:
        loaded_in.append(current_app._get_current_object() if has_app_context() else None)
        return source["value"]

    copy = Followed(KEY, load, 0, check_every=0.0, app=app)
    answers: list[int] = []
    reader = threading.Thread(target=lambda: answers.append(copy.get()))  # a thread has no app context
    reader.start()
    reader.join()
    assert answers == [1] and loaded_in == [app]
    source["value"] = 2
    copy.changed()  # announced through the app's Redis
    assert redis_conn.get(KEY) is not None
    other = Followed(KEY, load, 0, check_every=0.0, app=app)
    assert other.get() == 2 and copy.get() == 2


def test_before_check_runs_with_each_version_check_only(app, redis_conn) -> None:
    checks: list[int] = []
    copy = Followed(KEY, lambda: "v", "", check_every=60.0, app=app, before_check=lambda: checks.append(1))
    assert copy.get() == "v"
    for _ in range(100):
        copy.get()  # within check_every: the copy as it is, no check
    assert len(checks) == 1
    copy.refresh()
    assert len(checks) == 2


def test_recheck_asks_for_the_version_at_once_and_reloads_only_on_a_change(app, redis_conn) -> None:
    source = {"value": 1}
    copy = Followed(KEY, lambda: source["value"], 0, check_every=60.0, app=app)
    assert copy.get() == 1
    source["value"] = 2
    redis_conn.set(KEY, "announced-by-another-process")
    assert copy.get() == 1  # within check_every: not looked at yet
    assert copy.recheck() == 2
    loads = copy.loads
    assert copy.recheck() == 2 and copy.loads == loads  # the same version: one GET, no reload
