"""Feedback: validate and store submissions, list and triage them, reply, export, statistics.

The area's service interface: the API, the console, the CLI, jobs and other areas import what they need
from here (`from nous.feedback import service as feedback`). No `request` or `g` in any of it: callers pass
plain values. Admin changes are audited in the same transaction as the change.

| module     | what it holds                                                                 |
|------------|-------------------------------------------------------------------------------|
| `common`   | field limits, cache keys, the errors, versions of a feedback                  |
| `intake`   | validating a submission field by field, storing it, linking its tester        |
| `queries`  | the console's filter, keyset pages, one feedback, tags, replies, exports      |
| `triage`   | status (one or many), tags, replies, each refused when decided on a stale view |
| `figures`  | public statistics, the console's charts, rows per status (named apart from `stats()`) |
| `origins`  | sites the widget was refused on, and allowing one                             |
| `announce` | `feedback.updated` for live viewers and `feedback.created` for the workflows   |
| `attachments` | files sent with feedback: checked, re-encoded, stored, streamed, read (OCR), deleted |
| `by_flag`  | what testers felt: feedback with a flag on against off (and per variant), with a reading |
"""

from __future__ import annotations

from nous.feedback.models import CATEGORIES, STATUSES
from nous.feedback.service import attachments, by_flag, resends
from nous.feedback.service.announce import excerpt, feedback_created
from nous.feedback.service.by_flag import compare
from nous.feedback.service.common import (
                                          APP_VERSION_MAX,
                                          BY_STATUS_KEY,
                                          CHARTS_CACHE_SECONDS,
                                          CHARTS_KEY,
                                          EMAIL_MAX,
                                          EXCERPT_MAX,
                                          FEATURE_MAX,
                                          HONEYPOT_FIELD,
                                          MESSAGE_MAX,
                                          MESSAGE_PATTERN,
                                          PAGE_URL_MAX,
                                          PAGE_URL_PATTERN,
                                          REPLY_MAX,
                                          STATS_CACHE_SECONDS,
                                          STATS_KEY,
                                          STATS_STALE_SECONDS,
                                          TAG_MAX,
                                          TAGS_PER_FEEDBACK,
                                          USER_AGENT_MAX,
                                          VIEWPORT_PATTERN,
                                          FeedbackConflict,
                                          FeedbackError,
                                          ValidationFailed,
                                          version_of,
)
from nous.feedback.service.figures import charts, compute_stats, counts_by_status, header_figures, invalidate, stats
from nous.feedback.service.intake import (
                                          Outcome,
                                          Submission,
                                          flag_context,
                                          flag_rows,
                                          read_attachment_text,
                                          read_text_again,
                                          submit,
                                          validate,
)
from nous.feedback.service.origins import (
                                          ORIGIN_MAX,
                                          REFUSED_COUNTS_KEY,
                                          REFUSED_DAYS,
                                          REFUSED_KEEP,
                                          REFUSED_KEY,
                                          RefusedOrigin,
                                          allow_origin,
                                          record_refused_origin,
                                          refused_origins,
                                          web_origin,
)
from nous.feedback.service.queries import (
                                          ENVIRONMENT_MAX,
                                          EXPORT_HEADER,
                                          FLAG_KEY_MAX,
                                          FLAG_STATES,
                                          VARIANT_MAX,
                                          Filter,
                                          ListPage,
                                          check_flag_filter,
                                          export_rows,
                                          get,
                                          iter_filtered,
                                          known_tags,
                                          latest,
                                          list_page,
                                          make_cursor,
                                          normalize_tag,
                                          parse_cursor,
                                          parse_filter,
                                          replies,
                                          reply_address,
                                          tags_for,
)
from nous.feedback.service.triage import (
                                          BulkConflict,
                                          bulk_status,
                                          bulk_tags,
                                          parse_tags,
                                          reply,
                                          set_status,
                                          set_tags,
)

__all__ = [
                                          "APP_VERSION_MAX",
                                          "BY_STATUS_KEY",
                                          "CATEGORIES",
                                          "CHARTS_CACHE_SECONDS",
                                          "CHARTS_KEY",
                                          "EMAIL_MAX",
                                          "ENVIRONMENT_MAX",
                                          "EXCERPT_MAX",
                                          "EXPORT_HEADER",
                                          "FEATURE_MAX",
                                          "FLAG_KEY_MAX",
                                          "FLAG_STATES",
                                          "HONEYPOT_FIELD",
                                          "MESSAGE_MAX",
                                          "MESSAGE_PATTERN",
                                          "ORIGIN_MAX",
                                          "PAGE_URL_MAX",
                                          "PAGE_URL_PATTERN",
                                          "REFUSED_COUNTS_KEY",
                                          "REFUSED_DAYS",
                                          "REFUSED_KEEP",
                                          "REFUSED_KEY",
                                          "REPLY_MAX",
                                          "STATS_CACHE_SECONDS",
                                          "STATS_KEY",
                                          "STATS_STALE_SECONDS",
                                          "STATUSES",
                                          "TAGS_PER_FEEDBACK",
                                          "TAG_MAX",
                                          "USER_AGENT_MAX",
                                          "VARIANT_MAX",
                                          "VIEWPORT_PATTERN",
                                          "BulkConflict",
                                          "FeedbackConflict",
                                          "FeedbackError",
                                          "Filter",
                                          "ListPage",
                                          "Outcome",
                                          "RefusedOrigin",
                                          "Submission",
                                          "ValidationFailed",
                                          "allow_origin",
                                          "attachments",
                                          "bulk_status",
                                          "bulk_tags",
                                          "by_flag",
                                          "charts",
                                          "check_flag_filter",
                                          "compare",
                                          "compute_stats",
                                          "counts_by_status",
                                          "excerpt",
                                          "export_rows",
                                          "feedback_created",
                                          "flag_context",
                                          "flag_rows",
                                          "get",
                                          "header_figures",
                                          "invalidate",
                                          "iter_filtered",
                                          "known_tags",
                                          "latest",
                                          "list_page",
                                          "make_cursor",
                                          "normalize_tag",
                                          "parse_cursor",
                                          "parse_filter",
                                          "parse_tags",
                                          "read_attachment_text",
                                          "read_text_again",
                                          "record_refused_origin",
                                          "refused_origins",
                                          "replies",
                                          "reply",
                                          "reply_address",
                                          "resends",
                                          "set_status",
                                          "set_tags",
                                          "stats",
                                          "submit",
                                          "tags_for",
                                          "validate",
                                          "version_of",
                                          "web_origin",
]
