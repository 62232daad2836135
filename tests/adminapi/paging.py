"""Following an admin API list to its end through its `Link: <…>; rel="next"` headers."""

from __future__ import annotations

import re
from typing import Any

NEXT = re.compile(r"<http://localhost([^>]+)>")


def every_item(api: Any, url: str, field: str = "id") -> list[Any]:
    """`field` of every item of every page, first page at `url` (each page must answer 200)."""
    seen: list[Any] = []
    while url:
        resp = api.get(url)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
        seen += [item[field] for item in resp.get_json()["items"]]
        link = resp.headers.get("Link")
        url = NEXT.search(link).group(1) if link else ""
    return seen
