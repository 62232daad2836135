"""An open flag stream follows its token: the environment's rename (the stream goes on in the environment
by its new name, the SDK losing no flag) and the token's revocation (the stream ends; the SDK's reconnect
is refused)."""

from __future__ import annotations

from itertools import islice

from nous.flags import service
from tests.adminapi import test_tokens_outages
from tests.flags.test_delta_redis_down import _connected_stream
from tests.flags.test_streaming import PATH, _events, _open

own_app = test_tokens_outages.own_app  # a throwaway Redis to stop and start, and apps on it


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


def test_a_stream_follows_a_rename_and_a_revocation_made_while_redis_is_away(own_app) -> None:
    make, server = own_app
    web = make()
    web.extensions["nous.flags"].offline_reload = 0.2  # (5 s in production)
    with web.app_context():
        service.create_flag({"key": "o.one", "enabled": False}, actor="t")
        service.set_enabled("o.one", True, actor="t", environment="staging")
        row, raw = service.create_token("sdk", actor="t", environment="staging")
        token_id = row.id
    resp, chunks = _connected_stream(web, raw)
    try:
        server.stop()
        with web.app_context():
            service.rename_environment("staging", "qa", actor="t")
            service.set_rollout("o.one", 30, actor="t", environment="qa")
        (event,) = _events([next(chunks)])[0][2]["events"]  # the flags as the process reloads them
        assert event["type"] == "hydration"
        assert [(f["name"], f["enabled"], f["strategies"][0]["parameters"]["rollout"]) for f in event["features"]] \
            == [("o.one", True, "30")]
        with web.app_context():
            service.revoke_token(token_id, actor="t")
        assert list(islice(chunks, 1)) == []  # ended once the process read the revocation
    finally:
        resp.close()
