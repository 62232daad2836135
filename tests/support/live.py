"""Real servers for tests: the app over HTTP in a thread, a browser, the OIDC provider."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

OIDC_DIR = Path(__file__).resolve().parent / "oidc"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


class LiveServer:
    """A WSGI app served over real HTTP on loopback, in a thread."""

    def __init__(self, app, port: int | None = None) -> None:  # noqa: ANN001
        self.port = port or free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class OidcProvider:
    """npm oidc-provider on a spare port (tests/support/oidc)."""

    def __init__(self, client_id: str, client_secret: str, redirect_uri: str) -> None:
        if not (OIDC_DIR / "node_modules").exists():
            subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=OIDC_DIR, check=True)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.metadata_url = f"{self.issuer}/.well-known/openid-configuration"
        self.proc = subprocess.Popen(
            [shutil.which("node") or "node", "provider.mjs", str(self.port), client_id, client_secret, redirect_uri],
            cwd=OIDC_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, "NODE_ENV": "test"},
        )
        wait_port(self.port)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


def launch_browser(playwright):  # noqa: ANN001, ANN201
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
