"""Tester changes carry the version the page showed (409 with the tester as it is now when it changed
since), and every change is published for the live views (topic `testers`)."""

from __future__ import annotations

import json

from nous.extensions import db
from nous.testers import service as testers

BASE = "/admin/beta/users"
HX = {"HX-Request": "true"}


def test_a_stale_edit_answers_409_and_keeps_the_stored_notes(admin_client, ctx) -> None:
    user = testers.add("ada@example.com", actor="test", notes="first")
    seen = testers.version_of(user)
    testers.update(user.id, notes="changed in another tab", actor="other@nous.test")
    resp = admin_client.post(f"{BASE}/{user.id}", data={"role": "TESTER", "notes": "mine", "version": seen},
                             headers=HX)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed since you opened the page" in html and "changed in another tab" in html
    db.session.rollback()
    now = testers.get(user.id)
    assert now.notes == "changed in another tab"
    assert json.loads(resp.headers["HX-Trigger-After-Swap"])[f"tester-{user.id}-changed"] == {
        "version": testers.version_of(now)}
    ok = admin_client.post(f"{BASE}/{user.id}", data={"role": "TESTER", "notes": "mine",
                                                      "version": testers.version_of(now)}, headers=HX)
    assert ok.status_code == 200
    db.session.rollback()
    assert testers.get(user.id).notes == "mine"


def test_deactivating_on_a_stale_row_is_refused_but_asking_for_the_state_it_has_succeeds(admin_client, ctx) -> None:
    user = testers.add("bo@example.com", actor="test")
    seen = testers.version_of(user)
    testers.update(user.id, role="ADMIN", actor="other")
    stale = admin_client.post(f"{BASE}/{user.id}/active", data={"active": "0", "version": seen}, headers=HX)
    assert stale.status_code == 409 and "admin" in stale.get_data(as_text=True)
    db.session.rollback()
    assert testers.get(user.id).is_active is True
    same = admin_client.post(f"{BASE}/{user.id}/active", data={"active": "1", "version": seen}, headers=HX)
    assert same.status_code == 200


def test_every_change_is_published_for_live_views(ctx, redis_conn) -> None:
    from nous.live.events import replay

    user = testers.add("cy@example.com", actor="test")
    testers.update(user.id, notes="hello", actor="test")
    testers.set_active(user.id, False, actor="test")
    testers.import_text("dee@example.com\n", actor="test")
    testers.remove(user.id, actor="test")
    events = [json.loads(text)["data"] for _, text in replay(redis_conn, ("testers",))]
    assert [(e["id"], e["action"]) for e in events] == [
        (str(user.id), "added"), (str(user.id), "updated"), (str(user.id), "deactivated"), (None, "imported"),
        (str(user.id), "removed")]
    assert events[1]["version"] != events[0]["version"]
