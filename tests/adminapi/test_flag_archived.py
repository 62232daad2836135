"""An archived flag through the admin API: switching it on, giving it strategies or a rollout is a 409
problem, and the API document says so for each of those operations (the fuzzer met the undocumented 409)."""

from __future__ import annotations

import pytest

from nous.flags import service as flags
from tests.adminapi.conftest import Api, assert_problem


@pytest.fixture
def ops(client, make_token) -> Api:
    return Api(client, make_token("flags:write", name="release-bot"))


CHANGES = [("post", "flags/old/enable", None), ("put", "flags/old/rollout", {"rollout": 30}),
           ("patch", "flags/old", {"strategies": [{"name": "default"}]}),
           ("put", "flags/old/simple", {"rollout": 50})]


@pytest.mark.parametrize(("method", "path", "payload"), CHANGES)
def test_an_archived_flag_refuses_what_would_switch_it_on_and_the_document_says_so(
        ops, client, method, path, payload) -> None:
    flags.create_flag({"key": "old"}, actor="t")
    flags.archive_flag("old", actor="t")
    resp = getattr(ops, method)(path, **({"json": payload} if payload is not None else {}))
    assert_problem(resp, 409, "key")
    operation = client.get("/openapi.json").get_json()["paths"]["/api/admin/v1/" + path.replace("old", "{key}")]
    assert "409" in operation[method]["responses"]
