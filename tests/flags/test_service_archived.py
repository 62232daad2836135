"""An archived flag is off for everyone until unarchived: it cannot be switched on, nor given strategies or a
schedule meanwhile (it came back from the archive with a schedule that switched it on later, and the CLI said
"on" of a flag no client saw)."""

from __future__ import annotations

import pytest

from nous.flags import service
from tests.flags.conftest import rollout

ACTOR = "test@nous.test"


@pytest.mark.parametrize("changes", [{"enabled": True}, {"strategies": [rollout(50)]},
                                     {"enable_at": "2030-01-01T00:00:00Z"}])
def test_an_archived_flag_is_not_switched_on_nor_given_rules(ctx, make_flag, changes) -> None:
    make_flag("old.flag", strategies=[rollout(20)])
    service.archive_flag("old.flag", actor=ACTOR)
    with pytest.raises(service.FlagError) as refused:
        service.update_flag("old.flag", changes, actor=ACTOR, environment="staging")
    assert refused.value.status == 409 and "archived" in refused.value.message
    flag = service.get_flag("old.flag", environment="staging")
    assert (flag.enabled, flag.strategies[0]["parameters"]["rollout"], flag.enable_at) == (False, "20", None)
    assert [v.action for v in service.history("old.flag")] == ["archive", "create"]


def test_an_archived_flag_can_be_switched_off_and_described(ctx, make_flag) -> None:
    make_flag("old.flag", enabled=True)
    service.archive_flag("old.flag", actor=ACTOR)
    service.update_flag("old.flag", {"description": "kept for the record"}, actor=ACTOR)
    assert service.set_enabled("old.flag", False, actor=ACTOR).enabled is False
    assert service.unarchive_flag("old.flag", actor=ACTOR).description == "kept for the record"


def test_the_console_and_the_cli_say_an_archived_flag_cannot_be_switched_on(admin_client, runner, make_flag) -> None:
    make_flag("old.flag")
    service.archive_flag("old.flag", actor=ACTOR)
    resp = admin_client.post("/admin/beta/flags/old.flag/switch?env=staging", data={"to": "on"})
    assert resp.status_code == 303
    page = admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "old.flag is archived: unarchive it" in page
    result = runner.invoke(args=["nous", "flags", "enable", "old.flag", "--environment", "staging"])
    assert result.exit_code != 0 and "archived" in result.output
    assert service.get_flag("old.flag", environment="staging").enabled is False
