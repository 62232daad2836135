"""Schemathesis over the whole admin API with an `admin` token, in process (WSGI): valid and invalid inputs
per operation, then sequences along the document's links (create a tester, then read, change, invite,
delete it; list, then read). No answer may be a server error, and every answer must match the document:
its status codes, content types and schemas."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

PATHS = "^/api/(admin/|health/models)"
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _reset(app) -> None:
    """The same data before every sequence (only the token stays): a sequence replayed by Hypothesis then
    gets the same answers, as it must."""
    from sqlalchemy import inspect

    from nous.adminapi.models import AdminToken
    from nous.extensions import db, get_redis
    from nous.feedback import service as feedback
    from nous.settings import service as runtime
    from nous.testers import service as testers

    with app.app_context():
        db.session.remove()
        existing = set(inspect(db.engine).get_table_names())
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                if table.name in existing and table.name != AdminToken.__tablename__:
                    conn.execute(table.delete())
        conn = get_redis()
        for key in conn.scan_iter("nous:adminapi:idem:*"):
            conn.delete(key)
        runtime.set_value("adminapi.rate_limit", "1000000/minute", actor="fuzz")
        testers.add("fuzz@example.com", actor="fuzz")
        feedback.submit({"rating": 3, "message": "something to fuzz around", "category": "bug",
                         "email": "fuzz@example.com"})
        db.session.remove()


@pytest.fixture
def admin_token(app, ctx) -> str:
    from nous.adminapi import tokens

    _row, raw = tokens.create("fuzz-admin", ["admin"], actor="fuzz")
    _reset(app)
    return raw


@pytest.fixture
def admin_schema(app, admin_token):
    config = schemathesis.config.SchemathesisConfig.from_dict({"generation": {"mode": "all"}})
    return schemathesis.openapi.from_wsgi("/openapi.json", app, config=config).include(path_regex=PATHS)


schema = schemathesis.pytest.from_fixture("admin_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case, admin_token: str) -> None:
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {admin_token}"}
    response = case.call()
    case.validate_response(response, checks=CHECKS)


def test_sequences_along_the_links(app, admin_schema, admin_token: str) -> None:
    machine = admin_schema.as_state_machine()
    reached: set[str] = set()

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def setup(self):
            _reset(app)

        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Bearer {admin_token}"}}

        def validate_response(self, response, case, additional_checks=(), **kwargs):
            if response.status_code < 300:
                reached.add(f"{case.method} {case.operation.path}")
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=settings(max_examples=30, stateful_step_count=6, deadline=None, database=None,
                                   suppress_health_check=list(HealthCheck)))
    # Reached only through a link: a made-up id is never a tester's.
    assert "GET /api/admin/v1/testers/{tester_id}" in reached, sorted(reached)
