"""The flag stream under gunicorn, as `scripts/run` serves it: the official Node SDK in streaming mode sees a
change made in another process within a second, and a drain (SIGTERM) ends open streams at once, so the
process exits cleanly long before the graceful timeout and SDKs reconnect to another instance."""

from __future__ import annotations

import shutil
import signal
import time

import pytest
import requests

from nous.flags import service
from tests.flags.test_delta_sdk import SEEN_WITHIN_MS, NodeSdk
from tests.live.conftest import start_gunicorn


def test_a_change_made_elsewhere_reaches_a_streaming_sdk_within_a_second(app, ctx, make_flag, token) -> None:
    if shutil.which("node") is None:
        pytest.skip("needs Node")
    make_flag("g.later", enabled=False)
    base, proc = start_gunicorn(WEB_CONCURRENCY="2")
    sdk = None
    try:
        sdk = NodeSdk(base, token, "streaming")
        for on in (True, False):
            service.set_enabled("g.later", on, actor="t")  # this test's process: not the server's
            seen = sdk.wait_for("g.later", on, timeout_ms=SEEN_WITHIN_MS)
            assert seen["ok"], seen
    finally:
        if sdk is not None:
            sdk.stop()
        proc.kill()
        proc.wait(timeout=10)


def test_a_drain_ends_open_streams_at_once_and_refuses_new_ones(app, ctx, make_flag, token) -> None:
    make_flag("g.one", enabled=True)
    base, proc = start_gunicorn(DRAIN_SECONDS="1.5")
    headers = {"Authorization": token, "Accept": "text/event-stream"}
    try:
        stream = requests.get(f"{base}/api/client/streaming", headers=headers, stream=True, timeout=10)
        lines = stream.iter_lines()
        assert next(lines) == b"event: unleash-connected"
        stopped_at = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        for _line in lines:  # the server ends the stream
            assert time.monotonic() - stopped_at < 3
        assert time.monotonic() - stopped_at < 3
        refused = requests.get(f"{base}/api/client/streaming", headers=headers, timeout=10)
        assert refused.status_code == 503 and refused.headers["Retry-After"]
        assert proc.wait(timeout=15) == 0  # a clean exit, well before the graceful timeout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
