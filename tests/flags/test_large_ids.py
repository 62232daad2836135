"""Ids and version numbers past what the database's integers hold name nothing: a 404 or a CLI error, never
a 500 or a traceback (PostgreSQL refused 2**31 with "integer out of range", SQLite 2**63)."""

from __future__ import annotations

import pytest

from nous.flags import service

BASE = "/admin/beta/flags"


@pytest.mark.parametrize("big", [2**31, 2**63])
def test_ids_past_the_database_integers_are_not_found(admin_client, runner, make_flag, big) -> None:
    make_flag("f1", enabled=True)
    assert admin_client.post(f"{BASE}/-/tokens/{big}/revoke").status_code == 404
    for path in (f"{BASE}/f1/restore/{big}", f"{BASE}/-/segments/{big}/delete"):
        resp = admin_client.post(path)
        assert resp.status_code in (303, 404), path
        if resp.status_code == 303:
            assert "no " in admin_client.get(resp.headers["Location"]).get_data(as_text=True)
    assert admin_client.post(f"{BASE}/-/segments", data={"id": str(big), "name": "s"}).status_code in (400, 404)
    for args in (["restore", "f1", str(big)], ["tokens", "revoke", str(big)]):
        result = runner.invoke(args=["nous", "flags", *args])
        assert result.exit_code == 1 and result.output.startswith("Error: "), (args, result.output, result.exception)
    assert [v.version for v in service.history("f1")] == [1]
