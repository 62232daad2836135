"""The feedback console while PostgreSQL is away: its pages and the header's figures say so with a 503
(never a 500), and come back by themselves when it returns. A throwaway server of its own."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask_migrate import upgrade

from nous.extensions import db, get_redis
from nous.feedback.service import figures
from tests.conftest import signed_in_client
from tests.feedback.helpers import make
from tests.support.live import ThrowawayPostgres, another_app

HX = {"HX-Request": "true"}


def test_the_header_and_the_list_answer_503_while_postgres_is_away_and_recover() -> None:
    server = ThrowawayPostgres()
    try:
        with another_app(SQLALCHEMY_DATABASE_URI=server.url, SQLALCHEMY_ENGINE_OPTIONS={
                "pool_pre_ping": True, "connect_args": {"connect_timeout": 2}}) as own:
            with own.app_context():
                upgrade(revision="heads")
                get_redis().delete(figures.HEADER_KEY)
            make(own, 1, rating=4, message="Stored before the outage", created_at=datetime.now(UTC))
            client = signed_in_client(own)
            before = client.get("/admin/beta/feedback/figures", headers=HX)
            assert before.status_code == 200 and b"stat-value\">1<" in before.data
            with own.app_context():
                db.session.remove()
                db.engine.dispose()
            server.stop()
            own.extensions["nous.redis"].delete(figures.HEADER_KEY)  # nothing kept: the figures must be counted
            for path in ("/admin/beta/feedback/figures", "/admin/beta/feedback"):
                away = client.get(path, headers=HX)
                assert away.status_code == 503, (path, away.status_code, away.get_data(as_text=True)[:300])
            server.start()
            deadline = time.monotonic() + 15
            while client.get("/admin/beta/feedback/figures", headers=HX).status_code != 200:
                assert time.monotonic() < deadline, "the header did not come back with the database"
                time.sleep(0.2)
            back = client.get("/admin/beta/feedback", headers=HX)
            assert back.status_code == 200 and b"Stored before the outage" in back.data
    finally:
        server.remove()
