"""Real servers for the live tests: gunicorn as `scripts/run` starts it, a signed-in admin, socket helpers."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from simple_websocket import Client

from tests.conftest import ADMIN_EMAIL, ROOT
from tests.support.live import free_port, wait_port


def sign_in(app, base: str) -> requests.Session:
    """A session signed in the way a maintainer does it: a one-time login link, then its form."""
    from nous.admin.service import create_login_link

    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")
    http = requests.Session()
    page = http.get(f"{base}/admin/login/link/{token}", timeout=10)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    resp = http.post(f"{base}/admin/login/link/{token}", data={"csrf_token": csrf}, timeout=10, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return http


class _Client(Client):
    """simple_websocket's client as a browser behaves: `Host` with the port (it sends it without, RFC 6455
    wants it with), and the frames that came in one read with the handshake's answer are received
    (its client leaves them in the parser until more bytes come — on a busy machine the server's hello
    and replay travel with the 101 and were not seen before the next ping, 20 s later)."""

    def handshake(self) -> None:
        self.host = f"{self.host}:{self.port}"
        super().handshake()

    def _thread(self) -> None:
        self.connected = self._handle_events()  # what came with the 101
        super()._thread()


def cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in http.cookies)


def ws_url(base: str, query: str = "") -> str:
    return base.replace("http://", "ws://") + "/ws/live" + (f"?{query}" if query else "")


def open_socket(base: str, http: requests.Session | None = None, origin: str | None = "", query: str = "") -> Client:
    headers = {}
    if origin is not None:
        headers["Origin"] = origin or base
    if http is not None:
        headers["Cookie"] = cookie_header(http)
    return _Client.connect(ws_url(base, query), headers=headers)


def receive_until(ws: Client, wanted: Callable[[dict[str, Any]], bool], timeout: float = 10) -> dict[str, Any]:
    """The first message `wanted` accepts; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        raw = ws.receive(timeout=max(0.01, deadline - time.monotonic()))
        if raw is None:
            break
        message = json.loads(raw)
        if wanted(message):
            return message
        seen.append(message.get("type"))
    raise AssertionError(f"no matching message within {timeout} s (saw {seen})")


def events(ws: Client, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    out = []
    while len(out) < count:
        out.append(receive_until(ws, lambda m: m["type"] == "event", timeout))
    return out


def wait_hub_idle(app, timeout: float = 5) -> None:
    """Let the hub's Redis subscription end with its last socket (before the test run stops Redis)."""
    hub = app.extensions["nous.live.hub"]
    deadline = time.monotonic() + timeout
    while hub.running and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def live_log(caplog):
    """caplog for `nous.live` (the `nous` loggers do not propagate to the root)."""
    import logging

    logger = logging.getLogger("nous")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def start_gunicorn(**env_extra: str) -> tuple[str, subprocess.Popen]:
    """The web process as `scripts/run` starts it: gunicorn with gthread workers (one, to boot quickly)."""
    port = free_port()
    env = {**os.environ, "WEB_CONCURRENCY": "1", "GUNICORN_THREADS": "8", "DRAIN_SECONDS": "0", "LOG_LEVEL": "WARNING",
           **env_extra}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while requests.get(f"{base}/readyz", timeout=30).status_code != 200:  # a loaded machine boots slowly
            assert time.monotonic() < deadline, "gunicorn never became ready"
            time.sleep(0.1)
    except BaseException:
        proc.kill()
        raise
    return base, proc


@pytest.fixture(scope="module")
def gunicorn_web(app) -> Iterator[str]:
    base, proc = start_gunicorn()
    yield base
    proc.kill()  # a test server: nothing to drain
    proc.wait(timeout=10)
