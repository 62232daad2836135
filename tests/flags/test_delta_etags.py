"""An ETag (delta API) or Last-Event-ID (flag stream) that is not one of ours gets a hydration: digits of
other scripts included, which str.isdigit() takes ("²" and "①" then failed int() with a 500, "٣" was read
as the position 3)."""

from __future__ import annotations

import pytest

from tests.flags.test_streaming import _events, _open


@pytest.mark.parametrize("tail", ["²", "①", "٣", "３"])
def test_a_position_in_digits_of_another_script_is_not_ours(client, make_flag, token, tail) -> None:
    make_flag("f1", enabled=True)
    epoch = client.get("/api/client/delta", headers={"Authorization": token}).headers["ETag"].strip('"').split(".")[0]
    resp = client.get("/api/client/delta", headers={"Authorization": token, "If-None-Match": f'"{epoch}.{tail}"'})
    assert resp.status_code == 200 and [e["type"] for e in resp.get_json()["events"]] == ["hydration"]
    resp, chunks = _open(client, token, f"{epoch}.{tail}")
    try:
        assert resp.status_code == 200 and _events([next(chunks)])[0][0] == "unleash-connected"
    finally:
        resp.close()
