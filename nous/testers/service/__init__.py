"""Testers: add, import, invite, join, deactivate, remove, search, export — the testers area's service
interface, one module per concern:

| module    | what it does                                                                       |
|-----------|------------------------------------------------------------------------------------|
| `common`  | refusals, checks of an address, role and notes, finding a tester, versions, live news |
| `queries` | search and page by email, export, the feedback each tester sent                    |
| `changes` | add, update, activate or deactivate, remove                                        |
| `invites` | the invite email, the join link, accepting it                                      |
| `imports` | many testers at once from a CSV or rows, with a report for every line             |
| `intake`  | what feedback intake needs: the tester of an address, id subqueries, last seen     |

No `request` or `g` in here: routes, CLI commands and jobs call these functions with the actor and IP
they know. Every change is written to the audit log in the same transaction as the change. A tester's
flag overrides are the flags area's (nous.flags.service.overrides).
"""

from __future__ import annotations

from nous.testers.service.changes import add, remove, set_active, update
from nous.testers.service.common import (
    MAX_NOTES,
    EmailUnavailable,
    InviteError,
    TesterConflict,
    TesterError,
    email_refused,
    get,
    get_by_email,
    normalize_email,
    version_of,
)
from nous.testers.service.imports import (
    MAX_IMPORT_ROWS,
    ImportReport,
    ImportRow,
    decode_upload,
    import_rows,
    import_text,
)
from nous.testers.service.intake import (
    SEEN_EVERY,
    tester_for_feedback,
    tester_subquery_for,
    touch_seen,
)
from nous.testers.service.invites import accept_invite, invite, invite_for_code, join_url
from nous.testers.service.queries import (
    EXPORT_HEADER,
    STATES,
    Page,
    export_rows,
    feedback_counts,
    iter_filtered,
    recent_feedback,
    search,
)
from nous.text import is_email

__all__ = [
    "EXPORT_HEADER", "MAX_IMPORT_ROWS", "MAX_NOTES", "SEEN_EVERY", "STATES", "EmailUnavailable", "ImportReport",
    "ImportRow", "InviteError", "Page", "TesterConflict", "TesterError", "accept_invite", "add", "decode_upload",
    "email_refused", "export_rows", "feedback_counts", "get", "get_by_email", "import_rows", "import_text", "invite",
    "invite_for_code", "is_email", "iter_filtered", "join_url", "normalize_email", "recent_feedback", "remove",
    "search", "set_active", "tester_for_feedback", "tester_subquery_for", "touch_seen", "update", "version_of",
]
