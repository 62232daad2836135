"""Range requests on a stored file's download, in the console and in the admin API (both serve it through
attachments.file_response): one byte range is a 206 read from the database a slice at a time from where
it starts; If-Range with anything but the file's ETag, several ranges or an invalid header get the whole
file (200); a range that starts past the end is a 416. Every answer keeps the headers that make it inert."""

from __future__ import annotations

import io
import os
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import event

from nous.extensions import db
from nous.feedback import service as feedback
from tests.adminapi.conftest import Api, api, make_token  # noqa: F401 - fixtures used below
from tests.feedback.test_attachments_console import BASE, attachment_ids, stored_bytes, submit_with


def _noisy_png() -> bytes:
    """An image that stays some 30 kB once re-encoded, so ranges reach past several 1 kB slices."""
    image = Image.frombytes("RGB", (100, 100), os.urandom(100 * 100 * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def stored(app: Any, client: Any) -> tuple[int, int, bytes]:
    """(feedback id, attachment id, the stored bytes) of a feedback with one image."""
    fid = submit_with(client, [("screen shot.png", _noisy_png())])
    [aid] = attachment_ids(app, fid)
    return fid, aid, stored_bytes(app, aid)


@pytest.fixture(params=["console", "admin api"])
def fetch(request, admin_client, api, stored) -> Any:  # noqa: F811 - api is the fixture imported above
    """GET the stored file's download with some headers, in the console or the admin API."""
    fid, aid, _ = stored
    if request.param == "console":
        return lambda **headers: admin_client.get(f"{BASE}/attachments/{aid}/download", headers=headers)
    return lambda **headers: api.get(f"feedback/{fid}/attachments/{aid}", headers=headers)


def _inert(resp: Any) -> None:
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Content-Security-Policy"] == "sandbox"
    assert resp.headers["Content-Disposition"].startswith('attachment; filename="screen_shot.png"')
    assert resp.headers["Content-Type"] == "image/png"


@pytest.mark.parametrize(("header", "part"), [
    ("bytes=10-99", slice(10, 100)),
    ("bytes=0-0", slice(0, 1)),
    ("bytes=-100", slice(-100, None)),  # the last 100 bytes
    ("bytes=1500-", slice(1500, None)),
    ("BYTES = 20-29 ", slice(20, 30)),  # the unit in any case, spaces around
    ("bytes=100-999999999", slice(100, None)),  # the end clipped to the file's
    ("bytes=-999999999", slice(0, None)),  # more than the file: all of it
    ("bytes=0-" + "9" * 5000, slice(0, None)),  # past Python's 4,300-digit limit on int(): no 500
    ("bytes=-" + "9" * 5000, slice(0, None)),
    ("bytes=" + "0" * 5000 + "7-9", slice(7, 10)),  # leading zeros are not digits of size
])
def test_one_range_is_a_206_with_those_bytes(fetch, stored, header: str, part: slice) -> None:
    _, _, data = stored
    resp = fetch(Range=header)
    assert resp.status_code == 206, resp.get_data(as_text=True)
    assert resp.is_streamed  # from chunks(), never held whole
    body = resp.get_data()
    start = part.indices(len(data))[0]
    assert body == data[part] and len(body) > 0
    assert resp.headers["Content-Range"] == f"bytes {start}-{start + len(body) - 1}/{len(data)}"
    assert resp.headers["Content-Length"] == str(len(body))
    assert resp.headers["Accept-Ranges"] == "bytes"
    _inert(resp)


@pytest.mark.parametrize("header", ["bytes=-0", "bytes=999999999-", "bytes=30000000-30000001",
                                    "bytes=" + "9" * 5000 + "-", "bytes=" + "9" * 19 + "-" + "9" * 20])
def test_a_range_past_the_end_is_a_416(fetch, stored, header: str) -> None:
    _, _, data = stored
    resp = fetch(Range=header)
    assert resp.status_code == 416
    assert resp.headers["Content-Range"] == f"bytes */{len(data)}"
    assert resp.headers["Cache-Control"] == "no-store"  # about this request, not the file: never kept
    assert resp.get_data() == b""
    _inert(resp)


@pytest.mark.parametrize("header", [
    "bytes=0-9,20-29",  # several ranges: the whole file, no multipart
    "bytes=0-,0-,0-,0-",  # overlapping: no way to make the server read the file many times
    "bytes=5-2",  # last before first: invalid, ignored
    "bytes=abc", "bytes=", "bytes=-", "bytes=1-2-3", "items=0-9", "0-9", "bytes=0x10-20", "bytes=\u0661-2",
])
def test_several_or_invalid_ranges_get_the_whole_file(fetch, stored, header: str) -> None:
    _, _, data = stored
    resp = fetch(Range=header)
    assert resp.status_code == 200
    assert resp.get_data() == data and "Content-Range" not in resp.headers
    assert resp.headers["Accept-Ranges"] == "bytes"
    _inert(resp)


def test_if_range_with_the_etag_gets_the_range_anything_else_the_whole_file(fetch, stored) -> None:
    _, _, data = stored
    etag = fetch().headers["ETag"]
    same = fetch(Range="bytes=0-9", **{"If-Range": etag})
    assert same.status_code == 206 and same.get_data() == data[:10]
    for other in ('"0000"', f"W/{etag}", "Sun, 06 Dec 2026 10:00:00 GMT", ""):
        resp = fetch(Range="bytes=0-9", **{"If-Range": other})
        assert resp.status_code == 200 and resp.get_data() == data, other
    # A client that holds the file gets 304 before any range is looked at.
    cached = fetch(Range="bytes=0-9", **{"If-None-Match": etag})
    assert cached.status_code == 304 and cached.get_data() == b""


def test_a_range_is_read_in_slices_from_where_it_starts(app, stored) -> None:
    """Each slice is one substr() query starting inside the range: nothing before it is read, and no
    query returns more than one slice."""
    _, aid, data = stored
    reads: list[tuple[Any, ...]] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if "substr" in statement.lower():
            reads.append(tuple(parameters.values()) if isinstance(parameters, dict) else tuple(parameters))

    with app.test_request_context(headers={"Range": "bytes=1500-4999"}):
        att = feedback.attachments.get(aid)
        resp = feedback.attachments.file_response(att, "attachment", chunk_size=1024)
        engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        body = b"".join(resp.response)
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert resp.status_code == 206 and body == data[1500:5000]
    assert [[p for p in r if isinstance(p, int) and p != aid] for r in reads] == [
        [1501, 1024], [2525, 1024], [3549, 1024], [4573, 428]]  # 1-based offsets, lengths up to 1024


def test_the_range_parser_alone() -> None:
    parse = feedback.attachments.byte_range
    assert parse("bytes=0-4", 10) == (0, 5)
    assert parse("bytes=8-", 10) == (8, 10)
    assert parse("bytes=-3", 10) == (7, 10)
    assert parse("bytes=9-9", 10) == (9, 10)
    assert parse("bytes=10-", 10) == feedback.attachments.UNSATISFIABLE
    assert parse("bytes=-0", 10) == feedback.attachments.UNSATISFIABLE
    assert parse("bytes=-5", 0) == feedback.attachments.UNSATISFIABLE
    assert parse(None, 10) is None and parse("bytes=3-1", 10) is None and parse("bytes=0-1,3-4", 10) is None
    assert parse("bytes=" + ",".join(["0-1"] * 200), 10) is None


def test_postgresql_keeps_stored_files_uncompressed_so_slices_read_only_their_pieces(app, client) -> None:
    """A log that compresses 100 to 1 is still stored as it came: pglz would compress it (and spent ~13 ms
    trying on every re-encoded screenshot, for nothing), and a compressed value is decompressed from its
    start for every slice of a download."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("PostgreSQL's storage of large values")
    log_file = b"2026-12-07 00:00:00 INFO sync finished without error\n" * 4000
    fid = submit_with(client, [("app.log", log_file)])
    [aid] = attachment_ids(app, fid)
    with app.app_context():
        storage = dict(db.session.execute(db.text(
            "SELECT attname, attstorage FROM pg_attribute WHERE attrelid = 'feedback_attachments'::regclass "
            "AND attname IN ('data', 'thumbnail')")).all())
        compression, size, length = db.session.execute(db.text(
            "SELECT pg_column_compression(data), pg_column_size(data), octet_length(data) "
            "FROM feedback_attachments WHERE id = :id"), {"id": aid}).one()
    assert storage == {"data": "e", "thumbnail": "e"}
    assert compression is None and size >= length == len(log_file)
