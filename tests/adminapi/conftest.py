"""Admin API fixtures: real tokens made through the tokens service, and a client that sends one."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest

_names = itertools.count(1)


@pytest.fixture
def make_token(app, ctx) -> Callable[..., str]:
    """make_token("testers:read", ...) → a new token holding those scopes (the token itself)."""
    from nous.adminapi import tokens

    def make(*scopes: str, name: str | None = None, expires_in_days: Any = None) -> str:
        _row, raw = tokens.create(name or f"test-{next(_names)}", list(scopes), expires_in_days=expires_in_days,
                                  actor="test")
        return raw

    return make


class Api:
    """The Flask test client with `Authorization: Bearer <token>` on every request."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client, self.token = client, token

    def open(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        use = token if token is not None else self.token
        if use:
            headers.setdefault("Authorization", f"Bearer {use}")
        if not path.startswith("/"):
            path = "/api/admin/v1/" + path
        return self.client.open(path, method=method, headers=headers, **kwargs)

    def get(self, path: str, **kw: Any) -> Any:
        return self.open("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.open("POST", path, **kw)

    def patch(self, path: str, **kw: Any) -> Any:
        return self.open("PATCH", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.open("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.open("DELETE", path, **kw)


@pytest.fixture
def api(client, make_token) -> Api:
    """A client holding an `admin` token (every scope)."""
    return Api(client, make_token("admin"))


def assert_problem(resp: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """`resp` is an RFC 9457 problem with this status (naming `field` in `errors` when given)."""
    assert resp.status_code == status, (resp.status_code, resp.get_data(as_text=True)[:500])
    assert resp.mimetype == "application/problem+json", resp.mimetype
    doc = resp.get_json(force=True)
    assert doc["status"] == status and doc["title"] and isinstance(doc["detail"], str), doc
    assert isinstance(doc["errors"], dict), doc
    if field is not None:
        assert field in doc["errors"], doc
    assert "Set-Cookie" not in resp.headers
    return doc
