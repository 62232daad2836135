"""The RQ worker process: builds its own app, listens on high, default, low with the scheduler."""

from __future__ import annotations

import logging

from flask import current_app
from rq import Queue, Worker

from nous.extensions import get_redis

log = logging.getLogger("nous.worker")


def run_worker(queue_names: list[str], burst: bool = False, name: str | None = None) -> bool:
    conn = get_redis()
    queues = [Queue(q, connection=conn) for q in queue_names]
    worker = Worker(queues, connection=conn, name=name)
    log.info("worker starting", extra={"queues": queue_names, "burst": burst})
    with current_app.app_context():
        return worker.work(burst=burst, with_scheduler=True, logging_level="WARNING")
