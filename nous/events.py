"""The named events areas tell each other through, as blinker signals.

A producer sends after its commit (what happened stands, whatever a listener does); a consumer
connects in its area's `init_app`. This module imports no area, so no area needs to import another
to tell it something:

| event                | sent by                                  | keyword arguments      | heard by          |
|----------------------|------------------------------------------|------------------------|-------------------|
| `feedback.created`   | feedback (sender: the app)               | `feedback` (as_dict)   | workflows         |
| `feedback.updated`   | feedback: created, status, tags, replied | `event` (live shape)   | live (topic feedback) |
| `tester.joined`      | testers                                  | `tester` (as_dict)     | workflows         |
| `tester.changed`     | testers (any change); flags (overrides)  | `event` (live shape)   | live (topic testers) |
| `tester.removing`    | testers, before the commit (below)      | `tester_id`, `actor`, `ip` | feedback (files) |
| `flag.changed`       | flags, once per change                   | `data` (flag, actor…)  | workflows         |
| `flags.announced`    | flags, once per change, for viewers      | `event` (live shape)   | live (topic flags) |
| `run.changed`        | workflows: a run moved on                | `event` (live shape)   | live (topic workflows) |
| `alert.raised`       | live: an alert opened or cleared         | `alert`, `message`     | email (system alert) |
| `job.changed`        | jobs: queued, started, progress, ended   | `event` (live shape)   | live (topic jobs) |
| `job.failed`         | jobs, for a task with notify_on_failure  | `job_id`, `task`, `error` | email          |
| `jobs.housekeeping`  | the jobs scheduler, every few minutes    | —                      | email (stuck outbox) |

`tester.removing` is the one event sent before a commit, inside the removal's transaction: a listener
deletes (audited) what goes with the tester and returns what to do once that is committed, or None.
"""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

feedback_created = _events.signal("feedback.created")
tester_joined = _events.signal("tester.joined")
flag_changed = _events.signal("flag.changed")
feedback_updated = _events.signal("feedback.updated")
tester_changed = _events.signal("tester.changed")
tester_removing = _events.signal("tester.removing")
flags_announced = _events.signal("flags.announced")
run_changed = _events.signal("run.changed")
alert_raised = _events.signal("alert.raised")
job_changed = _events.signal("job.changed")
job_failed = _events.signal("job.failed")
jobs_housekeeping = _events.signal("jobs.housekeeping")
