"""The public invite page /join/<code>."""

from __future__ import annotations

import re

import pytest

from nous.testers import service as testers


def _tester(app, email: str = "ada@example.com", active: bool = True) -> str:
    with app.app_context():
        user = testers.add(email, actor="setup")
        if not active:
            testers.set_active(user.id, False, actor="setup")
        return user.invite_code


def _csrf(html: bytes) -> str:
    return re.search(rb'name="csrf_token" value="([^"]+)"', html).group(1).decode()


def test_invited_tester_accepts_with_the_page_form(app, client) -> None:
    code = _tester(app)
    page = client.get(f"/join/{code}")
    assert page.status_code == 200
    assert b"ada@example.com" in page.data and b"Accept the invitation" in page.data
    done = client.post(f"/join/{code}", data={"csrf_token": _csrf(page.data)})
    assert done.status_code == 200 and b"You have joined the beta" in done.data
    with app.app_context():
        assert testers.get_by_email("ada@example.com").invite_state == "joined"
    again = client.get(f"/join/{code}")
    assert again.status_code == 410 and b"already been accepted" in again.data


def test_accept_without_the_form_token_is_refused(app, client) -> None:
    code = _tester(app)
    resp = client.post(f"/join/{code}")
    assert resp.status_code == 400
    with app.app_context():
        assert testers.get_by_email("ada@example.com").joined_at is None


@pytest.mark.parametrize("code", ["unknown-code-0123456789", "x", "%00", "a" * 500, "<script>alert(1)</script>",
                                  "' OR 1=1 --", "ä" * 20])
def test_unknown_or_malformed_codes_get_a_clear_404_page(app, client, code: str) -> None:
    resp = client.get(f"/join/{code}")
    assert resp.status_code == 404
    assert b"This invitation link is not valid" in resp.data
    assert b"Traceback" not in resp.data and b"<script>alert" not in resp.data


def test_withdrawn_invite_is_410(app, client) -> None:
    code = _tester(app, active=False)
    resp = client.get(f"/join/{code}")
    assert resp.status_code == 410 and b"no longer active" in resp.data
    with client.session_transaction() as s:
        s["_csrf"] = "t"
    assert client.post(f"/join/{code}", data={"csrf_token": "t"}).status_code == 410
    with app.app_context():
        assert testers.get_by_email("ada@example.com").joined_at is None


def test_second_accept_in_a_race_gets_410(app, client) -> None:
    code = _tester(app)
    page = client.get(f"/join/{code}")
    token = _csrf(page.data)
    assert client.post(f"/join/{code}", data={"csrf_token": token}).status_code == 200
    resp = client.post(f"/join/{code}", data={"csrf_token": token})
    assert resp.status_code == 410 and b"already" in resp.data


WELCOME = """\
name: Welcome new testers
trigger: {event: tester.joined}
steps:
  - id: look
    uses: text.extract_entities
    with: {text: "${{ tester.email }}"}
"""


def _runs(app, name: str) -> list:
    from nous.extensions import db
    from nous.workflows.models import WorkflowRun

    with app.app_context():
        rows = list(db.session.scalars(db.select(WorkflowRun).where(WorkflowRun.workflow_name == name)))
        db.session.expunge_all()
        return rows


def test_joining_starts_the_workflows_listening_to_tester_joined(app, client) -> None:
    from nous.workflows import service as workflows

    with app.app_context():
        workflows.create(WELCOME, "admin@example.com")
    code = _tester(app, "o'brien+beta@example.com")
    page = client.get(f"/join/{code}")
    assert page.status_code == 200
    assert client.post(f"/join/{code}", data={"csrf_token": _csrf(page.data)}).status_code == 200

    [run] = _runs(app, "Welcome new testers")
    assert (run.trigger, run.event) == ("event", "tester.joined")
    tester = run.input["tester"]
    assert tester["email"] == "o'brien+beta@example.com" and tester["invite_state"] == "joined"
    with app.app_context():
        assert tester["id"] == str(testers.get_by_email("o'brien+beta@example.com").id)
    # A second accept is refused and starts nothing more.
    assert client.post(f"/join/{code}", data={"csrf_token": _csrf(page.data)}).status_code == 410
    assert len(_runs(app, "Welcome new testers")) == 1


def test_a_failing_workflow_trigger_never_breaks_joining(app, client, monkeypatch) -> None:
    from nous.workflows import service as workflows

    def broken(name, data=None):
        raise RuntimeError("the workflows area broke")

    monkeypatch.setattr(workflows, "trigger_event", broken)
    code = _tester(app)
    page = client.get(f"/join/{code}")
    done = client.post(f"/join/{code}", data={"csrf_token": _csrf(page.data)})
    assert done.status_code == 200 and b"You have joined the beta" in done.data
    with app.app_context():
        assert testers.get_by_email("ada@example.com").invite_state == "joined"
