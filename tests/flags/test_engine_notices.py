"""The engine's notices about a definition (nous.flags.engine.notices) reach the console: the flag page
says when an IN / NOT_IN condition asks to ignore case, and the condition editor no longer offers it."""

from __future__ import annotations

BASE = "/admin/beta/flags"
IN_CI = {"contextName": "plan", "operator": "IN", "values": ["pro"], "caseInsensitive": True}


def test_flag_page_shows_a_notice_for_ignore_case_on_in(admin_client, ctx, make_flag) -> None:
    make_flag("ci.old", enabled=True, strategies=[{"name": "default", "constraints": [IN_CI]}])
    make_flag("ci.fine", enabled=True, strategies=[{"name": "default", "constraints": [
        {**IN_CI, "operator": "STR_CONTAINS"}]}])
    page = admin_client.get(f"{BASE}/ci.old").get_data(as_text=True)
    assert 'id="flag-notices"' in page
    assert "Strategy 1, condition 1: &#34;ignore case&#34; is set on IN, which always compares exactly" in page
    assert 'id="flag-notices"' not in admin_client.get(f"{BASE}/ci.fine").get_data(as_text=True)


def test_condition_editor_offers_ignore_case_except_on_in_and_not_in(app) -> None:
    with app.test_request_context():
        template = app.jinja_env.get_template("flags/_condition.html")
        for op, offered in (("IN", False), ("NOT_IN", False), ("STR_CONTAINS", True), ("REGEX", True)):
            html = template.render(row_id="r1", cond={**IN_CI, "operator": op}, operators=[op])
            label = html[html.index("<label class=\"check\" data-ignore-case"):]
            label = label[:label.index("</label>")]
            assert ("hidden" not in label) is offered, op
            assert ("checked" in label) is offered, op
