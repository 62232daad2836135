"""An open flag stream follows its token: the environment's rename (the stream goes on in the environment
by its new name, the SDK losing no flag) and the token's revocation (the stream ends; the SDK's reconnect
is refused)."""

from __future__ import annotations

from itertools import islice

from nous.flags import service
from tests.flags.test_streaming import PATH, _events, _open


def test_a_stream_follows_its_environment_through_a_rename(client, make_flag, ctx) -> None:
    make_flag("s.one", enabled=False)
    service.set_enabled("s.one", True, actor="t", environment="staging")
    _row, token = service.create_token("sdk", actor="t", environment="staging")
    resp, chunks = _open(client, token)
    try:
        ((_name, _id, data),) = _events([next(chunks)])
        assert [(f["name"], f["enabled"]) for f in data["events"][0]["features"]] == [("s.one", True)]
        service.rename_environment("staging", "qa", actor="t")
        service.set_enabled("s.one", False, actor="t", environment="production")  # wakes the stream again
        got = _events([next(chunks)])
        removed = [e for _n, _i, d in got for e in d["events"] if e["type"] == "feature-removed"]
        assert removed == []
        ((_name, _id, data),) = got
        features = data["events"][-1].get("features") or [data["events"][-1].get("feature")]
        assert [(f["name"], f["enabled"]) for f in features] == [("s.one", True)]
    finally:
        resp.close()


def test_a_revoked_token_s_stream_ends(client, make_flag, ctx) -> None:
    make_flag("s.one", enabled=True)
    row, token = service.create_token("sdk", actor="t")
    _resp, chunks = _open(client, token)
    next(chunks)
    service.revoke_token(row.id, actor="t")
    service.set_enabled("s.one", False, actor="t")
    assert list(islice(chunks, 1)) == []  # the stream ended: no flag reaches a revoked token again
    assert client.get(PATH, headers={"Authorization": token, "Accept": "text/event-stream"}).status_code == 401
