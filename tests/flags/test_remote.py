"""The remote OpenFeature provider (nous.flags.remote) against this server over HTTP: the server's answers
by type, its errors, answers kept per context, and a change seen within a second through the stream."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from nous.flags import service
from nous.flags.remote import RemoteProvider
from tests.flags.test_delta_sdk import SEEN_WITHIN_MS
from tests.support.live import LiveServer

PRO = EvaluationContext("tester-1", {"plan": "pro"})


@pytest.fixture
def served(app, make_flag):
    make_flag("r.bool", enabled=True, strategies=[{"name": "default", "constraints": [
        {"contextName": "plan", "operator": "IN", "values": ["pro"]}]}])
    make_flag("r.number", enabled=True, variants=[
        {"name": "n", "weight": 1000, "stickiness": "default", "payload": {"type": "number", "value": "3"}}])
    server = LiveServer(app)
    yield server
    api.clear_providers()
    server.stop()


def _client(server, token, **options):
    provider = RemoteProvider(server.url, token, **options)
    api.set_provider(provider, domain=f"remote-{id(provider)}")
    return provider, api.get_client(f"remote-{id(provider)}")


def _until(check, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


def test_answers_types_and_errors_are_the_servers(served, token) -> None:
    _provider, client = _client(served, token, stream=False)
    details = client.get_boolean_details("r.bool", False, PRO)
    assert (details.value, details.reason) == (True, Reason.TARGETING_MATCH)
    assert client.get_boolean_value("r.bool", True, EvaluationContext("t", {"plan": "free"})) is False
    assert client.get_integer_value("r.number", 0, PRO) == 3
    assert client.get_float_value("r.number", 0.0, PRO) == 3.0
    assert client.get_boolean_details("r.missing", True, PRO).error_code == ErrorCode.FLAG_NOT_FOUND
    mismatch = client.get_string_details("r.bool", "x", PRO)
    assert (mismatch.value, mismatch.error_code) == ("x", ErrorCode.TYPE_MISMATCH)
    _bad, refused = _client(served, "wrong", stream=False)
    assert refused.get_boolean_details("r.bool", False, PRO).error_code == ErrorCode.GENERAL


def test_answers_are_kept_per_context_without_the_stream(served, token) -> None:
    _provider, client = _client(served, token, stream=False, ttl=3600)
    assert client.get_boolean_value("r.bool", False, PRO) is True
    service.set_enabled("r.bool", False, actor="t")
    assert client.get_boolean_value("r.bool", False, PRO) is True  # kept: no request made
    assert client.get_boolean_value("r.bool", True, EvaluationContext("other", {"plan": "pro"})) is False


def test_the_stream_refreshes_kept_answers_within_a_second(served, token) -> None:
    provider, client = _client(served, token, ttl=3600)
    assert provider.streaming.wait(5)
    assert client.get_boolean_value("r.bool", False, PRO) is True
    service.set_enabled("r.bool", False, actor="t")
    assert _until(lambda: client.get_boolean_value("r.bool", True, PRO) is False, SEEN_WITHIN_MS / 1000)
    provider.shutdown()


SCRIPT = """
import sys
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from nous.flags.remote import RemoteProvider

api.set_provider(RemoteProvider(sys.argv[1], sys.argv[2], stream=False))
print(api.get_client().get_boolean_value("r.bool", False, EvaluationContext("t", {"plan": "pro"})))
"""


def test_a_plain_script_needs_no_app_database_or_redis(served, token, tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS", "TEST_"))}
    out = subprocess.run([sys.executable, "-c", SCRIPT, served.url, token], env=env, capture_output=True, text=True,
                         timeout=60, cwd=os.getcwd())
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "True"
