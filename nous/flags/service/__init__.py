"""Feature flags: create, change, version, restore, archive, schedule, import/export, tokens, segments,
per-tester overrides — the flags area's service interface, one module per concern:

| module       | what it does                                                                 |
|--------------|------------------------------------------------------------------------------|
| `environments` | the ordered list of environments each flag has a switch, strategies and schedule in |
| `errors`     | FlagError (one message per field, an HTTP status), FlagNotFound, FlagConflict |
| `validation` | what a flag may be: key, field types, the engine's checks, parents           |
| `versions`   | reading flags; every change a version with its diff and audit entry; announcing |
| `editing`    | create, update, switch, roll out, archive, unarchive, restore                |
| `simple`     | the console's simple form ⇄ strategies                                       |
| `schedules`  | enable-at / disable-at, carried out every minute                             |
| `transfer`   | export and import in Unleash's format                                        |
| `segments`   | shared constraint lists                                                      |
| `tokens`     | client tokens                                                                |
| `clients`    | the SDKs that registered, and the counts they send                           |
| `overrides`  | per-tester overrides                                                         |
| `overview`   | the list's rows: who gets it, stale, evaluation counts                       |
| `preview`    | would this context get it, and why                                           |

No `request` or `g` in here: routes, CLI commands and jobs call these functions with the actor and IP
they know. After a commit every process is told through the Redis version key (`bump_version`), so
evaluation everywhere follows within a second. Definitions are checked with the engine's
`validate_feature`, so nothing the engine cannot understand is ever stored.
"""

from __future__ import annotations

from nous.flags.cache import bump_version
from nous.flags.models import FLAG_TYPES
from nous.flags.service.clients import clients, record_client, record_metrics, sdk_name, sdk_usage
from nous.flags.service.editing import (
    archive_flag,
    copy_rules,
    create_flag,
    restore_version,
    rules_difference,
    set_enabled,
    set_rollout,
    unarchive_flag,
    update_flag,
)
from nous.flags.service.environments import (
    add_environment,
    check_environment,
    default_environment,
    environment_names,
    environment_use,
    environments,
    move_environment,
    remove_environment,
    rename_environment,
)
from nous.flags.service.errors import FlagConflict, FlagError, FlagNotFound
from nous.flags.service.overrides import (
    OVERRIDE_VALUES,
    find_tester,
    flag_overrides,
    get_tester,
    overrides_changed,
    overriding_testers,
    set_flag_override,
    set_tester_override,
    tester_override_rows,
    tester_overrides,
)
from nous.flags.service.overview import counts, flag_counts, flag_is_stale, overview, rollout_summary, usage
from nous.flags.service.preview import preview
from nous.flags.service.schedules import SCHEDULE_ACTOR, apply_schedules
from nous.flags.service.segments import delete_segment, list_segments, save_segment
from nous.flags.service.simple import SimpleModel, condition_from_form, simple_model, strategies_from_simple
from nous.flags.service.tokens import TOKEN_PROJECT, create_token, list_tokens, revoke_token, token_hash
from nous.flags.service.transfer import (
    ALL_ENVIRONMENTS,
    EXPORT_VERSION,
    IMPORT_MAX_BYTES,
    ImportReport,
    export_document,
    import_document,
    parse_document,
    transfer_environment,
)
from nous.flags.service.validation import check_key
from nous.flags.service.versions import (
    changes_since,
    diff,
    get_flag,
    get_version,
    history,
    list_flags,
    recent_changes,
)

__all__ = [
    "ALL_ENVIRONMENTS",
    "EXPORT_VERSION",
    "FLAG_TYPES",
    "IMPORT_MAX_BYTES",
    "OVERRIDE_VALUES",
    "SCHEDULE_ACTOR",
    "TOKEN_PROJECT",
    "FlagConflict",
    "FlagError",
    "FlagNotFound",
    "ImportReport",
    "SimpleModel",
    "add_environment",
    "apply_schedules",
    "archive_flag",
    "bump_version",
    "changes_since",
    "check_environment",
    "check_key",
    "clients",
    "condition_from_form",
    "copy_rules",
    "counts",
    "create_flag",
    "create_token",
    "default_environment",
    "delete_segment",
    "diff",
    "environment_names",
    "environment_use",
    "environments",
    "export_document",
    "find_tester",
    "flag_counts",
    "flag_is_stale",
    "flag_overrides",
    "get_flag",
    "get_tester",
    "get_version",
    "history",
    "import_document",
    "list_flags",
    "list_segments",
    "list_tokens",
    "move_environment",
    "overrides_changed",
    "overriding_testers",
    "overview",
    "parse_document",
    "preview",
    "recent_changes",
    "record_client",
    "record_metrics",
    "remove_environment",
    "rename_environment",
    "restore_version",
    "revoke_token",
    "rollout_summary",
    "rules_difference",
    "save_segment",
    "sdk_name",
    "sdk_usage",
    "set_enabled",
    "set_flag_override",
    "set_rollout",
    "set_tester_override",
    "simple_model",
    "strategies_from_simple",
    "tester_override_rows",
    "tester_overrides",
    "token_hash",
    "transfer_environment",
    "unarchive_flag",
    "update_flag",
    "usage",
]
