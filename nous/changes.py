"""One name per changed object, the same for the page that made the change and for every other page.

After a change the console's answer carries `HX-Trigger-After-Swap: {"flag-changed": {…},
"flag-7-changed": {"version": "12"}}`; the live socket client (static/js/live.js) dispatches the very
same DOM events when `/ws/live` reports a change made elsewhere (another tab, the CLI, a job, another
instance). Fragments that show an object listen with `hx-trigger="flag-7-changed from:body"` and
re-render; one that already shows `version` (its `data-version`) skips the request.

Kinds and the live topic whose events name them (the id field of the event in brackets):
flag (flags: id), feedback (feedback: id), tester (testers: id), job (jobs: job_id),
alert (alerts: id), run (workflows: run_id), workflow (workflows: workflow_id).
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response

HEADER = "HX-Trigger-After-Swap"  # after the swap: the fragment just swapped in already shows the version


def events(kind: str, object_id: Any = None, version: Any = None) -> dict[str, dict[str, str]]:
    """The DOM events that say `kind` (and, with an id, that one object) changed."""
    detail = {} if version is None else {"version": str(version)}
    out = {f"{kind}-changed": detail}
    if object_id is not None:
        out[f"{kind}-{object_id}-changed"] = detail
    return out


def mark_changed(resp: Response, kind: str, object_id: Any = None, version: Any = None) -> Response:
    """Add the change events of one object to an answer (keeping events already there)."""
    current = resp.headers.get(HEADER)
    merged: dict[str, Any] = json.loads(current) if current else {}
    merged.update(events(kind, object_id, version))
    resp.headers[HEADER] = json.dumps(merged)
    return resp
