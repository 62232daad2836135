"""Flag changes state their intent and carry the version seen: "switch on" sets on (never flips), a change
decided on an older version answers 409 with the flag as it is now and what changed since."""

from __future__ import annotations

import json

import pytest

from nous.flags import service

BASE = "/admin/beta/flags"
HX = {"HX-Request": "true"}


def stored(key: str):
    from nous.extensions import db

    db.session.rollback()
    return service.get_flag(key)


def test_switching_sets_the_state_asked_for_never_the_opposite(ctx, make_flag) -> None:
    make_flag("intent", enabled=True)
    flag = service.set_enabled("intent", True, actor="t", expected_version=1)
    assert flag.enabled is True and flag.version == 1  # already on: nothing to do, no new version
    flag = service.set_enabled("intent", False, actor="t", expected_version=1)
    assert flag.enabled is False and flag.version == 2


def test_a_switch_decided_on_an_older_version_is_refused_with_what_changed(ctx, make_flag) -> None:
    make_flag("stale")
    service.set_enabled("stale", True, actor="other@nous.test")
    service.set_rollout("stale", 30, actor="cli")
    assert service.set_enabled("stale", True, actor="t", expected_version=1).version == 3  # intent already holds
    with pytest.raises(service.FlagConflict) as caught:
        service.set_enabled("stale", False, actor="t", expected_version=1)
    assert caught.value.status == 409 and caught.value.current.version == 3
    assert [(v.version, v.action, v.actor) for v in caught.value.changes] == [
        (2, "enable", "other@nous.test"), (3, "rollout", "cli")]
    assert stored("stale").enabled is True and stored("stale").version == 3


def test_a_restore_decided_on_an_older_version_is_refused(ctx, make_flag) -> None:
    make_flag("restoring")
    service.set_enabled("restoring", True, actor="t")
    with pytest.raises(service.FlagConflict):
        service.restore_version("restoring", 1, actor="t", expected_version=1)
    assert stored("restoring").enabled is True
    assert service.restore_version("restoring", 1, actor="t", expected_version=2).enabled is False


@pytest.mark.parametrize(("label", "to", "stored_before", "stored_after"), [
    ("Switch on", "on", False, True), ("Switch off", "off", True, False),
    ("Switch on (already on)", "on", True, True), ("Switch off (already off)", "off", False, False)])
def test_the_switch_route_does_what_its_label_says(admin_client, ctx, make_flag, label, to, stored_before,
                                                    stored_after) -> None:
    make_flag("labelled", enabled=stored_before)
    resp = admin_client.post(f"{BASE}/labelled/switch", data={"to": to, "version": "1"}, headers=HX)
    assert resp.status_code == 200, label
    assert stored("labelled").enabled is stored_after
    html = resp.get_data(as_text=True)
    assert 'id="flag-header"' in html and ("Switch off" if stored_after else "Switch on") in html
    events = json.loads(resp.headers["HX-Trigger-After-Swap"])
    flag = stored("labelled")
    assert events[f"flag-{flag.id}-changed"] == {"version": str(flag.version)} and "flag-changed" in events


def test_a_stale_switch_answers_409_showing_the_current_state(admin_client, ctx, make_flag) -> None:
    make_flag("two.tabs")
    service.set_enabled("two.tabs", True, actor="tab-a@nous.test")
    resp = admin_client.post(f"{BASE}/two.tabs/switch", data={"to": "off", "version": "1"}, headers=HX)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "changed since you opened it" in html and "Version 2: switched on by tab-a@nous.test" in html
    assert 'value="2"' in html and "Switch off" in html  # the header as it is now, its switch drawn from version 2
    assert json.loads(resp.headers["HX-Trigger-After-Swap"])[f"flag-{stored('two.tabs').id}-changed"] == {
        "version": "2"}
    assert stored("two.tabs").enabled is True
    # from the list: the row as it is now; a plain form: the whole page, also 409
    row = admin_client.post(f"{BASE}/two.tabs/switch?from=list", data={"to": "off", "version": "1"}, headers=HX)
    assert row.status_code == 409 and 'aria-checked="true"' in row.get_data(as_text=True)
    page = admin_client.post(f"{BASE}/two.tabs/switch", data={"to": "off", "version": "1"})
    assert page.status_code == 409 and "Version 2: switched on" in page.get_data(as_text=True)
    assert stored("two.tabs").enabled is True


@pytest.mark.parametrize("form", [{}, {"to": "toggle"}, {"to": ""}, {"to": "ON "}])
def test_a_switch_without_a_clear_intent_is_refused(admin_client, ctx, make_flag, form) -> None:
    make_flag("unclear")
    assert admin_client.post(f"{BASE}/unclear/switch", data=form, headers=HX).status_code == 400
    assert stored("unclear").enabled is False and stored("unclear").version == 1


@pytest.mark.parametrize(("path", "form"), [
    ("simple", {"enabled": "on", "rollout": "50"}),
    ("details", {"description": "from a stale tab", "type": "release"}),
    ("definition", {"definition": '{"strategies": []}'})])
def test_stale_saves_answer_409_and_change_nothing(admin_client, ctx, make_flag, path, form) -> None:
    make_flag("saved.twice", description="first")
    service.set_rollout("saved.twice", 10, actor="cli")
    resp = admin_client.post(f"{BASE}/saved.twice/{path}", data={**form, "version": "1"}, headers=HX)
    assert resp.status_code == 409
    html = resp.get_data(as_text=True)
    assert "Version 2: rollout changed by cli" in html and f'id="{path}-card"' in html
    flag = stored("saved.twice")
    assert flag.version == 2 and flag.description == "first" and flag.enabled is False


def test_a_stale_restore_answers_409_on_the_history_page(admin_client, ctx, make_flag) -> None:
    make_flag("history.stale")
    service.set_enabled("history.stale", True, actor="cli")
    resp = admin_client.post(f"{BASE}/history.stale/restore/1", data={"version": "1"}, headers=HX)
    assert resp.status_code == 409 and "Version 2: switched on by cli" in resp.get_data(as_text=True)
    assert stored("history.stale").enabled is True


def test_live_flag_events_name_the_flag_by_id(ctx, make_flag, redis_conn) -> None:
    from nous.live.events import replay

    flag = make_flag("evented")
    service.set_enabled("evented", True, actor="t")
    frames = [json.loads(text) for _, text in replay(redis_conn, ("flags",))]
    assert [(f["data"]["id"], f["data"]["version"], f["data"]["action"]) for f in frames] == [
        (flag.id, 1, "created"), (flag.id, 2, "enabled")]


def test_a_change_in_another_environment_does_not_make_a_view_stale(ctx, make_flag) -> None:
    """A view of staging drawn from version 1 stays good after production was switched and rolled out: what it
    showed (staging, and what every environment shares) did not change. It used to be refused as stale."""
    make_flag("envs.apart", description="shared", strategies=[{"name": "default"}])
    service.set_enabled("envs.apart", True, actor="prod@nous.test")  # production, version 2
    service.set_rollout("envs.apart", 30, actor="prod@nous.test")  # production, version 3
    flag = service.set_enabled("envs.apart", True, actor="t", expected_version=1, environment="staging")
    assert flag.version == 4 and flag.enabled is True
    flag = service.set_rollout("envs.apart", 5, actor="t", expected_version=1, environment="development")
    assert flag.version == 5
    # production's page drawn at version 3 missed only staging's and development's changes: a description
    # edit (shared by every environment) from there goes in too
    flag = service.update_flag("envs.apart", {"description": "edited"}, actor="t", expected_version=3)
    assert flag.version == 6 and flag.enabled is True and flag.description == "edited"
    assert service.get_flag("envs.apart", environment="development").strategies[0]["parameters"]["rollout"] == "5"


@pytest.mark.parametrize("since", ["same environment", "shared field", "archived and back"])
def test_a_view_is_stale_when_what_it_showed_changed(ctx, make_flag, since) -> None:
    make_flag("envs.seen", description="shared")
    if since == "same environment":
        service.set_rollout("envs.seen", 40, actor="other", environment="staging")
    elif since == "shared field":
        service.set_enabled("envs.seen", True, actor="other")  # production: not what staging showed …
        service.update_flag("envs.seen", {"type": "experiment"}, actor="other")  # … but the type is shared
    else:
        service.archive_flag("envs.seen", actor="other")
        service.unarchive_flag("envs.seen", actor="other")
    version = stored("envs.seen").version
    with pytest.raises(service.FlagConflict) as caught:
        service.set_enabled("envs.seen", True, actor="t", expected_version=1, environment="staging")
    assert caught.value.current.version == version and len(caught.value.changes) == version - 1
    assert stored("envs.seen").version == version
    assert service.get_flag("envs.seen", environment="staging").enabled is False


def test_copying_rules_is_stale_when_the_source_changed_and_archiving_when_anything_did(ctx, make_flag) -> None:
    make_flag("envs.copy", strategies=[{"name": "default"}])
    service.set_rollout("envs.copy", 20, actor="t", environment="staging")  # version 2: the copy page shows it
    service.set_rollout("envs.copy", 60, actor="other", environment="staging")  # version 3: the source changed
    with pytest.raises(service.FlagConflict):  # copying would not copy what the preview showed
        service.copy_rules("envs.copy", "staging", "production", actor="t", expected_version=2)
    service.set_enabled("envs.copy", True, actor="other", environment="development")  # version 4: elsewhere
    copied = service.copy_rules("envs.copy", "staging", "production", actor="t", expected_version=3)
    assert copied.version == 5 and copied.strategies[0]["parameters"]["rollout"] == "60"
    service.set_enabled("envs.copy", False, actor="other", environment="development")  # version 6
    with pytest.raises(service.FlagConflict):  # archiving acts on every environment: any change counts
        service.archive_flag("envs.copy", actor="t", expected_version=5)
    assert stored("envs.copy").archived is False


def test_the_console_switches_staging_from_a_page_drawn_before_production_changed(admin_client, ctx,
                                                                                   make_flag) -> None:
    make_flag("envs.page")
    service.set_enabled("envs.page", True, actor="prod@nous.test")  # version 2, production
    resp = admin_client.post(f"{BASE}/envs.page/switch?env=staging", data={"to": "on", "version": "1"},
                             headers=HX)
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert 'value="3"' in html and "Switch off" in html and "changed since you opened it" not in html
    assert service.get_flag("envs.page", environment="staging").enabled is True



@pytest.mark.parametrize("sent", ["0", "-1", "3", "99999999999999999999", "1e1"])
def test_a_version_never_stored_is_stale_even_when_only_another_environment_changed(admin_client, ctx, make_flag,
                                                                                    sent) -> None:
    """Only versions the flag had count as seen: 0 (before its creation) would otherwise pass, its versions
    since all being production's; one past the current version, or not a number, is never current."""
    make_flag("envs.hostile")
    service.set_enabled("envs.hostile", True, actor="prod@nous.test")  # version 2, production
    resp = admin_client.post(f"{BASE}/envs.hostile/switch?env=staging", data={"to": "on", "version": sent},
                             headers=HX)
    assert resp.status_code in (400, 409), (sent, resp.status_code)
    assert service.get_flag("envs.hostile", environment="staging").enabled is False
    assert stored("envs.hostile").version == 2
