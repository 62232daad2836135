"""Where the running web server listens, so a command run from another shell can link to it.

gunicorn (gunicorn.conf.py, `when_ready`) writes the address it actually listens on to
`<instance>/server.json` with its process id, and removes the file when it stops. `flask nous
login-link` then prints a link for that server even when this shell has no `PORT` (or another one).
A record whose process is gone is ignored; `SYSTEM_BASE_URL`, when set, always wins.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from config import ConfigError, load_config

log = logging.getLogger("nous.server_address")

RECORD_NAME = "server.json"
# A server bound to every interface is reached on loopback from this machine.
_LOOPBACK = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}  # noqa: S104 (a mapping, no bind)


def base_url_of(listeners: Iterable[str]) -> str | None:
    """The base URL of the first TCP listener ("http://0.0.0.0:8000" -> "http://127.0.0.1:8000");
    None when there is none (only unix sockets)."""
    for raw in listeners:
        parts = urlsplit(str(raw))
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.port is None:
            continue
        host = parts.netloc.rsplit(":", 1)[0]
        return f"{parts.scheme}://{_LOOPBACK.get(host, host)}:{parts.port}"
    return None


def record(instance: Path, listeners: Iterable[str], pid: int) -> str | None:
    """Note the server's base URL for other shells; returns it (None when it listens on no TCP port)."""
    url = base_url_of(listeners)
    if url is None:
        return None
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / RECORD_NAME
    tmp = path.with_suffix(f".{pid}.tmp")
    tmp.write_text(json.dumps({"base_url": url, "pid": pid}))
    os.replace(tmp, path)  # readers never see half a file
    return url


def forget(instance: Path, pid: int) -> None:
    """Remove the record if it is this server's (another server may have started since)."""
    path = instance / RECORD_NAME
    try:
        if json.loads(path.read_text()).get("pid") == pid:
            path.unlink()
    except (OSError, ValueError):
        pass


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs, as another user
    return True


def recorded(instance: Path) -> str | None:
    """The base URL of the server running from this instance folder, or None."""
    try:
        data = json.loads((instance / RECORD_NAME).read_text())
    except (OSError, ValueError):
        return None
    url = data.get("base_url") if isinstance(data, dict) else None
    if not isinstance(url, str) or base_url_of([url]) != url or not _alive(data.get("pid")):
        return None
    return url


def base_url(config: Mapping[str, Any]) -> str:
    """The address links should point at: SYSTEM_BASE_URL when it was set, else the running server's,
    else the default for PORT. (Unset, config.py makes SYSTEM_BASE_URL http://127.0.0.1:$PORT.)"""
    configured = str(config["SYSTEM_BASE_URL"]).rstrip("/")
    if configured != f"http://127.0.0.1:{config['PORT']}":
        return configured
    return recorded(Path(config["INSTANCE_PATH"])) or configured


def record_gunicorn(server: Any) -> None:
    """gunicorn's `when_ready` hook: record the address of this server (the master) for other shells."""
    try:
        instance = Path(load_config()["INSTANCE_PATH"])
        url = record(instance, [str(listener) for listener in server.LISTENERS], os.getpid())
    except (ConfigError, OSError) as exc:
        log.warning("server address not recorded", extra={"error": str(exc)[:200]})
        return
    if url:
        server.log.info("NOUS Beta Console at %s (recorded for flask nous login-link)", url)


def forget_gunicorn(server: Any) -> None:
    """gunicorn's `on_exit` hook."""
    try:
        forget(Path(load_config()["INSTANCE_PATH"]), os.getpid())
    except (ConfigError, OSError):
        pass
