"""Background jobs on RQ: named tasks with retry policies, priorities, schedules and durable history."""
