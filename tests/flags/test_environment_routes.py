"""The console's environments: one column per environment in the list, a flag page that edits one
environment at a time (?env=, kept in its links and forms), copying rules with a preview of the
difference, and the environments page (add, rename, reorder, remove an unused one), audited."""

from __future__ import annotations

import re

from nous.audit import service as audit
from nous.extensions import db
from nous.flags import service
from tests.flags.conftest import rollout

BASE = "/admin/beta/flags"
ACTOR = "test@nous.test"


def test_the_list_has_a_column_and_a_switch_per_environment(admin_client, ctx, make_flag) -> None:
    make_flag("cols", enabled=True, strategies=[rollout(25)])
    page = admin_client.get(f"{BASE}/").get_data(as_text=True)
    headers = re.findall(r'<th scope="col" class="env-col">([^<]+)</th>', page)
    assert headers == ["development", "staging", "production"]
    assert "25 %" in page and page.count('role="switch"') == 3
    row = admin_client.post(f"{BASE}/cols/switch?env=staging&from=list", data={"to": "on", "version": "1"},
                            headers={"HX-Request": "true"})
    assert row.status_code == 200 and "in staging" in row.headers["HX-Trigger"]
    assert 'aria-label="cols is on in staging; switch off"' in row.get_data(as_text=True)
    assert service.get_flag("cols", environment="staging").enabled is True
    assert service.get_flag("cols", environment="development").enabled is False


def test_the_flag_page_edits_the_environment_it_shows(admin_client, ctx, make_flag) -> None:
    make_flag("paged")
    page = admin_client.get(f"{BASE}/paged?env=staging").get_data(as_text=True)
    assert 'aria-current="page">staging' in page
    assert f'hx-post="{BASE}/paged/simple?env=staging"' in page  # the forms stay in staging
    saved = admin_client.post(f"{BASE}/paged/simple?env=staging", data={"enabled": "on", "rollout": "40",
                                                                       "version": "1"})
    assert saved.status_code == 303 and saved.headers["Location"].endswith("/paged?env=staging")
    assert service.get_flag("paged", environment="staging").enabled is True
    assert service.get_flag("paged").enabled is False
    history = admin_client.get(f"{BASE}/paged/history").get_data(as_text=True)
    assert '<span class="badge">staging</span>' in history

    # a tab left open on an environment since renamed: the page in production, with a notice; no 404
    service.rename_environment("staging", "qa", actor="t")
    stale = admin_client.get(f"{BASE}/paged?env=staging&tab=rules")
    assert stale.status_code == 303 and stale.headers["Location"].endswith("/paged?tab=rules")
    shown = admin_client.get(stale.headers["Location"]).get_data(as_text=True)
    assert "There is no environment &#39;staging&#39;" in shown and "renamed or removed" in shown
    assert "There is no environment" not in admin_client.get(f"{BASE}/paged").get_data(as_text=True)  # said once
    # a form or a fragment of the old environment is refused, naming the environments there are
    refused = admin_client.post(f"{BASE}/paged/simple?env=staging", data={"enabled": "on", "version": "2"})
    assert refused.status_code == 404 and "development, qa, production" in refused.get_data(as_text=True)
    fragment = admin_client.get(f"{BASE}/paged?env=staging", headers={"HX-Request": "true"})
    assert fragment.status_code == 404
    assert service.get_flag("paged", environment="qa").enabled is True  # nothing was changed


def test_copying_rules_shows_the_difference_first(admin_client, ctx, make_flag) -> None:
    make_flag("copied", enabled=True, strategies=[rollout(10)])
    service.set_rollout("copied", 60, actor=ACTOR, environment="staging")
    preview = admin_client.get(f"{BASE}/copied/copy?env=staging&to=production")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "strategies[0].parameters.rollout" in text and '"60"' in text
    words = re.search(r'<ul class="changes" id="copy-words">(.*?)</ul>', text, re.S).group(1)
    assert "10 % → 60 %" in words, words  # in words first, as the history says it; field by field below
    assert service.get_flag("copied").strategies == [rollout(10)]  # a preview changes nothing
    done = admin_client.post(f"{BASE}/copied/copy?env=staging", data={"to": "production", "version": "2"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/copied")
    production = service.get_flag("copied")
    assert production.strategies[0]["parameters"]["rollout"] == "60" and production.enabled is True
    latest = service.history("copied")[0]
    assert (latest.action, latest.environment, latest.note) == ("copy", "production", "rules copied from staging")
    same = admin_client.get(f"{BASE}/copied/copy?env=staging&to=production").get_data(as_text=True)
    assert "nothing to copy" in same


def test_the_environments_page_adds_renames_moves_and_removes(admin_client, ctx, make_flag) -> None:
    page = admin_client.get(f"{BASE}/-/environments")
    assert page.status_code == 200 and 'id="env-staging"' in page.get_data(as_text=True)
    assert admin_client.post(f"{BASE}/-/environments", data={"do": "add", "name": "QA"}).status_code == 303
    assert service.environment_names() == ["development", "staging", "production", "qa"]
    bad = admin_client.post(f"{BASE}/-/environments", data={"do": "add", "name": "no spaces"})
    assert bad.status_code == 422 and "a-z, 0-9" in bad.get_data(as_text=True)
    assert admin_client.post(f"{BASE}/-/environments", data={"do": "add", "name": "qa"}).status_code == 409
    make_flag("moved", enabled=True)
    service.set_enabled("moved", True, actor=ACTOR, environment="qa")
    _row, raw = service.create_token("qa-app", actor=ACTOR, environment="qa")
    admin_client.post(f"{BASE}/-/environments", data={"do": "rename", "name": "qa", "new_name": "test"})
    assert service.get_flag("moved", environment="test").enabled is True
    assert service.list_tokens()[0]["environment"] == "test"
    features = admin_client.get("/api/client/features", headers={"Authorization": raw}).get_json()
    assert features["query"]["environment"] == "test"  # an old token text still answers, by its hash
    admin_client.post(f"{BASE}/-/environments", data={"do": "up", "name": "test"})
    assert service.environment_names() == ["development", "staging", "test", "production"]
    refused = admin_client.post(f"{BASE}/-/environments", data={"do": "remove", "name": "test"})
    assert refused.status_code == 409 and "in use" in refused.get_data(as_text=True)
    service.set_enabled("moved", False, actor=ACTOR, environment="test")
    service.revoke_token(service.list_tokens()[0]["id"], actor=ACTOR)
    assert admin_client.post(f"{BASE}/-/environments", data={"do": "remove", "name": "test"}).status_code == 303
    assert service.environment_names() == ["development", "staging", "production"]
    assert [e.action for e in audit.query(action="flags.environment")] == [
        "flags.environment.remove", "flags.environment.move", "flags.environment.rename", "flags.environment.add"]


def test_a_refused_rename_is_said_on_its_row_and_keeps_what_was_typed(admin_client, ctx) -> None:
    refused = admin_client.post(f"{BASE}/-/environments",
                                data={"do": "rename", "name": "staging", "new_name": "production"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "There is already an environment production." in page
    row = re.search(r'<tr id="env-staging">.*?</tr>', page, re.S).group(0)
    assert 'value="production"' in row and 'aria-invalid="true"' in row and "already exists" in row
    new = re.search(r'<section class="card" aria-labelledby="env-new-h">.*?</section>', page, re.S).group(0)
    assert "already exists" not in new and "aria-invalid" not in new  # not the new environment's field
    assert service.environment_names() == ["development", "staging", "production"]


def test_an_archived_flag_is_off_in_every_environment_of_its_page(admin_client, ctx, make_flag) -> None:
    make_flag("old.flag", enabled=True)
    service.set_enabled("old.flag", True, actor=ACTOR, environment="staging")
    service.archive_flag("old.flag", actor=ACTOR)
    page = admin_client.get(f"{BASE}/old.flag").get_data(as_text=True)
    switcher = re.search(r'<nav class="env-switcher".*?</nav>', page, re.S).group(0)
    assert re.findall(r'env-state">(\w+)<', switcher) == ["off", "off", "off"]


def test_restoring_a_version_of_a_removed_environment_says_so_once(admin_client, ctx, make_flag) -> None:
    service.add_environment("qa", actor=ACTOR)
    make_flag("f1", strategies=[rollout(20)])
    service.set_rollout("f1", 40, actor=ACTOR, environment="qa")
    service.remove_environment("qa", actor=ACTOR)
    done = admin_client.post(f"{BASE}/f1/restore/2")
    page = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    notice = re.search(r'notice-error[^>]*>(.*?)</div>', page, re.S).group(1)
    assert notice == "There is no environment &#39;qa&#39;; there are development, staging, production."
    assert [v.version for v in service.history("f1")] == [2, 1]


def test_an_archived_flag_s_page_offers_no_copy_nor_schedule(admin_client, ctx, make_flag) -> None:
    make_flag("old.flag", description="kept")
    service.archive_flag("old.flag", actor=ACTOR)
    page = admin_client.get(f"{BASE}/old.flag").get_data(as_text=True)
    assert "Copy this environment" not in page and 'name="enable_at"' not in page
    assert "Archived flags have no schedule" in page
    form = {"description": "still kept", "type": "release"}  # the details form as it is then
    assert admin_client.post(f"{BASE}/old.flag/details", data=form).status_code == 303
    assert service.get_flag("old.flag").description == "still kept"


def test_after_production_is_renamed_the_pages_and_commands_use_its_new_name(admin_client, ctx, runner,
                                                                            make_flag) -> None:
    """A page or a command that names no environment shows the one the setting flags.environment names, which
    follows a rename: renamed production, the flag page redirected to itself forever, the list, a flag's
    page in the new name and its history answered 500, and `flags list` stopped."""
    make_flag("f1", enabled=True, strategies=[rollout(30)])
    service.rename_environment("production", "prod", actor=ACTOR)
    listed = admin_client.get(f"{BASE}/")
    assert listed.status_code == 200 and "30 %" in listed.get_data(as_text=True)
    page = admin_client.get(f"{BASE}/f1")
    assert page.status_code == 200 and 'aria-current="page">prod' in page.get_data(as_text=True)
    assert admin_client.get(f"{BASE}/f1?env=prod").status_code == 200
    assert admin_client.get(f"{BASE}/f1/history?env=prod").status_code == 200
    stale = admin_client.get(f"{BASE}/f1?env=production")  # a tab left open: the page in prod, with a notice
    assert stale.status_code == 303 and "this is prod" in admin_client.get(stale.headers["Location"]).get_data(
        as_text=True)
    result = runner.invoke(args=["nous", "flags", "list"])
    assert result.exit_code == 0 and "f1" in result.output, result.output
    assert "<option selected>prod</option>" in admin_client.get(f"{BASE}/-/tokens").get_data(as_text=True)
    assert "Evaluations in prod, 24 h" in listed.get_data(as_text=True)
    # the copy form is a GET form, whose action loses its query: the environment goes as a field
    assert '<input type="hidden" name="env" value="prod">' in page.get_data(as_text=True)


def test_a_restore_names_the_environment_it_changes(admin_client, ctx, make_flag) -> None:
    """A version belongs to the environment it was made in: restoring it from another environment's page
    changes that environment, and the button, the question and the notice say which."""
    make_flag("f2", strategies=[rollout(20)])
    service.set_rollout("f2", 60, actor=ACTOR, environment="staging")
    service.set_rollout("f2", 35, actor=ACTOR)
    page = admin_client.get(f"{BASE}/f2/history?env=development").get_data(as_text=True)
    assert "Make f2 in production what it was at version 1?" in page and ">Restore in production</button>" in page
    done = admin_client.post(f"{BASE}/f2/restore/1?env=development", data={"version": "3"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/f2/history")
    shown = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Restored version 1 of f2 in production as version 4." in shown
    db.session.expire_all()
    assert service.get_flag("f2").strategies[0]["parameters"]["rollout"] == "20"
    assert service.get_flag("f2", environment="staging").strategies[0]["parameters"]["rollout"] == "60"


def test_copying_to_the_same_environment_is_refused_at_the_preview_and_names_are_normalised(
        admin_client, ctx, make_flag) -> None:
    make_flag("f3", strategies=[rollout(20)])
    service.set_rollout("f3", 50, actor=ACTOR, environment="staging")
    same = admin_client.get(f"{BASE}/f3/copy?env=staging&to=staging")
    assert same.status_code == 303
    assert "Choose another environment" in admin_client.get(same.headers["Location"]).get_data(as_text=True)
    preview = admin_client.get(f"{BASE}/f3/copy?env=staging&to=%20Production%20").get_data(as_text=True)
    assert '<input type="hidden" name="to" value="production">' in preview
    copied = admin_client.post(f"{BASE}/f3/copy?env=staging", data={"to": " Production ", "version": "2"})
    assert copied.status_code == 303 and copied.headers["Location"].endswith("/f3")
    assert "Copied the rules of staging to production." in admin_client.get(copied.headers["Location"]).get_data(
        as_text=True)


def test_the_audit_log_and_the_changes_panel_say_which_environment(admin_client, ctx, make_flag) -> None:
    make_flag("f4", strategies=[rollout(20)])
    service.set_rollout("f4", 45, actor=ACTOR, environment="staging")
    audit_page = admin_client.get("/admin/audit").get_data(as_text=True)
    assert "flag f4 in staging" in audit_page and "flag f4 in production" in audit_page
    assert f'href="{BASE}/f4?env=staging"' in audit_page
    panel = admin_client.get(f"{BASE}/-/panel/changes").get_data(as_text=True)
    assert re.search(r"f4</a>\s+in staging", panel) and re.search(r"f4</a>\s+in production", panel)
    service.archive_flag("f4", actor=ACTOR)  # the flag's own, in no one environment
    assert re.search(r"Archived <a [^>]*>flag f4</a>", admin_client.get("/admin/audit").get_data(as_text=True))


def test_an_sdk_that_registered_is_shown_in_its_token_s_environment_as_it_is_now(admin_client, client, ctx) -> None:
    _row, token = service.create_token("web", actor=ACTOR, environment="staging")
    assert client.post("/api/client/register", json={"appName": "web-app", "instanceId": "pod-1"},
                       headers={"Authorization": token}).status_code == 202
    service.rename_environment("staging", "qa", actor=ACTOR)
    page = admin_client.get(f"{BASE}/-/tokens").get_data(as_text=True)
    assert re.search(r"web-app</strong>.*?token web · qa</span>", page, re.S), page[page.find("web-app"):][:300]


def test_the_audit_log_says_what_was_done_to_the_environments(admin_client, ctx) -> None:
    service.add_environment("qa", actor=ACTOR)
    service.rename_environment("qa", "test", actor=ACTOR)
    service.move_environment("test", -1, actor=ACTOR)
    service.remove_environment("test", actor=ACTOR)
    page = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", admin_client.get("/admin/audit").get_data(as_text=True)))
    for said in ("Added the flag environment qa", "Renamed the flag environment qa to test",
                 "Moved the flag environment test (development, staging, test, production)",
                 "Removed the flag environment test"):
        assert said in page, said
