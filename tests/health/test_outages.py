"""Redis or PostgreSQL going away: readiness fails with the reason, liveness stays up, recovery
needs no restart. Each test runs its own throwaway server and never touches the shared ones."""

from __future__ import annotations

import time

from nous import create_app
from tests.support.live import ThrowawayPostgres, ThrowawayRedis


def _eventually(check, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.1)


def test_redis_outage_and_recovery(tmp_path, app) -> None:
    server = ThrowawayRedis(tmp_path)
    try:
        own = create_app({"REDIS_URL": server.url})
        client = own.test_client()
        assert client.get("/readyz").status_code == 200

        server.stop()
        ready = client.get("/readyz?verbose")
        assert ready.status_code == 503
        assert "[+]database ok" in ready.get_data(as_text=True)
        assert "[-]redis failed: ConnectionError" in ready.get_data(as_text=True)
        detailed = client.get("/health/detailed")
        assert detailed.status_code == 503
        redis_check = detailed.get_json()["checks"]["redis:responseTime"][0]
        assert redis_check["status"] == "fail" and "ConnectionError" in redis_check["output"]
        assert client.get("/healthz").status_code == 200
        assert client.get("/health/metrics").status_code == 503  # a clear 503, not a 500

        server.start()
        _eventually(lambda: client.get("/readyz").status_code == 200)
        assert client.get("/health/detailed").get_json()["checks"]["redis:responseTime"][0]["status"] == "pass"
    finally:
        server.stop()


def test_postgres_outage_and_recovery(tmp_path, app) -> None:
    server = ThrowawayPostgres()
    try:
        own = create_app({"SQLALCHEMY_DATABASE_URI": server.url,
                          "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}})
        client = own.test_client()
        assert client.get("/readyz").status_code == 200

        server.stop()
        ready = client.get("/readyz?verbose")
        assert ready.status_code == 503
        text = ready.get_data(as_text=True)
        assert "[-]database failed: OperationalError" in text and "[+]redis ok" in text
        detailed = client.get("/health/detailed")
        assert detailed.status_code == 503
        assert detailed.get_json()["checks"]["database:responseTime"][0]["status"] == "fail"
        assert client.get("/healthz").status_code == 200

        server.start()
        _eventually(lambda: client.get("/readyz").status_code == 200)
    finally:
        server.remove()
