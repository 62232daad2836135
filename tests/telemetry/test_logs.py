"""Structured logs: one JSON object per line, with the request id when there is one."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from flask import g

from nous.telemetry import logs
from tests.conftest import ROOT


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, list[logging.LogRecord]]]:
    """A `nous.` logger and the records it emits, as the JSON handler receives them."""
    logger, handler = logging.getLogger("nous.test"), Collect()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield logger, handler.records
    logger.removeHandler(handler)


def _line(records: list[logging.LogRecord]) -> dict:
    text = logs.JsonFormatter().format(records[-1])
    assert "\n" not in text  # one line per record, whatever it holds
    return json.loads(text)


def test_a_line_is_one_json_object_with_time_level_logger_message_and_fields(log) -> None:
    logger, records = log
    logger.warning("disk %s", "full", extra={"host": "web-1", "percent": 97.5})
    line = _line(records)
    assert line["level"] == "warning" and line["logger"] == "nous.test" and line["msg"] == "disk full"
    assert line["host"] == "web-1" and line["percent"] == 97.5
    assert line["ts"].endswith("Z") and len(line["ts"]) == len("2026-12-06T07:00:00.000Z")
    assert "request_id" not in line and "exc" not in line


def test_a_line_inside_a_request_carries_its_id(app, log) -> None:
    logger, records = log
    with app.test_request_context("/", headers={"X-Request-ID": "req-42"}):
        app.preprocess_request()  # telemetry gives the request its id
        logger.info("inside")
        assert g.request_id == "req-42" and _line(records)["request_id"] == "req-42"


def test_the_request_line_is_its_fields_only(log) -> None:
    logger, records = log
    fields = {"request_id": "r1", "method": "GET", "path": "/x", "status": 200, "duration_ms": 1.5, "endpoint": "e"}
    logger.info("request", extra={"fields": fields})
    line = _line(records)
    assert line == {"ts": line["ts"], "level": "info", "logger": "nous.test", "msg": "request", **fields}


def test_an_exception_is_in_the_line_not_on_lines_of_its_own(log) -> None:
    logger, records = log
    try:
        raise ValueError("broken")
    except ValueError:
        logger.exception("failed")
    assert "ValueError: broken" in _line(records)["exc"]


def test_configured_loggers_write_json_lines_to_stderr_once() -> None:
    code = ("import logging\n"
            "from nous.telemetry import logs\n"
            "logs.configure('INFO'); logs.configure('INFO')\n"
            "logging.getLogger('nous.demo').info('hello', extra={'n': 1})\n"
            "logging.getLogger('nous.demo').debug('hidden')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    [line] = proc.stderr.splitlines()  # once, though configured twice; DEBUG is below the level
    assert json.loads(line) | {"ts": ""} == {"ts": "", "level": "info", "logger": "nous.demo", "msg": "hello", "n": 1}
