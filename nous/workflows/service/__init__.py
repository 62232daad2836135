"""Workflows: save (validated), import/export, enable/disable, start runs, fire events, read runs.

No `request` or `g` here: the console, the CLI, jobs and other areas call these functions. Changes
by a person take the actor (and IP) and are audited. The modules: `queries` (reading workflows and
runs), `saving` (documents, enabling, schedules), `runs` (starting and canceling runs, events),
`listeners` (which events have listeners), `housekeeping` (repairing and pruning runs).

Other areas start event workflows by sending their named event (`nous.events`); `trigger_event`
is what those listeners call:

    from nous.workflows.service import trigger_event
    trigger_event("tester.joined", {"tester": tester.as_dict()})

See `trigger_event` for the contract: it never raises, never runs a step inline, and costs no
database query when no enabled workflow listens to the event (a per-process cache of the events
that have listeners, checked against a Redis version key at most every half second).
"""

from nous.workflows.service.errors import NotFound, WorkflowConflict, WorkflowError
from nous.workflows.service.housekeeping import LOST_AFTER, prune_runs, reconcile
from nous.workflows.service.listeners import listened_events
from nous.workflows.service.queries import (
    FRESH,
    MAX_PAGE_SIZE,
    PAGE_SIZE,
    RunPage,
    by_name,
    failed_step_counts,
    find,
    get,
    get_run,
    handler_catalog,
    last_runs,
    list_runs,
    list_workflows,
    run_as_dict,
    run_counts,
    run_detail,
    workflow_as_dict,
)
from nous.workflows.service.runs import (
    EXAMPLE_EVENT_DATA,
    MAX_INPUT,
    cancel_run,
    fire_cron,
    parse_input,
    run_now,
    sample_event_data,
    start_run,
    trigger_event,
)
from nous.workflows.service.saving import (
    create,
    delete_workflow,
    export,
    import_document,
    schedule_name,
    set_enabled,
    sync_schedule,
    update_workflow,
    validate,
)

__all__ = ["EXAMPLE_EVENT_DATA", "FRESH", "LOST_AFTER", "MAX_INPUT", "MAX_PAGE_SIZE", "PAGE_SIZE", "NotFound",
           "RunPage", "WorkflowConflict", "WorkflowError", "by_name", "cancel_run", "create", "delete_workflow",
           "export", "failed_step_counts", "find", "fire_cron", "get", "get_run", "handler_catalog",
           "import_document", "last_runs", "list_runs", "list_workflows", "listened_events", "parse_input",
           "prune_runs", "reconcile", "run_as_dict", "run_counts", "run_detail", "run_now", "sample_event_data",
           "schedule_name", "set_enabled", "start_run", "sync_schedule", "trigger_event", "update_workflow",
           "validate", "workflow_as_dict"]
