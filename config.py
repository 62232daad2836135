"""Settings from the environment (and `.env`), validated once at start-up.

Every value the process needs from outside comes through `load_config()`. A bad value raises
`ConfigError` with one line naming the variable; `wsgi.py` and the CLI turn it into that line and a
non-zero exit, never a traceback. Settings an admin changes at run time live in the database
(`nous.settings`), not here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent
DEFAULT_INSTANCE = ROOT / "instance"
GOOGLE_METADATA = "https://accounts.google.com/.well-known/openid-configuration"


class ConfigError(ValueError):
    """A configuration variable has a value the application cannot run with."""


def _int(env: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not lo <= value <= hi:
        raise ConfigError(f"{name}: must be between {lo} and {hi}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], default: str = "") -> str:
    raw = env.get(name, "").strip()
    if raw == "":
        return default
    parts = urlsplit(raw)
    if parts.scheme not in schemes:
        raise ConfigError(f"{name}: scheme must be one of {', '.join(schemes)}, got {raw.split(':')[0]!r}")
    if parts.scheme not in {"sqlite", "unix"} and not parts.hostname:
        raise ConfigError(f"{name}: no host in {raw!r}")
    return raw


def _emails(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    raw = env.get(name, "")
    emails = tuple(e.strip().lower() for e in raw.replace(";", ",").split(",") if e.strip())
    for email in emails:
        local, _, domain = email.partition("@")
        if not local or ("." not in domain and domain != "localhost"):  # admin@localhost: kept in the outbox
            raise ConfigError(f"{name}: {email!r} is not an email address")
    return emails


def _admins(env: Mapping[str, str], production: bool) -> tuple[str, ...]:
    emails = _emails(env, "NOUS_ADMIN_EMAILS")
    if emails:
        return emails
    if production:
        raise ConfigError("NOUS_ADMIN_EMAILS: required when NOUS_ENV=production (the admin's Google address)")
    return ("admin@localhost",)  # a local run signs in through `flask nous login-link`


def _database_url(env: Mapping[str, str], instance: Path) -> str:
    raw = _url(env, "DATABASE_URL", ("sqlite", "postgresql", "postgresql+psycopg", "postgres"))
    if raw == "":
        return f"sqlite:///{instance / 'nous.db'}"
    if raw.startswith("postgres://") or raw.startswith("postgresql://"):
        # Heroku-style URLs: use the psycopg 3 driver that is installed.
        raw = "postgresql+psycopg://" + raw.split("://", 1)[1]
    return raw


def _session_secret(env: Mapping[str, str], instance: Path, production: bool) -> str:
    secret = env.get("SESSION_SECRET", "").strip()
    if secret:
        if len(secret) < 32:
            raise ConfigError("SESSION_SECRET: must be at least 32 characters")
        return secret
    if production:
        raise ConfigError("SESSION_SECRET: required when NOUS_ENV=production")
    path = instance / "session_secret"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secret)
    return secret


def load_config(environ: Mapping[str, str] | None = None, env_file: Path | None = ROOT / ".env") -> dict[str, Any]:
    """Read and validate every setting; returns Flask config keys."""
    env: dict[str, str] = {}
    if env_file is not None and env_file.exists():
        env.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    nous_env = env.get("NOUS_ENV", "development").strip().lower() or "development"
    if nous_env not in {"development", "production", "test"}:
        raise ConfigError(f"NOUS_ENV: expected development, production or test, got {nous_env!r}")
    production = nous_env == "production"
    instance = Path(env.get("NOUS_INSTANCE_PATH", "") or DEFAULT_INSTANCE).resolve()

    base_url = _url(env, "SYSTEM_BASE_URL", ("http", "https"), default="")
    port = _int(env, "PORT", 5000, 1, 65535)
    if not base_url:
        base_url = f"http://127.0.0.1:{port}"
    email_port = _int(env, "EMAIL_PORT", 587, 1, 65535)
    email_host = env.get("EMAIL_HOST", "").strip()
    redis_url = _url(env, "REDIS_URL", ("redis", "rediss", "unix"))
    if production and not redis_url:
        raise ConfigError("REDIS_URL: required when NOUS_ENV=production (the embedded Redis is for one machine)")

    database_url = _database_url(env, instance)
    pre_ping = _bool(env, "DB_POOL_PRE_PING", True)
    engine_options: dict[str, Any] = {"pool_pre_ping": pre_ping}
    if not database_url.startswith("sqlite"):
        engine_options.update(
            pool_pre_ping=False,  # nous.dbping checks each connection instead: a round trip only when needed
            pool_size=_int(env, "DB_POOL_SIZE", 10, 1, 1000),
            max_overflow=_int(env, "DB_MAX_OVERFLOW", 10, 0, 1000),
            pool_timeout=_int(env, "DB_POOL_TIMEOUT", 10, 1, 600),
            pool_recycle=_int(env, "DB_POOL_RECYCLE", 1800, -1, 86400),
            connect_args={"connect_timeout": _int(env, "DB_CONNECT_TIMEOUT", 3, 1, 60)},
        )

    return {
        "NOUS_ENV": nous_env,
        "TESTING": nous_env == "test",
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": _session_secret(env, instance, production),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "DB_POOL_PRE_PING": pre_ping,
        "REDIS_URL": redis_url,
        "GOOGLE_CLIENT_ID": env.get("GOOGLE_CLIENT_ID", "").strip(),
        "GOOGLE_CLIENT_SECRET": env.get("GOOGLE_CLIENT_SECRET", "").strip(),
        "OIDC_METADATA_URL": _url(env, "OIDC_METADATA_URL", ("http", "https"), default=GOOGLE_METADATA),
        "NOUS_ADMIN_EMAILS": _admins(env, production),
        "EMAIL_HOST": email_host,
        "EMAIL_PORT": email_port,
        "EMAIL_USER": env.get("EMAIL_USER", "").strip(),
        "EMAIL_PASS": env.get("EMAIL_PASS", ""),
        "EMAIL_FROM": env.get("EMAIL_FROM", "").strip() or "NOUS Beta <beta@localhost>",
        "EMAIL_USE_TLS": _bool(env, "EMAIL_USE_TLS", email_port != 465),
        "EMAIL_USE_SSL": _bool(env, "EMAIL_USE_SSL", email_port == 465),
        "SYSTEM_BASE_URL": base_url.rstrip("/"),
        "PREFERRED_URL_SCHEME": urlsplit(base_url).scheme,
        "PORT": port,
        "PROXY_COUNT": _int(env, "PROXY_COUNT", 0, 0, 10),
        "HEALTH_TOKEN": env.get("HEALTH_TOKEN", "").strip(),
        "RELEASE_ID": env.get("NOUS_RELEASE_ID", "").strip() or "dev",
        "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").strip().upper() or "INFO",
    }
