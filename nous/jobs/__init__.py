"""Background jobs on RQ: named tasks with retry policies, priorities, schedules and durable history.

    from nous.jobs import task, report_progress

    @task("reports.build", retry=(3, [10, 60, 300]), priority=6, timeout=600)
    def build_report(report_id: int) -> dict: ...

    from nous.jobs import service
    job_id = service.enqueue("reports.build", 42)
"""

from flask import Blueprint, Flask

from nous.jobs.registry import Task, queue_for, task, tasks_registry
from nous.jobs.runtime import report_progress

bp = Blueprint("jobs", __name__, url_prefix="/admin/jobs")

__all__ = ["Task", "bp", "init_app", "queue_for", "report_progress", "task", "tasks_registry"]


def init_app(app: Flask) -> None:
    # Loaded with the app, not with the package: routes import `bp` from here, and the CLI the whole job layer.
    from nous.cli import nous
    from nous.jobs import routes  # noqa: F401
    from nous.jobs.cli import jobs_group, worker_command

    if "jobs" not in app.blueprints:
        app.register_blueprint(bp)
    nous.add_command(jobs_group)
    nous.add_command(worker_command)
