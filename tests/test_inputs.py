"""nous.inputs: the one reader of JSON bodies and the one parser of integers, dates and choices, and the
answers every route gives through them (400 naming the field, 404 for ids no row can have)."""

from __future__ import annotations

import json
import os
import re
import time
from contextlib import nullcontext
from datetime import UTC, date, datetime
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from simple_websocket import ConnectionClosed

from nous import inputs
from tests.live.conftest import open_socket, receive_until, sign_in, wait_hub_idle
from tests.support.live import LiveServer

DEEP = [b"[" * 5000 + b"]" * 5000, b'{"a":' * 1100 + b"1" + b"}" * 1100]
JSON_APIS = ["/api/feedback", "/api/flags/evaluate", "/api/client/metrics", "/api/client/register"]
GOOD_FEEDBACK = {"rating": 4, "message": "fine", "category": "idea"}


# --------------------------------------------------------------------------- the reader


@pytest.mark.parametrize("text", [*DEEP, b"[" * 33 + b"]" * 33, b"[" * 200_000])
def test_deep_json_is_a_value_error_never_a_recursion_error(text: bytes) -> None:
    with pytest.raises(ValueError, match="nested more than 32 levels deep"):
        inputs.loads(text)


def test_json_within_the_limits_reads_as_usual() -> None:
    assert inputs.loads(b"[" * 32 + b"]" * 32) == json.loads("[" * 32 + "]" * 32)
    assert inputs.loads('{"a": [1, 2.5, "x", null, true], "b": {"c": -3}}') == {
        "a": [1, 2.5, "x", None, True], "b": {"c": -3}}
    assert inputs.loads(str(2**63 - 1)) == 2**63 - 1 and inputs.loads(str(-(2**63))) == -(2**63)


def test_numbers_past_64_bits_are_floats_and_non_finite_ones_are_left_to_the_field() -> None:
    assert inputs.loads("1" + "0" * 400) == float("inf")
    assert inputs.loads("1e309") == float("inf") and inputs.loads("-1e309") == float("-inf")
    assert inputs.loads(str(2**64)) == float(2**64)
    assert inputs.loads("NaN") != inputs.loads("NaN")  # read; each field's check refuses it by name
    with pytest.raises(ValueError, match="4300 digits"):
        inputs.loads("1" * 5000)
    assert [inputs.finite(v) for v in (1, 2.5, 2**63 - 1, 2**64, 10**400, float("inf"), float("nan"), True, "1")] == [
        True, True, True, False, False, False, False, False, False]


def test_lone_surrogates_become_the_replacement_character_and_pairs_stay() -> None:
    assert inputs.loads(r'{"\ud800k": ["a\udc00b", "\ud83d\ude00"]}') == {"\ufffdk": ["a\ufffdb", "\U0001f600"]}
    assert inputs.loads(rb'"x\udfff"') == "x\ufffd"


def test_surrogates_sent_raw_or_escaped_in_any_encoding_become_the_replacement_character() -> None:
    assert inputs.loads(b'"a\xed\xa0\x80b"') == "a\ufffdb"  # a surrogate's own UTF-8 bytes
    assert inputs.loads('"\\ud800"'.encode("utf-16-le")) == "\ufffd"  # the escape, in UTF-16
    assert inputs.loads('"\\u0000x"'.encode("utf-32")) == "\ufffdx"


def test_text_is_read_as_json_loads_reads_it() -> None:
    assert inputs.loads('{"a": 1}'.encode("utf-8-sig")) == {"a": 1}  # bytes may start with a byte order mark
    with pytest.raises(ValueError, match="Unexpected UTF-8 BOM"):  # text may not (json.loads says the same)
        inputs.loads("\ufeff{}")
    with pytest.raises(ValueError):
        inputs.loads(b'"\xc3\x28"')  # not UTF-8
    with pytest.raises(TypeError):
        inputs.loads(memoryview(b"{}"))  # type: ignore[arg-type]


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**25), max_value=10**25)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
_EDGES = [b'{"a":-9223372036854775809}', b'{"a":-9223372036854775808}', b'{"a":9999999999999999999}',
          b'{"a":18446744073709551615}', b'{"a":18446744073709551616}', b'{"a":1e400}', b'{"a":NaN}',
          b'{"a":-Infinity}', b'{"a":1,"a":2}', b'{"a":"\\u0000"}', b'{"a":"\\ud800"}', b'{"\xed\xa0\x80":1}',
          b'{"a":1} x', b" \t\r\n[1] ", b"\xef\xbb\xbf[1]", b'{"a":"\x7f"}', b'{"a":"\x1f"}', b"[" * 33 + b"]" * 33,
          b"[" * 32 + b"]" * 32, b'"' + b"[" * 40 + b'"', b"1.0000000000000000000001", b"-0", b"-0.0", b"1E2"]


def _read(raw: bytes, standard: bool = False) -> str:
    """What `loads` gives (its repr, so NaN equals NaN and 1 differs from 1.0), or the kind of refusal;
    `standard`: with every text sent to the standard parser."""
    try:
        with mock.patch.object(inputs, "_NOT_FOR_ORJSON", re.compile(b"")) if standard else nullcontext():
            return repr(inputs.loads(raw))
    except ValueError:
        return "ValueError"


@settings(database=None, deadline=None, max_examples=300)  # no deadline: a busy machine is not a failure
@given(value=_JSON_VALUES, compact=st.booleans())
def test_bodies_read_by_orjson_give_what_the_standard_parser_gives(value, compact) -> None:
    raw = json.dumps(value, separators=(",", ":") if compact else None, ensure_ascii=compact).encode()
    assert _read(raw) == _read(raw, standard=True)


@pytest.mark.parametrize("raw", _EDGES)
def test_edge_bodies_read_by_orjson_give_what_the_standard_parser_gives(raw: bytes) -> None:
    assert _read(raw) == _read(raw, standard=True)


def test_orjson_reads_plain_bodies(monkeypatch) -> None:
    """The fast path is taken (the tests above would pass without it)."""
    calls = []
    monkeypatch.setattr(inputs.orjson, "loads", lambda raw: calls.append(raw) or {"read": "by orjson"})
    assert inputs.loads(b'{"userId": "u-1"}') == {"read": "by orjson"} and calls == [b'{"userId": "u-1"}']
    assert inputs.loads(b'{"userId": "\\u00e9"}') == {"userId": "\u00e9"} and len(calls) == 1  # an escape


def test_a_nul_in_a_json_string_becomes_the_replacement_character() -> None:
    """PostgreSQL refuses a NUL in text and in JSON, so one in a body must never reach a query."""
    assert inputs.loads(r'{"a\u0000": ["\u0000b", "c\\u0000"]}') == {"a\ufffd": ["\ufffdb", "c\\u0000"]}
    assert inputs.loads(rb'"x\u0000"') == "x\ufffd"


def test_flask_get_json_uses_the_same_limits(app) -> None:
    with app.test_request_context("/", method="POST", data=DEEP[0], content_type="application/json"):
        from flask import request

        assert request.get_json(silent=True) is None
    with pytest.raises(ValueError):
        app.json.loads("[" * 5000)


def test_a_multipart_body_keeps_its_files_in_memory_up_to_the_bound_and_spools_past_it(app, monkeypatch) -> None:
    """Werkzeug would write any file part over 500 kB to a temporary file and read it back; the views read
    them whole anyway. Past FILES_IN_MEMORY the temporary file is back."""
    import io

    from flask import request

    data = os.urandom(700_000)
    for bound, in_memory in ((inputs.FILES_IN_MEMORY, True), (600_000, False)):
        monkeypatch.setattr(inputs, "FILES_IN_MEMORY", bound)
        with app.test_request_context("/", method="POST", data={"f": (io.BytesIO(data), "big.bin")}):
            stream = request.files["f"].stream
            assert isinstance(stream, io.BytesIO) is in_memory
            assert stream.read() == data


@pytest.mark.parametrize("path", JSON_APIS)
@pytest.mark.parametrize("body", DEEP)
def test_deep_bodies_get_a_400_naming_the_body_on_every_json_api(client, ctx, flags_token, path, body) -> None:
    from nous.feedback.models import Feedback

    resp = client.post(path, data=body, content_type="application/json", headers={"Authorization": flags_token})
    assert resp.status_code == 400, resp.data[:200]
    assert "nested more than 32 levels deep" in resp.get_json()["errors"]["body"]
    assert Feedback.query.count() == 0


def test_a_body_larger_than_the_limit_is_413(client, ctx, flags_token) -> None:
    big = json.dumps({"appName": "a", "x": "y" * (inputs.MAX_JSON_BYTES + 10)})
    resp = client.post("/api/client/register", data=big, content_type="application/json",
                       headers={"Authorization": flags_token})
    assert resp.status_code == 413


@pytest.mark.parametrize("raw", ["1e309", "1" + "0" * 400, "NaN", "-Infinity"])
def test_non_finite_elapsed_ms_is_refused_by_name(client, ctx, unlimited_feedback, raw) -> None:
    from nous.feedback.models import Feedback

    body = json.dumps({**GOOD_FEEDBACK, "elapsed_ms": "X"}).replace('"X"', raw)
    resp = client.post("/api/feedback", data=body, content_type="application/json")
    assert resp.status_code == 400 and set(resp.get_json()["errors"]) == {"elapsed_ms"}
    assert Feedback.query.count() == 0


def test_a_huge_number_in_a_flag_context_is_refused_by_name_in_front_of_flask_too(client, ctx, flags_token) -> None:
    body = '{"properties": {"n": 1' + "0" * 400 + "}}"
    resp = client.post("/api/flags/evaluate", data=body, content_type="application/json",
                       headers={"Authorization": flags_token})
    assert resp.status_code == 400 and "properties.n" in resp.get_json()["errors"]


# --------------------------------------------------------------------------- the parser


@pytest.mark.parametrize("raw", ["²", "٣", "１", "1.0", "0x10", "+1", "1 2", "-1", str(2**63), "9" * 400, "1e3"])
def test_integers_are_ascii_digits_within_bounds(raw: str) -> None:
    with pytest.raises(inputs.InputError) as refused:
        inputs.parse_int(raw, "before")
    assert refused.value.code == 400
    assert refused.value.errors == {"before": f"must be a whole number from 0 to {2**63 - 1}"}


def test_integers_in_bounds_and_defaults() -> None:
    assert inputs.parse_int(" 42 ", "n") == 42
    assert inputs.parse_int(str(2**63 - 1), "n") == 2**63 - 1
    assert inputs.parse_int("", "n", default=7) == 7 and inputs.parse_int(None, "n") is None
    assert inputs.parse_int("-5", "n", minimum=-10, maximum=10) == -5
    with pytest.raises(inputs.InputError, match="limit must be a whole number from 1 to 100"):
        inputs.parse_int("101", "limit", minimum=1, maximum=100)


@pytest.mark.parametrize("raw", ["9999-12-31", "0001-01-01", "1969-12-31", "2026-02-30", "²⁰²⁶-01-01", "tomorrow"])
def test_dates_outside_the_calendar_or_the_range_are_refused(raw: str) -> None:
    with pytest.raises(inputs.InputError) as refused:
        inputs.parse_date(raw, "until")
    assert set(refused.value.errors) == {"until"}
    with pytest.raises(inputs.InputError):
        inputs.parse_datetime(raw, "until")


def test_dates_and_date_times_in_range() -> None:
    assert inputs.parse_date("2026-12-01", "since") == date(2026, 12, 1)
    assert inputs.parse_datetime("2026-12-01", "since") == datetime(2026, 12, 1, tzinfo=UTC)
    assert inputs.parse_datetime("2026-12-01T09:30:00Z", "since") == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    assert inputs.parse_datetime("", "since") is None


def test_choices() -> None:
    assert inputs.parse_choice(None, "range", ("1h", "6h"), "1h") == "1h"
    assert inputs.parse_choice("6h", "range", ("1h", "6h")) == "6h"
    for raw in ("", "2h", "1H"):
        with pytest.raises(inputs.InputError, match="range must be one of 1h, 6h"):
            inputs.parse_choice(raw, "range", ("1h", "6h"))


# --------------------------------------------------------------------------- the routes


QUERIES = [  # (url, field): each once with a Unicode digit, once past 64 bits
    ("/admin/system/db-report?limit={}", "limit"), ("/admin/audit?before={}", "before"),
    ("/health/metrics?window={}", "window"), ("/admin/beta/feedback/charts.json?days={}", "days"),
    ("/admin/workflows/runs?before={}", "before"), ("/admin/jobs/?before={}", "before"),
    ("/admin/jobs/outbox?before={}", "before"), ("/admin/jobs/panel/stats?hours={}", "hours"),
]


@pytest.mark.parametrize("value", ["²", str(2**64), "1" + "0" * 400])
@pytest.mark.parametrize(("url", "field"), QUERIES)
def test_query_integers_get_a_400_naming_the_field(admin_client, url, field, value) -> None:
    resp = admin_client.get(url.format(value), headers={"Accept": "application/json"})
    assert resp.status_code == 400, (url, value, resp.status_code)
    assert field in resp.get_json()["errors"]


@pytest.mark.parametrize("url", ["/admin/audit?until=9999-12-31", "/admin/audit?since=0000-00-00",
                                 "/admin/audit?since=2026-02-30T10:00"])
def test_audit_dates_out_of_range_get_a_400(admin_client, url) -> None:
    resp = admin_client.get(url, headers={"Accept": "application/json"})
    assert resp.status_code == 400 and set(resp.get_json()["errors"]) <= {"since", "until"}


def test_feedback_filter_dates_out_of_range_are_ignored_like_any_other_nonsense(admin_client) -> None:
    for query in ("since=9999-12-31&until=9999-12-31", "since=0001-01-01", "until=2026-02-30"):
        assert admin_client.get(f"/admin/beta/feedback?{query}").status_code == 200
        assert admin_client.get(f"/admin/beta/feedback/export.csv?{query}").status_code == 200


@pytest.mark.parametrize("path", ["/admin/jobs/outbox/{}", "/admin/workflows/runs/{}", "/admin/beta/feedback/{}"])
@pytest.mark.parametrize("value", [str(2**63), str(2**64), "1" + "0" * 400, "%C2%B2", "%D9%A3"])
def test_path_ids_no_row_can_have_are_404(admin_client, path, value) -> None:
    assert admin_client.get(path.format(value)).status_code == 404


@pytest.mark.parametrize("path", ["/admin/jobs/outbox/{}/resend", "/admin/beta/flags/-/tokens/{}/revoke",
                                  "/admin/beta/flags/-/segments/{}/delete", "/admin/beta/flags/any/restore/{}"])
def test_path_ids_past_64_bits_in_changes_are_404(admin_client, ctx, path) -> None:
    from nous.audit.models import AuditEvent

    for value in (str(2**64), "1" + "0" * 400):
        assert admin_client.post(path.format(value)).status_code == 404
    assert AuditEvent.query.count() == 0


def test_a_unicode_digit_in_a_form_id_is_a_400(admin_client, ctx) -> None:
    resp = admin_client.post("/admin/beta/feedback/bulk", data={"ids": ["1", "²"], "bulk_status": "spam"},
                             headers={"Accept": "application/json"})
    assert resp.status_code == 400 and "ids" in resp.get_json()["errors"]


def test_nul_characters_in_queries_and_forms_read_as_the_replacement_character(admin_client, ctx) -> None:
    from nous.flags.models import ClientToken

    assert admin_client.get("/admin/beta/flags/?q=a%00b").status_code == 200
    resp = admin_client.post("/admin/beta/flags/-/tokens", data={"name": "a\x00b", "x\x00": "y"})
    assert resp.status_code < 400
    assert [t.name for t in ClientToken.query] == ["a\ufffdb"]


@pytest.mark.parametrize("path", ["/admin/beta/flags/a%00b", "/admin/beta/flags/a%00b/history", "/admin/jobs/x%00y",
                                  "/join/%00"])
def test_a_nul_character_in_a_path_reads_as_the_replacement_character(admin_client, path) -> None:
    resp = admin_client.get(path, headers={"Accept": "application/json"})
    assert resp.status_code == 404  # the route's own answer: nothing has that name


def test_documents_inside_documents_are_read_within_the_limits_too(admin_client, ctx) -> None:
    from nous.flags import service as flags
    from nous.workflows import service as workflows
    from tests.test_route_walker import WORKFLOW

    flags.create_flag({"key": "deep.payload", "enabled": True}, actor="test")
    deep = "[" * 5000 + "]" * 5000
    model = {"strategies": [], "variants": [{"name": "a", "weight": 1, "payload": {"type": "json", "value": deep}}]}
    resp = admin_client.post("/admin/beta/flags/deep.payload/definition", data={"definition": json.dumps(model)})
    assert resp.status_code == 422 and b"not valid JSON" in resp.data
    wf = workflows.create(WORKFLOW, "test")
    for bad in ('{"a": NaN}', '{"a": 1e999}', '{"a": ' + "[" * 5000 + "]" * 5000 + "}"):
        assert admin_client.post(f"/admin/workflows/{wf.id}/run", data={"input": bad}).status_code == 400, bad[:20]
    assert workflows.list_runs(wf.id).rows == []


# --------------------------------------------------------------------------- smaller faults


def test_current_time_that_is_no_real_time_is_refused(client, ctx, flags_token) -> None:
    for bad in ("2026-12-01T99:99:99Z", "2026-02-30T10:00:00Z", "2026-12-01T24:00:00Z"):
        resp = client.post("/api/flags/evaluate", json={"currentTime": bad}, headers={"Authorization": flags_token})
        assert resp.status_code == 400 and "currentTime" in resp.get_json()["errors"], bad
    leap = client.post("/api/flags/evaluate", json={"currentTime": "2016-12-31T23:59:60Z"},
                       headers={"Authorization": flags_token})
    assert leap.status_code == 200


def test_feedback_of_only_control_characters_is_refused_and_mixed_text_is_kept(client, ctx, unlimited_feedback) -> None:
    from nous.feedback.models import Feedback

    for empty in ("\x00", "\x00\x01\x02", "\x1b\x07 \x7f", "\ud800", "\ufffd", " \t\x0b\x0c"):
        resp = client.post("/api/feedback", json={**GOOD_FEEDBACK, "message": empty})
        assert resp.status_code == 400 and "message" in resp.get_json()["errors"], repr(empty)
    assert Feedback.query.count() == 0
    ok = client.post("/api/feedback", json={**GOOD_FEEDBACK, "message": "\x00hi\x07"})
    assert ok.status_code == 201
    assert Feedback.query.one().message == "\ufffdhi\ufffd"


def test_metrics_refuse_null_variants_as_their_schema_says(client, ctx, flags_token) -> None:
    body = {"appName": "a", "bucket": {"toggles": {"f": {"yes": 1, "no": 0, "variants": None}}}}
    resp = client.post("/api/client/metrics", json=body, headers={"Authorization": flags_token})
    assert resp.status_code == 400 and list(resp.get_json()["errors"]) == ["bucket.toggles.f.variants"]
    assert resp.get_json()["errors"]["bucket.toggles.f.variants"].startswith("must be an object {variant: count}")
    del body["bucket"]["toggles"]["f"]["variants"]
    assert client.post("/api/client/metrics", json=body, headers={"Authorization": flags_token}).status_code == 202


def test_retry_after_only_on_refusals(client, ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("auth.rate_limit", "2/minute", actor="test")
    answers = [client.get("/admin/login/link/not-a-token") for _ in range(3)]
    assert [r.status_code < 429 for r in answers] == [True, True, False]
    for ok in answers[:2]:
        assert "Retry-After" not in ok.headers and "X-RateLimit-Limit" in ok.headers
    assert answers[2].status_code == 429 and int(answers[2].headers["Retry-After"]) > 0


def test_live_socket_closes_on_a_message_over_the_cap(app) -> None:
    server = LiveServer(app)
    try:
        http = sign_in(app, server.url)
        ws = open_socket(server.url, http)
        try:
            receive_until(ws, lambda m: m["type"] == "hello")
            ws.send("x" * 1024)  # a small message is read and ignored
            deadline = time.monotonic() + 10
            with pytest.raises(ConnectionClosed) as closed:
                ws.send("x" * 5 * 1024 * 1024)  # the server may close before the client has sent it all
                while time.monotonic() < deadline:
                    ws.receive(timeout=0.2)
            assert closed.value.reason == 1009  # message too big
        finally:
            if ws.connected:
                ws.close()
    finally:
        server.stop()
        wait_hub_idle(app)


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def flags_token(ctx) -> str:
    from nous.flags import service as flags
    from nous.settings import service as settings

    settings.set_value("api.rate_limit", "100000/minute", actor="test")
    _row, token = flags.create_token("inputs", actor="test")
    return token


@pytest.fixture
def unlimited_feedback(ctx) -> None:
    from nous.settings import service as settings

    settings.set_value("feedback.rate_limit", "100000/minute", actor="test")


def test_a_multipart_part_without_a_name_is_left_out(client, ctx, unlimited_feedback) -> None:
    """werkzeug reads a part with no name as a field named None; the NUL check must not stumble on it."""
    boundary = "b0undary"
    body = "".join(f"--{boundary}\r\nContent-Disposition: form-data{name}\r\n\r\n{value}\r\n" for name, value in (
        ("", "nameless"), ('; name="rating"', "4"), ('; name="message"', "kept\x00 as text"),
        ('; name="category"', "idea"))) + f"--{boundary}--\r\n"
    resp = client.post("/api/feedback", data=body.encode(), content_type=f"multipart/form-data; boundary={boundary}")
    assert resp.status_code == 201, resp.get_data(as_text=True)
    from nous.feedback.models import Feedback

    assert Feedback.query.one().message == "kept\ufffd as text"


def test_a_choice_sent_as_another_json_type_is_refused_naming_its_field() -> None:
    for raw in ({"yaml": 1}, ["json"], 3, True):
        with pytest.raises(inputs.InputError) as refused:
            inputs.parse_choice(raw, "format", ("yaml", "json"), "yaml")  # type: ignore[arg-type]
        assert refused.value.field == "format"
