"""Addresses with an apostrophe or a plus sign (o'brien@…, ada+beta@…) are ordinary addresses: every
place that takes an email for testers and feedback accepts them, stores them as given (lower case),
and finds them again."""

from __future__ import annotations

import html
import io
import json
import re

import pytest
from sqlalchemy import select

from nous.extensions import db
from nous.feedback.models import Feedback
from nous.testers import service as testers
from tests.feedback.helpers import GOOD, outbox

HX = {"HX-Request": "true"}
ADDRESSES = ["o'brien@example.com", "ada+beta@example.com", "O'Neil+Tag.Two@Mail.Example.org"]


@pytest.mark.parametrize("address", ADDRESSES)
def test_the_address_check_accepts_them(address: str) -> None:
    assert testers.is_email(address)
    assert testers.normalize_email(f"  {address} ") == address.lower()


def test_added_in_the_service_and_found_by_search(ctx) -> None:
    for address in ADDRESSES:
        testers.add(address, actor="test")
    assert sorted(u.email for u in testers.search().users) == sorted(a.lower() for a in ADDRESSES)
    assert [u.email for u in testers.search(q="o'brien").users] == ["o'brien@example.com"]
    assert [u.email for u in testers.search(q="+beta").users] == ["ada+beta@example.com"]
    with pytest.raises(testers.TesterError, match="already a tester"):
        testers.add("O'BRIEN@example.com", actor="test")


def test_added_in_the_console_and_shown_escaped(app, admin_client) -> None:
    resp = admin_client.post("/admin/beta/users", data={"email": "o'brien+beta@example.com"}, headers=HX)
    assert resp.status_code == 200, resp.data[:300]
    with app.app_context():
        user = testers.get_by_email("o'brien+beta@example.com")
        assert user is not None
    page = admin_client.get(f"/admin/beta/users/{user.id}")
    assert page.status_code == 200 and b"o&#39;brien+beta@example.com" in page.data


def test_imported_from_a_list(app, admin_client) -> None:
    body = "email\no'brien@example.com\nada+beta@example.com\n"
    resp = admin_client.post("/admin/beta/users/import", data={"file": (io.BytesIO(body.encode()), "list.csv")},
                             content_type="multipart/form-data", headers=HX)
    assert b"<strong>2</strong> added, <strong>0</strong> skipped" in resp.data


def test_added_with_the_cli(app, runner) -> None:
    result = runner.invoke(args=["nous", "testers", "add", "o'brien+cli@example.com"])
    assert result.exit_code == 0 and "added o'brien+cli@example.com" in result.output


def test_invited_by_email(app, ctx) -> None:
    user = testers.add("o'brien+beta@example.com", actor="test")
    testers.invite(user.id, actor="admin@nous.test")
    assert [m.to_addr for m in outbox(app) if m.template == "invite"] == ["o'brien+beta@example.com"]


@pytest.mark.parametrize("as_form", [False, True])
def test_feedback_with_such_an_address_is_stored_and_filtered(app, client, admin_client, as_form) -> None:
    address = "o'brien+beta@example.com"
    body = {**GOOD, "email": address.upper()}
    resp = client.post("/api/feedback", data=body) if as_form else client.post("/api/feedback", json=body)
    assert resp.status_code == 201, resp.get_json()
    with app.app_context():
        row = db.session.scalar(select(Feedback))
        assert row.email == address
        assert testers.get_by_email(address).id == row.tester_id  # a tester record for the new address
    # The console's "from this address" link (the + must survive the query string) finds it.
    page = admin_client.get("/admin/beta/feedback").data.decode()
    [link] = set(re.findall(r'href="([^"]*email=[^"]*)"', page))
    assert "%2Bbeta" in link
    filtered = admin_client.get(html.unescape(link))
    assert GOOD["message"].encode() in filtered.data
    assert b'value="o&#39;brien+beta@example.com"' in filtered.data  # the filter keeps it as given
    # And the page's export link keeps the filter.
    export_link = re.search(r'id="export-link" href="([^"]+)"', filtered.data.decode()).group(1)
    export = admin_client.get(html.unescape(export_link))
    assert export.status_code == 200 and address in export.data.decode()


def test_json_export_of_testers_keeps_them(app, runner) -> None:
    with app.app_context():
        testers.add("o'brien@example.com", actor="test")
    out = runner.invoke(args=["nous", "testers", "export", "--format", "json"]).output
    assert [u["email"] for u in json.loads(out)] == ["o'brien@example.com"]
