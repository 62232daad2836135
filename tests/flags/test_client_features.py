"""`GET /api/client/features` from bytes made once per snapshot: gzip when asked, ETag / 304, Vary, and
the same document whether it is answered in front of Flask or by the Flask route."""

from __future__ import annotations

import gzip
import json

import pytest

from nous.flags import service
from nous.flags.cache import snapshot
from nous.front import accepts_gzip
from tests.flags.conftest import constraint, rollout

FEATURES = "/api/client/features"


@pytest.fixture
def two_flags(make_flag) -> None:
    make_flag("everyone", enabled=True)
    make_flag("pro.only", enabled=True, strategies=[rollout(100, constraint("plan", "IN", ["pro"]))])


def test_gzip_when_asked_and_the_same_document_as_plain(client, ctx, token, two_flags) -> None:
    plain = client.get(FEATURES, headers={"Authorization": token})
    packed = client.get(FEATURES, headers={"Authorization": token, "Accept-Encoding": "br, gzip;q=0.8"})
    assert plain.status_code == packed.status_code == 200
    assert "Content-Encoding" not in plain.headers
    assert packed.headers["Content-Encoding"] == "gzip"
    assert plain.headers["Vary"] == packed.headers["Vary"] == "Accept-Encoding"
    assert int(packed.headers["Content-Length"]) == len(packed.data) < len(plain.data)
    assert json.loads(gzip.decompress(packed.data)) == plain.get_json()
    assert packed.headers["ETag"] == plain.headers["ETag"][:-1] + '-gz"'  # one strong ETag per representation
    for held in (plain.headers["ETag"], packed.headers["ETag"]):  # either is the same flags: 304
        again = client.get(FEATURES, headers={"Authorization": token, "Accept-Encoding": "gzip",
                                              "If-None-Match": held})
        assert again.status_code == 304 and again.headers["ETag"] == packed.headers["ETag"]
    doc = plain.get_json()
    assert [f["name"] for f in doc["features"]] == ["everyone", "pro.only"]
    assert doc["query"] == {"environment": "production", "inlineSegmentConstraints": False}
    assert doc["meta"]["etag"] == plain.headers["ETag"]


def test_gzip_refused_by_q_zero_is_not_sent(client, ctx, token, two_flags) -> None:
    for header in ("gzip;q=0", "identity", "*;q=0", "gzip;q=0, *"):
        resp = client.get(FEATURES, headers={"Authorization": token, "Accept-Encoding": header})
        assert "Content-Encoding" not in resp.headers, header
        assert resp.get_json()["features"]


def test_304_for_the_held_etag_in_any_form_and_200_after_a_change(client, ctx, token, two_flags) -> None:
    etag = client.get(FEATURES, headers={"Authorization": token}).headers["ETag"]
    for held in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        resp = client.get(FEATURES, headers={"Authorization": token, "If-None-Match": held})
        assert resp.status_code == 304, held
        assert resp.data == b"" and "Content-Length" not in resp.headers
        assert resp.headers["ETag"] == etag
    assert client.get(FEATURES, headers={"Authorization": token, "If-None-Match": '"other"'}).status_code == 200
    service.set_enabled("pro.only", False, actor="t")
    after = client.get(FEATURES, headers={"Authorization": token, "If-None-Match": etag,
                                          "Accept-Encoding": "gzip"})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    features = {f["name"]: f["enabled"] for f in json.loads(gzip.decompress(after.data))["features"]}
    assert features == {"everyone": True, "pro.only": False}


def test_the_prepared_bytes_are_made_once_per_snapshot(client, ctx, token, two_flags) -> None:
    first = client.get(FEATURES, headers={"Authorization": token})
    here = snapshot().env("production")
    assert first.data == here.client_answer(False)
    assert here.client_answer(False) is here.client_answer(False)
    assert here.client_answer(True) is here.client_answer(True)


def test_the_usual_poll_is_answered_in_front_of_flask(app, ctx, token, two_flags) -> None:
    from nous.flags.api import client_features_in_front

    assert app.extensions["nous.front"].routes[("GET", FEATURES)].handler is client_features_in_front
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": FEATURES, "QUERY_STRING": "", "REMOTE_ADDR": "127.0.0.1",
               "HTTP_AUTHORIZATION": token, "HTTP_ACCEPT_ENCODING": "gzip"}
    answer = client_features_in_front(app, dict(environ))
    assert answer.status == 200 and answer.body is snapshot().env("production").client_answer(True)
    assert ("Content-Encoding", "gzip") in answer.headers
    # anything else is Flask's to answer: a query, a bad token
    assert client_features_in_front(app, {**environ, "QUERY_STRING": "namePrefix=x"}) is None
    assert client_features_in_front(app, {**environ, "HTTP_AUTHORIZATION": "nope"}) is None


def test_a_filtered_query_is_answered_by_flask_with_the_same_shape(client, ctx, token, two_flags) -> None:
    everything = client.get(FEATURES, headers={"Authorization": token}).get_json()
    filtered = client.get(FEATURES + "?namePrefix=pro", headers={"Authorization": token})
    doc = filtered.get_json()
    assert [f["name"] for f in doc["features"]] == ["pro.only"]
    assert doc["query"] == {"environment": "production", "inlineSegmentConstraints": False, "namePrefix": "pro"}
    assert doc["features"][0] == everything["features"][1]
    assert filtered.headers["ETag"] != everything["meta"]["etag"]
    held = {"Authorization": token, "If-None-Match": filtered.headers["ETag"]}
    assert client.get(FEATURES + "?namePrefix=pro", headers=held).status_code == 304


def test_refusals_still_come_from_flask(client, ctx, token, two_flags) -> None:
    assert client.get(FEATURES, headers={"Authorization": "nope"}).status_code == 401
    assert client.get(FEATURES + "?namePrefix=" + "x" * 201,
                      headers={"Authorization": token}).get_json()["errors"] == {"namePrefix": "at most 200 characters"}


@pytest.mark.parametrize(("header", "expected"), [
    ("gzip", True), ("GZIP", True), ("deflate, gzip", True), ("gzip;q=0.001", True), ("x-gzip", True),
    ("*", True), ("gzip;q=0", False), ("gzip; q=0.0", False), ("*;q=0", False), ("gzip;q=0, *", False),
    ("br", False), ("", False), ("gzip;q=abc", False), ("gzipx", False),
])
def test_accepts_gzip(header: str, expected: bool) -> None:
    assert accepts_gzip(header) is expected


@pytest.mark.parametrize(("held", "same"), [
    ("{etag}", True), ("W/{etag}", True), ('"x", {etag}', True), ("*", True), ("{bare}", True),
    ("{gz}", True), ('"{bare}0"', False), ('"x"', False), ("W/", False),
])
def test_if_none_match_in_every_form(client, ctx, token, two_flags, held: str, same: bool) -> None:
    etag = client.get(FEATURES, headers={"Authorization": token}).headers["ETag"]
    header = held.format(etag=etag, bare=etag.strip('"'), gz=etag[:-1] + '-gz"')
    resp = client.get(FEATURES, headers={"Authorization": token, "If-None-Match": header})
    assert resp.status_code == (304 if same else 200), header
