"""The Python API over the per-process cache: no SQL per evaluation, changes everywhere within a second."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from nous import flags
from nous.dbmonitor.monitor import STATS as query_stats
from nous.flags import service
from nous.flags.cache import EVALS, NO_KEY, YES_KEY, get_cache, install, read_counts
from tests.conftest import ROOT
from tests.flags.conftest import constraint, rollout

CTX = {"userId": "tester-1", "sessionId": "s-1", "environment": "production",
       "properties": {"email": "ada@example.com", "appVersion": "2.3.0"}}


def test_python_api_answers_from_the_stored_flags(ctx, make_flag) -> None:
    make_flag("everyone", enabled=True)
    make_flag("prod.only", enabled=True, strategies=[rollout(100, constraint("environment", "IN", ["production"]))])
    make_flag("off")
    make_flag("colours", enabled=True, variants=[
        {"name": "blue", "weight": 1, "payload": {"type": "json", "value": "{\"hex\": \"#00f\"}"}}])
    assert flags.is_enabled("everyone", CTX) is True
    assert flags.is_enabled("prod.only", CTX) is True
    assert flags.is_enabled("prod.only", {**CTX, "environment": "staging"}) is False
    assert flags.is_enabled("off", CTX) is False
    assert flags.is_enabled("no.such.flag", CTX) is False
    assert flags.is_enabled(["not", "a", "key"], CTX) is False  # type: ignore[arg-type]
    assert flags.get_variant("colours", CTX) == {"name": "blue", "enabled": True, "feature_enabled": True,
                                                 "payload": {"type": "json", "value": "{\"hex\": \"#00f\"}"}}
    assert flags.get_variant("off", CTX) == {"name": "disabled", "enabled": False, "feature_enabled": False,
                                             "payload": None}
    assert flags.get_variant("everyone", CTX) == {"name": "disabled", "enabled": False, "feature_enabled": True,
                                                  "payload": None}
    everything = flags.evaluate_all(CTX)
    assert set(everything) == {"everyone", "prod.only", "off", "colours"}
    assert everything["off"] == {"enabled": False, "variant": {"name": "disabled", "enabled": False,
                                                               "feature_enabled": False, "payload": None}}


def test_archived_flags_are_off_and_unknown(ctx, make_flag) -> None:
    make_flag("old", enabled=True)
    assert flags.is_enabled("old") is True
    service.archive_flag("old", actor="t")
    assert flags.is_enabled("old") is False
    assert "old" not in flags.evaluate_all({})


def test_evaluation_runs_no_sql_once_loaded(ctx, make_flag) -> None:
    for i in range(20):
        make_flag(f"f{i}", enabled=True, strategies=[rollout(50, constraint("environment", "IN", ["production"]))])
    flags.evaluate_all(CTX)  # the first evaluation after a change loads (four SELECTs)
    cache = get_cache()
    loads = cache.loads
    before = query_stats.total
    deadline = time.monotonic() + 1.2  # across at least two version checks
    n = 0
    while time.monotonic() < deadline:
        flags.is_enabled(f"f{n % 20}", {**CTX, "userId": f"u{n}"})
        flags.get_variant("f1", CTX)
        n += 1
    flags.evaluate_all(CTX)
    assert query_stats.total == before, "evaluation ran SQL"
    assert cache.loads == loads and n > 1000


def test_evaluations_are_counted_in_batches(ctx, make_flag, redis_conn, monkeypatch) -> None:
    import redis.connection

    make_flag("counted", enabled=True, strategies=[rollout(100, constraint("environment", "IN", ["production"]))])
    flags.is_enabled("counted", CTX)  # load
    EVALS.reset()
    # what this process sends to Redis (the server's own counters include other clients of a shared server)
    sent: list[bytes] = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent.append(command)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
    for i in range(3000):
        flags.is_enabled("counted", {**CTX, "environment": "production" if i % 3 else "dev"})
    monkeypatch.undo()
    assert len(sent) <= 3, f"{len(sent)} Redis round trips for 3000 evaluations"  # a version check or two
    EVALS.flush(redis_conn)
    assert int(redis_conn.hget(YES_KEY, "counted")) == 2000 and int(redis_conn.hget(NO_KEY, "counted")) == 1000
    counts = read_counts(redis_conn)["counted"]
    assert (counts["total"], counts["recent"], counts["recent_yes"]) == (3000, 3000, 2000)
    row = service.overview("counted")[0]
    assert (row["evaluations"], row["evaluations_24h"], row["on_24h"]) == (3000, 3000, 2000)


def test_counts_reach_redis_at_request_teardown(ctx, make_flag, client, redis_conn, token) -> None:
    make_flag("via.api", enabled=True)
    flags.is_enabled("via.api")  # loaded; the next version check is half a second away
    EVALS.reset()
    EVALS._last_flush = 0.0  # a flush is due
    resp = client.post("/api/flags/evaluate", json={"userId": "u"}, headers={"Authorization": token})
    assert resp.status_code == 200
    assert int(redis_conn.hget(YES_KEY, "via.api")) == 1


def test_tester_overrides_win_and_follow_changes(ctx, make_flag) -> None:
    testers = pytest.importorskip("nous.testers.service")
    make_flag("beta.feature", enabled=True, strategies=[rollout(0)])
    make_flag("risky", enabled=True)
    user = testers.add("Ada@Example.com", actor="t")
    assert flags.is_enabled("beta.feature", {"userId": str(user.id)}) is False
    service.set_flag_override(user.id, "beta.feature", True, actor="t")
    service.set_flag_override(user.id, "risky", False, actor="t")
    service.bump_version()  # what the testers service does after a change of flag_set
    assert flags.is_enabled("beta.feature", {"userId": str(user.id)}) is True
    assert flags.is_enabled("beta.feature", {"userId": "ada@example.com"}) is True
    assert flags.is_enabled("beta.feature", {"userId": "ADA@example.com "}) is True
    assert flags.is_enabled("risky", {"userId": str(user.id)}) is False
    assert flags.is_enabled("risky", {"userId": "someone-else"}) is True
    assert flags.get_variant("beta.feature", {"userId": str(user.id)})["feature_enabled"] is True
    assert flags.evaluate_all({"userId": str(user.id)})["risky"]["enabled"] is False
    service.set_flag_override(user.id, "beta.feature", None, actor="t")
    service.bump_version()
    assert flags.is_enabled("beta.feature", {"userId": str(user.id)}) is False


def test_a_change_in_one_process_reaches_another_within_a_second(ctx, make_flag) -> None:
    make_flag("cross", enabled=False)
    watcher = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time\n"
            "from nous import create_app, flags\n"
            "from nous.dbmonitor.monitor import STATS\n"
            "app = create_app()\n"
            "with app.app_context():\n"
            "    assert flags.is_enabled('cross', {}) is False\n"
            "    print('ready', flush=True)\n"
            "    sys.stdin.readline()\n"
            "    start = time.monotonic()\n"
            "    while not flags.is_enabled('cross', {'userId': 'u1'}):\n"
            "        if time.monotonic() - start > 5: print('timeout', flush=True); sys.exit(1)\n"
            "        time.sleep(0.005)\n"
            "    print(f'seen {time.monotonic() - start:.3f}', flush=True)\n")],
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert watcher.stdout.readline().strip() == "ready"
        service.set_enabled("cross", True, actor="test")
        watcher.stdin.write("go\n")
        watcher.stdin.flush()
        line = watcher.stdout.readline().strip()
        watcher.wait(timeout=10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
    assert line.startswith("seen"), line
    assert float(line.split()[1]) < 1.0


def test_redis_down_keeps_evaluating_from_the_database(app, make_flag, monkeypatch) -> None:
    import redis

    make_flag("resilient", enabled=True)
    cache = get_cache()

    class Down:
        """Every Redis command fails as on a refused connection."""

        def __getattr__(self, _name: str) -> object:
            def refused(*_a: object, **_k: object) -> None:
                raise redis.ConnectionError("down")

            return refused

    monkeypatch.setitem(app.extensions, "nous.redis", Down())
    cache.reset()
    assert flags.is_enabled("resilient", {}) is True  # loaded from the database without Redis
    service.set_enabled("resilient", False, actor="t")  # bump_version cannot reach Redis: still applied here
    assert flags.is_enabled("resilient", {}) is False


def test_without_an_app_context_the_last_app_is_used(app, make_flag) -> None:
    install(app)  # this app is the one set up last (other tests make apps of their own)
    make_flag("outside", enabled=True)
    assert flags.is_enabled("outside", {}) is True  # make_flag's context is still open here
    import threading

    answers: list[bool] = []
    thread = threading.Thread(target=lambda: answers.append(flags.is_enabled("outside", {})))
    thread.start()
    thread.join()
    assert answers == [True]


def test_every_path_of_is_enabled_answers_as_the_engine_and_counts(ctx, make_flag) -> None:
    """The public is_enabled takes a short cut for plain dict contexts without tester overrides; other
    contexts, unknown keys and flags with dependencies go through the engine. All answer alike."""
    from types import MappingProxyType

    make_flag("parent", enabled=True, strategies=[rollout(50, constraint("environment", "IN", ["production"]))])
    make_flag("child", enabled=True, dependencies=[{"feature": "parent"}])
    make_flag("switched.off", strategies=[rollout(100)])
    make_flag("versioned", enabled=True, strategies=[rollout(100, constraint("appVersion", "SEMVER_GT", "2.0.0"))])
    engine = flags.cache.snapshot().engine
    EVALS.reset()
    asked = 0
    for i in range(60):
        base = {**CTX, "userId": f"u{i}", "properties": {"appVersion": ("1.0.0", "2.3.0", 7, None)[i % 4]}}
        for context in (base, MappingProxyType(base), None, {"properties": "not a mapping", "userId": 5}):
            for key in ("parent", "child", "switched.off", "versioned", "missing"):
                assert flags.is_enabled(key, context) is engine.is_enabled(key, context), (key, context)
                asked += 1
    production = EVALS.tally("production")
    assert sum(production.yes.values()) + sum(production.no.values()) == asked
    assert production.no["switched.off"] == 240 and production.no["missing"] == 240
    assert not any(EVALS.tally("staging").yes.values()) and not any(EVALS.tally("staging").no.values())


def test_requests_arriving_during_the_first_load_wait_for_it(app, make_flag, token) -> None:
    """A process that has not loaded its flags yet (just started) must not answer from its empty
    snapshot to the requests that arrive while the first load runs: flags off, tokens unknown."""
    import threading

    from nous.flags.cache import snapshot

    make_flag("always.on", enabled=True)
    for attempt in range(3):
        get_cache().reset()  # as a freshly started process
        barrier = threading.Barrier(12)
        answers: list[tuple[bool, bool]] = []

        def ask(barrier: threading.Barrier, answers: list[tuple[bool, bool]]) -> None:
            with app.app_context():
                barrier.wait()
                on = flags.is_enabled("always.on", {"userId": "u"})
                known = snapshot().client(token) is not None
                answers.append((on, known))

        threads = [threading.Thread(target=ask, args=(barrier, answers)) for _ in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert answers == [(True, True)] * 12, (attempt, answers)


WATCHER = """\
import sys, time
from nous import create_app, flags
app = create_app()
with app.app_context():
    print('on' if flags.is_enabled('killme', {}) else 'off', flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    while flags.is_enabled('killme', {}):
        if time.monotonic() - start > 5:
            print('missed', flush=True)
            sys.exit(1)
        time.sleep(0.005)
    print(f'seen {time.monotonic() - start:.3f}', flush=True)
"""


def test_a_change_after_redis_restarted_empty_reaches_every_process(ctx, make_flag, tmp_path) -> None:
    """Each process holds the version it loaded. Redis restarts empty and the next change is announced:
    its version must differ from every version held (a counter would start again and repeat one)."""
    from tests.conftest import run_cli
    from tests.support.live import ThrowawayRedis

    make_flag("killme")
    server = ThrowawayRedis(tmp_path)
    env = {"REDIS_URL": server.url}
    watchers: list[subprocess.Popen] = []
    try:
        assert run_cli("nous", "flags", "enable", "killme", env=env).returncode == 0  # announced on a fresh Redis
        for _ in range(2):
            watchers.append(subprocess.Popen([sys.executable, "-c", WATCHER], cwd=ROOT, env={**os.environ, **env},
                                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
        assert [w.stdout.readline().strip() for w in watchers] == ["on", "on"]
        server.stop()
        server.start()  # empty: nothing saved
        assert run_cli("nous", "flags", "disable", "killme", env=env).returncode == 0
        for w in watchers:
            w.stdin.write("go\n")
            w.stdin.flush()
        lines = [w.stdout.readline().strip() for w in watchers]
    finally:
        for w in watchers:
            if w.poll() is None:
                w.kill()
            w.wait(timeout=10)
        server.stop()
    assert all(line.startswith("seen") for line in lines), lines
    assert max(float(line.split()[1]) for line in lines) < 1.0, lines
