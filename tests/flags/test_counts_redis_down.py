"""Evaluation counts while Redis (which keeps them) is away: the flag list, the flag page and `flags list`
say they are unavailable instead of showing 0 ("none yet") for flags evaluated all day."""

from __future__ import annotations

import re
import time

from nous import flags
from nous.extensions import get_redis
from nous.flags import service
from nous.flags.cache import EVALS
from tests.adminapi import test_tokens_outages

own_app = test_tokens_outages.own_app  # a throwaway Redis to stop and start, and apps on it


def _signed_in(web):
    c = web.test_client()
    now = int(time.time())
    with c.session_transaction() as s:
        s.update({"_user_id": "admin@nous.test", "_fresh": True, "signed_in_at": now, "seen_at": now, "_csrf": "t"})
    c.environ_base["HTTP_X_CSRF_TOKEN"] = "t"
    return c


def test_counts_are_unavailable_not_zero_while_redis_is_away(own_app) -> None:
    make, server = own_app
    web = make()
    with web.app_context():
        service.create_flag({"key": "o.busy", "enabled": True}, actor="test@nous.test")
        for _ in range(3):
            flags.is_enabled("o.busy", {"userId": "u1"})
        EVALS.flush(get_redis())
    console = _signed_in(web)
    page = console.get("/admin/beta/flags/o.busy").get_data(as_text=True)
    assert re.search(r"Evaluations in production, all time</div><div class=\"stat-value\">3<", page)

    server.stop()
    listing = console.get("/admin/beta/flags/").get_data(as_text=True)
    row = re.search(r'<tr id="flag-row-.*?</tr>', listing, re.S).group(0)
    assert "unavailable" in row and ">0<" not in row
    page = console.get("/admin/beta/flags/o.busy").get_data(as_text=True)
    assert "unavailable: Redis cannot be reached" in page and "none yet" not in page
    with web.app_context():
        result = web.test_cli_runner().invoke(args=["nous", "flags", "list"])
    assert result.exit_code == 0 and re.search(r"o\.busy\s+on\s+release\s+\?", result.output), result.output


def test_a_rename_while_redis_is_away_says_the_counts_stayed(own_app) -> None:
    make, server = own_app
    web = make()
    console = _signed_in(web)
    server.stop()
    done = console.post("/admin/beta/flags/-/environments", data={"do": "rename", "name": "staging", "new_name": "qa"})
    assert done.status_code == 303
    page = console.get(done.headers["Location"]).get_data(as_text=True)
    assert re.search(r'notice-warning[^>]*>Renamed staging to qa\. Its evaluation counts and SDK metrics could not '
                     r'be moved \(Redis cannot be reached\): they stay under staging\.', page)
    with web.app_context():
        assert service.environment_names() == ["development", "qa", "production"]
