"""The console's side of what testers felt: the flag page's card and its fragment, the feedback list's flag
and variant filters, who may see them, and input no one should send."""

from __future__ import annotations

import re
from typing import Any

import pytest

from nous.extensions import db
from tests.feedback.helpers import OFF, ON, create_flag, email_flag

PREFIX = "/admin/beta/feedback"
# Random stickiness: each of the 24 feedback draws its variant, so both turn up (all alike: 2 in 16 million).
COLOURS = {"key": "colours", "enabled": True, "strategies": [{"name": "default"}],
           "variants": [{"name": "teal", "weight": 500, "weightType": "variable", "stickiness": "random"},
                        {"name": "amber", "weight": 500, "weightType": "variable", "stickiness": "random"}]}


@pytest.fixture
def sent(app, ctx, client, unlimited) -> dict[str, Any]:
    """Twelve feedback with the flag on (ON addresses, rated 5) and twelve off (OFF addresses, rated 2)."""
    create_flag(email_flag())
    create_flag(COLOURS)
    db.session.commit()
    ids: dict[str, list[int]] = {"on": [], "off": []}
    for i in range(12):
        for name, emails, rating in (("on", ON, 5), ("off", OFF, 2)):
            resp = client.post("/api/feedback", json={"rating": rating, "message": f"{name} calendar note {i}",
                                                      "category": "bug" if name == "off" else "praise",
                                                      "email": emails[i % len(emails)]})
            assert resp.status_code == 201
            ids[name].append(resp.get_json()["id"])
    return ids


def test_the_flag_page_loads_the_comparison_card(app, admin_client, sent) -> None:
    page = admin_client.get("/admin/beta/flags/new-calendar").get_data(as_text=True)
    assert 'id="flag-insights"' in page and f"{PREFIX}/by-flag/new-calendar?env=production&amp;days=30" in page

    frag = admin_client.get(f"{PREFIX}/by-flag/new-calendar?env=production&days=30", headers={"HX-Request": "true"})
    html = frag.get_data(as_text=True)
    assert frag.status_code == 200 and "<html" not in html
    assert "Testers with the flag on rated it 3.0 higher (5.0 vs 2.0)." in html
    assert 'id="insights-table"' in html and ">12</a>" in html
    assert f"{PREFIX}?flag=new-calendar&amp;flag_env=production" in html and "flag_state=on" in html
    whole = admin_client.get(f"{PREFIX}/by-flag/new-calendar?days=7")  # also a page of its own
    assert whole.status_code == 200 and "<html" in whole.get_data(as_text=True)


def test_variants_have_rows_and_links(app, admin_client, sent) -> None:
    html = admin_client.get(f"{PREFIX}/by-flag/colours", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "variant <span class=\"mono\">amber</span>" in html and "variant <span class=\"mono\">teal</span>" in html
    assert "variant=teal" in html


def _listed(admin_client, query: str) -> set[str]:
    resp = admin_client.get(f"{PREFIX}?{query}", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200, html[:500]
    return {word for word in ("on calendar", "off calendar") if word in html}


def test_the_list_filters_by_flag_state_and_variant(app, admin_client, sent) -> None:
    from nous.feedback.models import FeedbackFlag

    assert _listed(admin_client, "flag=new-calendar&flag_state=on") == {"on calendar"}
    assert _listed(admin_client, "flag=new-calendar&flag_state=off") == {"off calendar"}
    assert _listed(admin_client, "flag=new-calendar&flag_env=staging") == set()
    teal = set(db.session.scalars(db.select(FeedbackFlag.feedback_id).where(FeedbackFlag.variant == "teal")))
    html = admin_client.get(f"{PREFIX}?flag=colours&variant=teal&status=all",
                            headers={"HX-Request": "true"}).get_data(as_text=True)
    shown = {int(x) for x in re.findall(r'href="/admin/beta/feedback/(\d+)', html)}
    assert teal and shown == teal
    page = admin_client.get(f"{PREFIX}?flag=new-calendar&flag_state=on").get_data(as_text=True)
    assert '<option value="new-calendar" selected>' in page and '<option value="on" selected>' in page


@pytest.mark.parametrize(("query", "message"), [
    ("flag_env=production", "flag is needed with flag_env"),
    ("flag=&flag_env=staging", "flag is needed with flag_env"),
    ("flag=new-calendar&flag_state=off&variant=teal",
     "variant means the flag was on: leave it out with flag_state=off"),
])
def test_flag_filters_that_cannot_go_together_are_a_400(app, admin_client, sent, query, message) -> None:
    for path, headers in ((PREFIX, {"HX-Request": "true"}), (PREFIX, {}), (f"{PREFIX}/export.csv", {})):
        resp = admin_client.get(f"{path}?{query}", headers=headers)
        assert resp.status_code == 400 and message in resp.get_data(as_text=True), (path, resp.status_code)
    assert _listed(admin_client, "flag=new-calendar&flag_env=production&flag_state=off") == {"off calendar"}
    assert _listed(admin_client, "flag=&flag_env=&flag_state=&variant=") == {"on calendar", "off calendar"}


def test_the_flag_filter_survives_paging(app, admin_client, sent, monkeypatch) -> None:
    from nous.feedback import routes

    monkeypatch.setattr(routes, "PAGE_SIZE", 5)
    first = admin_client.get(f"{PREFIX}?flag=new-calendar&flag_state=on",
                             headers={"HX-Request": "true"}).get_data(as_text=True)
    older = re.search(r'href="(/admin/beta/feedback\?[^"]*before=[^"]+)"', first).group(1)
    assert "flag=new-calendar" in older and "flag_state=on" in older
    second = admin_client.get(older.replace("&amp;", "&"), headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "on calendar" in second and "off calendar" not in second


def test_only_the_admin_sees_it(app, client, sent) -> None:
    resp = client.get(f"{PREFIX}/by-flag/new-calendar")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


@pytest.mark.parametrize(("query", "status", "words"), [
    ("days=-1", 400, "days"), ("days=abc", 400, "days"), ("days=0", 400, "days"), ("days=99999999", 400, "days"),
    ("env=moon", 400, "moon"), ("env=%00", 400, "environment"),
])
def test_input_no_one_should_send(app, ctx, admin_client, query, status, words) -> None:
    create_flag(email_flag())
    db.session.commit()
    resp = admin_client.get(f"{PREFIX}/by-flag/new-calendar?{query}")
    assert resp.status_code == status and words in resp.get_data(as_text=True)


def test_a_setting_naming_a_missing_environment_is_a_400_not_a_500(app, ctx, admin_client, monkeypatch) -> None:
    from nous.settings import service as settings

    create_flag(email_flag())
    # Stored before the setting's value was checked against the environments (set_value refuses it now).
    monkeypatch.delitem(settings._NAME_CHECKS, "flags.environment", raising=False)
    settings.set_value("flags.environment", "moon", actor="test")
    db.session.commit()
    resp = admin_client.get(f"{PREFIX}/by-flag/new-calendar")
    assert resp.status_code == 400 and "moon" in resp.get_data(as_text=True)
    assert admin_client.get(f"{PREFIX}/by-flag/new-calendar?env=production").status_code == 200


def test_an_unknown_flag_is_404(app, admin_client) -> None:
    assert admin_client.get(f"{PREFIX}/by-flag/no-such-flag").status_code == 404
