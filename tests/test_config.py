"""Configuration is read from the environment and refused, in one line, when a value is wrong."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from config import ConfigError, load_config
from tests.conftest import ROOT


def cfg(tmp_path, **env: str) -> dict:
    return load_config({"NOUS_INSTANCE_PATH": str(tmp_path), **env}, env_file=None)


def test_defaults_run_on_one_machine(tmp_path) -> None:
    c = cfg(tmp_path)
    assert c["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'nous.db'}"
    assert c["REDIS_URL"] == ""  # the embedded Redis
    assert c["PORT"] == 5000 and c["PROXY_COUNT"] == 0
    assert c["OIDC_METADATA_URL"] == "https://accounts.google.com/.well-known/openid-configuration"
    assert c["NOUS_ADMIN_EMAILS"] == ("admin@localhost",)


def test_session_secret_is_generated_once_and_private(tmp_path) -> None:
    first = cfg(tmp_path)["SECRET_KEY"]
    assert len(first) >= 32
    assert cfg(tmp_path)["SECRET_KEY"] == first
    mode = stat.S_IMODE(os.stat(tmp_path / "session_secret").st_mode)
    assert mode == 0o600


@pytest.mark.parametrize(("env", "message"), [
    ({"PORT": "eighty"}, "PORT: expected a whole number"),
    ({"PORT": "70000"}, "PORT: must be between 1 and 65535"),
    ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: scheme must be one of"),
    ({"DATABASE_URL": "postgresql+psycopg:///nohost"}, "DATABASE_URL: no host"),
    ({"REDIS_URL": "http://localhost"}, "REDIS_URL: scheme must be one of"),
    ({"EMAIL_USE_TLS": "maybe"}, "EMAIL_USE_TLS: expected true or false"),
    ({"NOUS_ADMIN_EMAILS": "not-an-email"}, "NOUS_ADMIN_EMAILS: 'not-an-email' is not an email address"),
    ({"SESSION_SECRET": "short"}, "SESSION_SECRET: must be at least 32 characters"),
    ({"PROXY_COUNT": "-1"}, "PROXY_COUNT: must be between 0 and 10"),
    ({"SYSTEM_BASE_URL": "ftp://x"}, "SYSTEM_BASE_URL: scheme must be one of"),
    ({"NOUS_ENV": "staging"}, "NOUS_ENV: expected development, production or test"),
    ({"NOUS_ENV": "production", "REDIS_URL": "redis://r:6379/0"}, "SESSION_SECRET: required when NOUS_ENV=production"),
    ({"NOUS_ENV": "production", "SESSION_SECRET": "s" * 40}, "REDIS_URL: required when NOUS_ENV=production"),
    ({"NOUS_ENV": "production", "SESSION_SECRET": "s" * 40, "REDIS_URL": "redis://r:6379/0"},
     "NOUS_ADMIN_EMAILS: required when NOUS_ENV=production"),
])
def test_bad_values_are_named(tmp_path, env: dict, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        cfg(tmp_path, **env)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_postgres_urls_use_psycopg3(tmp_path) -> None:
    c = cfg(tmp_path, DATABASE_URL="postgres://u:p@db.example:5432/nous")
    assert c["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db.example:5432/nous"
    assert c["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 10


def test_pool_settings_come_from_the_environment(tmp_path) -> None:
    c = cfg(tmp_path, DATABASE_URL="postgresql://db/nous", DB_POOL_SIZE="3", DB_MAX_OVERFLOW="0", DB_POOL_RECYCLE="60")
    opts = c["SQLALCHEMY_ENGINE_OPTIONS"]
    assert (opts["pool_size"], opts["max_overflow"], opts["pool_recycle"]) == (3, 0, 60)
    assert c["DB_POOL_PRE_PING"] is True and opts["pool_pre_ping"] is False  # nous.dbping checks them instead


def test_dotenv_file_is_read_and_environment_wins(tmp_path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("PORT=5100\nHEALTH_TOKEN=from-file\n")
    c = load_config({"NOUS_INSTANCE_PATH": str(tmp_path), "PORT": "5200"}, env_file=env_file)
    assert c["PORT"] == 5200 and c["HEALTH_TOKEN"] == "from-file"


def test_bad_configuration_stops_the_process_with_one_line(tmp_path) -> None:
    env = {**os.environ, "PORT": "not-a-port", "NOUS_INSTANCE_PATH": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-m", "flask", "nous", "health"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "configuration error: PORT: expected a whole number, got 'not-a-port'"
    assert "Traceback" not in proc.stderr + proc.stdout
