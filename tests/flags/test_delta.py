"""Unleash's delta API (nous.flags.delta): a hydration first, then feature and segment events with ids, 304
when nothing changed, per token environment; a lost or trimmed log falls back to a hydration."""

from __future__ import annotations

from nous.flags import delta, service

PATH = "/api/client/delta"


def _get(client, token, etag=None):
    headers = {"Authorization": token}
    if etag:
        headers["If-None-Match"] = etag
    return client.get(PATH, headers=headers)


def test_the_first_answer_is_a_hydration_of_the_token_environment(client, make_flag, token) -> None:
    make_flag("d.one", enabled=True)
    r = _get(client, token)
    assert r.status_code == 200 and r.headers["ETag"]
    (event,) = r.get_json()["events"]
    assert event["type"] == "hydration" and isinstance(event["eventId"], int)
    assert [f["name"] for f in event["features"]] == ["d.one"] and event["features"][0]["enabled"] is True
    assert event["segments"] == []


def test_nothing_changed_is_304_with_the_same_etag(client, make_flag, token) -> None:
    make_flag("d.one", enabled=True)
    etag = _get(client, token).headers["ETag"]
    again = _get(client, token, etag)
    assert again.status_code == 304 and again.headers["ETag"] == etag and again.data == b""


def test_changes_arrive_as_ordered_events_after_the_etag(client, make_flag, token, ctx) -> None:
    make_flag("d.keep", enabled=True)
    make_flag("d.gone", enabled=True)
    seg = service.save_segment(None, "pros", [{"contextName": "plan", "operator": "IN", "values": ["pro"]}],
                               actor="t")
    etag = _get(client, token).headers["ETag"]
    service.set_enabled("d.keep", False, actor="t")
    service.archive_flag("d.gone", actor="t")
    make_flag("d.new", enabled=True, strategies=[{"name": "default", "segments": [seg.id]}])
    r = _get(client, token, etag)
    events = r.get_json()["events"]
    ids = [e["eventId"] for e in events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert int(etag.strip('"').split(".")[1]) < ids[0]
    kinds = {(e["type"], e.get("feature", {}).get("name") or e.get("featureName")) for e in events}
    assert ("feature-updated", "d.keep") in kinds and ("feature-updated", "d.new") in kinds
    assert ("feature-removed", "d.gone") in kinds
    assert next(e for e in events if e.get("feature", {}).get("name") == "d.keep")["feature"]["enabled"] is False
    assert r.headers["ETag"] == f'"{r.headers["ETag"].strip(chr(34)).split(".")[0]}.{ids[-1]}"'


def test_segment_updates_and_removals_are_events(client, token, ctx) -> None:
    seg = service.save_segment(None, "s1", [{"contextName": "plan", "operator": "IN", "values": ["a"]}], actor="t")
    etag = _get(client, token).headers["ETag"]
    service.save_segment(seg.id, "s1", [{"contextName": "plan", "operator": "IN", "values": ["b"]}], actor="t")
    r = _get(client, token, etag)
    (event,) = r.get_json()["events"]
    assert event["type"] == "segment-updated" and event["segment"]["constraints"][0]["values"] == ["b"]
    service.delete_segment(seg.id, actor="t")
    (event,) = _get(client, token, r.headers["ETag"]).get_json()["events"]
    assert event == {"type": "segment-removed", "segmentId": seg.id, "eventId": event["eventId"]}


def test_each_environment_has_its_own_log(client, make_flag, ctx) -> None:
    make_flag("d.env", enabled=True)
    _row, staging = service.create_token("st", actor="t", environment="staging")
    _row, production = service.create_token("pr", actor="t", environment="production")
    st, pr = _get(client, staging), _get(client, production)
    assert st.get_json()["events"][0]["features"][0]["enabled"] is False
    assert pr.get_json()["events"][0]["features"][0]["enabled"] is True
    service.set_enabled("d.env", True, actor="t", environment="staging")
    (event,) = _get(client, staging, st.headers["ETag"]).get_json()["events"]
    assert event["type"] == "feature-updated" and event["feature"]["enabled"] is True
    assert _get(client, production, pr.headers["ETag"]).status_code == 304


def test_a_lost_log_or_unknown_etag_falls_back_to_a_hydration(client, make_flag, token, redis_conn) -> None:
    make_flag("d.one", enabled=True)
    etag = _get(client, token).headers["ETag"]
    for key in redis_conn.scan_iter("nous:flags:delta:*"):
        redis_conn.delete(key)  # what a Redis restarted empty holds of the log
    r = _get(client, token, etag)
    assert r.status_code == 200 and r.headers["ETag"] != etag
    assert [e["type"] for e in r.get_json()["events"]] == ["hydration"]
    for stranger in ('"nope"', '"abc.1"', "W/\"x.y\"", '"' + r.headers["ETag"].strip('"').split(".")[0] + '.999"'):
        assert [e["type"] for e in _get(client, token, stranger).get_json()["events"]] == ["hydration"], stranger


def test_an_sdk_further_behind_than_the_log_reaches_gets_a_hydration(client, make_flag, token, redis_conn) -> None:
    make_flag("d.one", enabled=True)
    etag = _get(client, token).headers["ETag"]
    for i in range(3):
        make_flag(f"d.more{i}", enabled=True)
        _get(client, token)  # each change logged on its own
    redis_conn.xtrim(delta.LOG_KEY.format(env="production"), maxlen=1, approximate=False)
    events = _get(client, token, etag).get_json()["events"]
    assert [e["type"] for e in events] == ["hydration"] and len(events[0]["features"]) == 4


def test_a_client_token_is_required(client) -> None:
    assert client.get(PATH).status_code == 401
