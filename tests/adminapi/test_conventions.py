"""What every admin API answer keeps to: problem+json errors (routing and server errors too), no cookies and no
CORS, cookies alone refused, If-Match, cursors and Link, Idempotency-Key, the per-token rate limit."""

from __future__ import annotations

import base64
import json

import pytest

from tests.adminapi.conftest import Api, assert_problem


def test_unknown_path_and_method_are_problems(api: Api) -> None:
    assert_problem(api.get("nothing-here"), 404)
    resp = api.open("PUT", "testers")
    assert_problem(resp, 405)
    assert "GET" in resp.headers["Allow"]
    assert_problem(api.get("/api/admin/system/nothing"), 404)


def test_bad_bodies_are_problems_naming_the_field(api: Api) -> None:
    assert_problem(api.post("testers", data="{not json", content_type="application/json"), 400, "body")
    assert_problem(api.post("testers", json=[1, 2]), 400, "body")
    assert_problem(api.post("testers", data="email=a@example.com",
                            content_type="application/x-www-form-urlencoded"), 415)
    assert_problem(api.post("testers", data=b"x" * (3 * 1024 * 1024), content_type="application/json"), 413)
    assert_problem(api.post("testers", json={"email": "not an address"}), 422, "email")
    assert_problem(api.post("testers", json={"email": "a@example.com", "invite": "yes"}), 400, "invite")
    assert_problem(api.get("testers?limit=0"), 400, "limit")
    assert_problem(api.get("testers?cursor=%%%"), 400, "cursor")
    assert_problem(api.get("feedback?rating=9"), 400, "rating")


def test_an_unexpected_error_is_a_problem_without_a_trace(app, api: Api, monkeypatch) -> None:
    from nous.testers import service as testers

    def broken(*args, **kwargs):
        raise RuntimeError("boom at /secret/path.py")

    monkeypatch.setattr(testers, "search", broken)
    doc = assert_problem(api.get("testers"), 500)
    assert "boom" not in doc["detail"] and "secret" not in doc["detail"]


def test_no_cookie_is_set_and_none_is_honoured(app, client, make_token) -> None:
    token = make_token("testers:read")
    resp = client.get("/api/admin/v1/testers", headers={"Authorization": f"Bearer {token}",
                                                        "Origin": "https://evil.example"})
    assert resp.status_code == 200
    assert "Set-Cookie" not in resp.headers
    assert not [h for h in resp.headers.keys() if h.lower().startswith("access-control-")]
    # A signed-in console session is not a credential here.
    with client.session_transaction() as sess:
        sess["_user_id"] = "admin@nous.test"
        sess["_fresh"] = True
    resp = client.get("/api/admin/v1/testers")
    doc = assert_problem(resp, 401, "Authorization")
    assert "Bearer" in resp.headers["WWW-Authenticate"]
    assert doc["detail"]


def test_preflight_gets_no_cors_allowance(client) -> None:
    resp = client.options("/api/admin/v1/testers", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in resp.headers
    assert "Set-Cookie" not in resp.headers


def test_missing_scope_is_403_naming_it(client, make_token) -> None:
    api = Api(client, make_token("feedback:read"))
    doc = assert_problem(api.get("testers"), 403)
    assert "testers:read" in doc["detail"]
    assert_problem(api.get("testers", token="nous_admin_not-a-token"), 401, "Authorization")


def test_etag_and_if_match(api: Api) -> None:
    created = api.post("testers", json={"email": "ada@example.com"})
    assert created.status_code == 201
    tid, etag = created.get_json()["id"], created.headers["ETag"]
    assert api.get(f"testers/{tid}").headers["ETag"] == etag
    changed = api.patch(f"testers/{tid}", json={"notes": "first"}, headers={"If-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    stale = api.patch(f"testers/{tid}", json={"notes": "second"}, headers={"If-Match": etag})
    doc = assert_problem(stale, 412, "If-Match")
    assert stale.headers["ETag"] == changed.headers["ETag"]
    assert "changed" in doc["detail"]
    assert api.get(f"testers/{tid}").get_json()["notes"] == "first"
    # Without If-Match the change is made; W/ and * are read too.
    assert api.patch(f"testers/{tid}", json={"notes": "third"}).status_code == 200
    assert api.patch(f"testers/{tid}", json={"notes": "4"}, headers={"If-Match": "*"}).status_code == 200
    now = api.get(f"testers/{tid}").headers["ETag"]
    assert api.patch(f"testers/{tid}", json={"notes": "5"}, headers={"If-Match": f"W/{now}"}).status_code == 200


def test_idempotent_retry_gets_the_first_answer(app, api: Api) -> None:
    key = {"Idempotency-Key": "signup-42"}
    first = api.post("testers", json={"email": "grace@example.com"}, headers=key)
    again = api.post("testers", json={"email": "grace@example.com"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.get_json() == again.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.headers["Location"]
    assert api.get("testers?total=true").get_json()["total"] == 1
    assert_problem(api.post("testers", json={"email": "other@example.com"}, headers=key), 422, "Idempotency-Key")
    # Without a key a second request is a second attempt: the address is taken.
    assert_problem(api.post("testers", json={"email": "grace@example.com"}), 409, "email")
    assert_problem(api.post("testers", json={"email": "x@example.com"}, headers={"Idempotency-Key": "a b"}), 400,
                   "Idempotency-Key")


def test_the_same_key_with_another_query_or_content_type_is_another_request(api: Api) -> None:
    """Import's `?invite=true` changes what the call does: a retry that adds it is not the first request."""
    key = {"Idempotency-Key": "import-7"}
    first = api.post("testers/import", data="email\nada@example.com\n", content_type="text/csv", headers=key)
    assert first.status_code == 200 and "Idempotent-Replayed" not in first.headers
    again = api.post("testers/import", data="email\nada@example.com\n", content_type="text/csv", headers=key)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert_problem(api.post("testers/import?invite=true", data="email\nada@example.com\n", content_type="text/csv",
                            headers=key), 422, "Idempotency-Key")
    assert_problem(api.post("testers/import", data="email\nada@example.com\n", content_type="text/plain",
                            headers=key), 422, "Idempotency-Key")


def test_the_same_key_is_per_token(client, make_token) -> None:
    one, two = Api(client, make_token("testers:write")), Api(client, make_token("testers:write"))
    key = {"Idempotency-Key": "k1"}
    assert one.post("testers", json={"email": "a1@example.com"}, headers=key).status_code == 201
    assert two.post("testers", json={"email": "a2@example.com"}, headers=key).status_code == 201


def test_rate_limit_per_token_with_retry_after(app, ctx, client, make_token) -> None:
    from nous.settings import service as settings

    settings.set_value("adminapi.rate_limit", "3/minute", actor="test")
    limited, other = Api(client, make_token("testers:read")), Api(client, make_token("testers:read"))
    for _ in range(3):
        assert limited.get("testers").status_code == 200
    resp = limited.get("testers")
    assert_problem(resp, 429)
    assert int(resp.headers["Retry-After"]) > 0
    assert other.get("testers").status_code == 200  # another token has its own budget


def test_cursor_pages_with_link_header(api: Api) -> None:
    for i in range(5):
        api.post("testers", json={"email": f"p{i}@example.com"})
    first = api.get("testers?limit=2&total=true")
    body = first.get_json()
    assert [t["email"] for t in body["items"]] == ["p0@example.com", "p1@example.com"]
    assert body["next_cursor"] and body["total"] == 5
    link = first.headers["Link"]
    assert link.endswith('rel="next"') and "limit=2" in link and body["next_cursor"] in link
    second = api.get(link[1:link.index(">")].split("/api/admin/v1/", 1)[1])
    assert [t["email"] for t in second.get_json()["items"]] == ["p2@example.com", "p3@example.com"]


def _cursor(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


@pytest.mark.parametrize("path", ["jobs", "email/outbox", "workflows/runs", "audit", "flags/a.flag/versions", "tokens"])
def test_a_cursor_no_page_gave_is_400_on_lists_by_number(api: Api, path: str) -> None:
    """Lists ordered by an id or a version take only a number their rows can have as a cursor: a string, a
    number past 64 bits, zero, a fraction or true is 400 naming `cursor`, not a server error."""
    assert api.post("flags", json={"key": "a.flag"}).status_code == 201
    assert api.get(path, query_string={"cursor": _cursor(1)}).status_code == 200
    for parts in (("x",), ("2026-12-06",), (2**64,), (0,), (-1,), (1.5,), (True,), (None,), (1, 2)):
        assert_problem(api.get(path, query_string={"cursor": _cursor(*parts)}), 400, "cursor")


@pytest.mark.parametrize("path", ["/api/admin/v1/testers", "/api/admin/v1/nothing", "/api/admin/system/x"])
def test_problem_for_anonymous_requests(client, path: str) -> None:
    resp = client.get(path)
    assert resp.mimetype == "application/problem+json"
    assert resp.status_code in (401, 404)


def test_a_retry_while_the_first_is_running_is_told_to_wait(app, api: Api) -> None:
    import hashlib

    from nous.adminapi.conventions import request_fingerprint
    from nous.extensions import get_redis

    name = _token_name(app, api.token)
    scope = f"{name}\nbusy\nPOST\n/api/admin/v1/testers".encode()
    body = b'{"email": "busy@example.com"}'
    with app.app_context():
        get_redis().set("nous:adminapi:idem:" + hashlib.sha256(scope).hexdigest(),
                        json.dumps({"fp": request_fingerprint(b"", "application/json", body)}), ex=60)
    resp = api.post("testers", data=body, content_type="application/json", headers={"Idempotency-Key": "busy"})
    assert_problem(resp, 409, "Idempotency-Key")
    assert api.get("testers").get_json()["items"] == []


def _token_name(app, raw: str) -> str:
    from nous.adminapi import tokens

    with app.app_context():
        return tokens.check(raw).token.name
