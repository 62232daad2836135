"""Schemathesis over the whole admin API with an `admin` token, in process (WSGI): valid and invalid inputs
per operation, then sequences along the document's links (create a tester, then read, change, invite,
delete it; list, then read). No answer may be a server error, and every answer must match the document:
its status codes, content types and schemas."""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.fuzz import assume_sendable

PATHS = "^/api/(admin/|health/models)"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _reset(app) -> str:
    """A new world for every sequence: empty tables and Redis (tests/conftest.py), the same few rows, and a
    new admin token (returned). A sequence Hypothesis replays then gets the same answers, as it must."""
    from nous.adminapi import tokens
    from nous.extensions import db
    from nous.feedback import service as feedback
    from nous.settings import service as runtime
    from nous.testers import service as testers
    from tests.conftest import _clean

    _clean(app)
    with app.app_context():
        _restart_ids()
        runtime.set_value("adminapi.rate_limit", "1000000/minute", actor="fuzz")
        testers.add("fuzz@example.com", actor="fuzz")
        feedback.submit({"rating": 3, "message": "something to fuzz around", "category": "bug",
                         "email": "fuzz@example.com"})
        _row, raw = tokens.create("fuzz-admin", ["admin"], actor="fuzz")
        db.session.remove()
    return raw


def _restart_ids() -> None:
    """Ids from 1 again, as in a new database: the same request then finds the same row every time."""
    from sqlalchemy import inspect, text

    from nous.extensions import db

    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the tables are empty already: only their counters
            for (name,) in conn.execute(text("SELECT sequence_name FROM information_schema.sequences")):
                conn.execute(text(f'ALTER SEQUENCE "{name}" RESTART'))
        elif inspect(conn).has_table("sqlite_sequence"):
            conn.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def admin_token(app, ctx) -> str:
    return _reset(app)


@pytest.fixture
def admin_schema(app, admin_token):
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config).include(path_regex=PATHS)


schema = schemathesis.pytest.from_fixture("admin_schema")


# Nearly all of this test's time goes to making the requests (hypothesis-jsonschema), the same work on either
# engine, while what differs between the engines is only what the app does with them. So every operation gets
# valid and invalid requests on both, the full count on PostgreSQL (production's engine) and fewer on the
# embedded default; tests/test_api_fuzz.py does the opposite, which keeps CI's two runs even.
EXAMPLES = 25 if os.environ.get("TEST_DATABASE_URL") else 10


@schema.parametrize()
# One pytest test over all the operations (a subtest each): about two minutes alone, but 880 s was seen with
# the machine's two cores shared by a dozen busy processes; the timeout is there to catch a hang.
@pytest.mark.timeout(1800)
@settings(max_examples=EXAMPLES, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, admin_token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {admin_token}"}
    assume_sendable(case)
    response = case.call()
    case.validate_response(response, checks=CHECKS)


def test_sequences_along_the_links(app, admin_schema, admin_token: str) -> None:
    machine = admin_schema.as_state_machine()
    reached: set[str] = set()
    token = [admin_token]

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def setup(self):
            token[0] = _reset(app)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {token[0]}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            if response.status_code < 300:
                reached.add(f"{case.method} {case.operation.path}")
            case.validate_response(response, checks=CHECKS)

    # Derandomized: the same sequences every run, so what they reach does not depend on luck.
    Workflow.run(settings=settings(max_examples=80, stateful_step_count=6, deadline=None, database=None,
                                   derandomize=True, suppress_health_check=list(HealthCheck)))
    # Reached only through a link: a made-up id is never a tester's (a UUID), nor a made-up key a flag's.
    through_links = [r for r in reached if "/api/admin/v1/testers/{tester_id}" in r or "/api/admin/v1/flags/{key}" in r]
    assert through_links, sorted(reached)
