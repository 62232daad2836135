"""Every admin API operation in /openapi.json, with a token lacking its scope (403 naming it), with a token
holding just that scope (past the check, never a server error), with no token and with a revoked one (401).
The operations come from the document, so one added later is checked without touching this file."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nous.adminapi import modules
from nous.openapi import document
from tests.adminapi.conftest import Api, assert_problem

ADMIN_PATHS = re.compile(r"^/api/(admin/|health/models)")


def operations() -> list[tuple[str, str, str]]:
    modules()  # every operation registered, before any app exists (collection time)
    out = []
    for path, ops in document()["paths"].items():
        if not ADMIN_PATHS.match(path):
            continue
        for method, op in ops.items():
            out.append((method.upper(), path, op["x-scopes"][0]))
    return sorted(out)


def _other_scope(scope: str) -> str:
    return "system:read" if scope != "system:read" else "audit:read"


@pytest.fixture
def objects(app, ctx) -> dict[str, str]:
    """Real ids for the path parameters."""
    from nous.feedback import service as feedback
    from nous.testers import service as testers

    tester = testers.add("scoped@example.com", actor="test")
    outcome = feedback.submit({"rating": 3, "message": "a message for the scope test", "category": "idea",
                               "email": "scoped@example.com"})
    return {"tester_id": str(tester.id), "feedback_id": str(outcome.id), "key": "adminapi.rate_limit"}


def _url(path: str, objects: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: objects.get(m.group(1), "1"), path)


def _call(client: Any, token: str | None, method: str, url: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return client.open(url, method=method, headers=headers, **kwargs)


def test_there_are_operations_for_every_area_of_this_module() -> None:
    tags = {path.split("/")[4] for _m, path, _s in operations() if path.startswith("/api/admin/v1/")}
    assert {"testers", "feedback", "settings", "system", "audit"} <= tags


@pytest.mark.parametrize(("method", "path", "scope"), operations())
def test_operation_needs_its_scope(client, make_token, objects, method: str, path: str, scope: str) -> None:
    url = _url(path, objects)
    assert_problem(_call(client, None, method, url), 401, "Authorization")
    refused = _call(client, make_token(_other_scope(scope)), method, url)
    doc = assert_problem(refused, 403)
    assert scope in doc["detail"]
    allowed = _call(client, make_token(scope), method, url)
    assert allowed.status_code not in (401, 403), (method, url, allowed.get_data(as_text=True)[:300])
    assert allowed.status_code < 500, (method, url, allowed.get_data(as_text=True)[:300])
    assert "Set-Cookie" not in allowed.headers


def test_revoked_token_is_refused(app, ctx, client, make_token) -> None:
    from nous.adminapi import tokens

    api = Api(client, make_token("testers:read", name="soon-revoked"))
    assert api.get("testers").status_code == 200
    tokens.revoke("soon-revoked", actor="test")
    doc = assert_problem(api.get("testers"), 401, "Authorization")
    assert "revoked" in doc["detail"]


def test_write_scope_holds_read_and_admin_holds_all(client, make_token) -> None:
    assert Api(client, make_token("testers:write")).get("testers").status_code == 200
    admin = Api(client, make_token("admin"))
    for path in ("testers", "feedback", "settings", "system/integrations", "audit"):
        assert admin.get(path).status_code == 200, path
