"""The job service's reading side: keyset pages, filters, job ids, the console's counts."""

from __future__ import annotations

import pytest

from nous.extensions import get_redis
from nous.jobs import service
from tests.jobs import tasks as test_tasks  # noqa: F401  (declares the test tasks)
from tests.jobs.helpers import bulk_runs as _bulk


def test_keyset_pages_walk_every_row_once_in_order_both_ways(ctx):
    _bulk(125)
    seen, before = [], None
    pages = 0
    while True:
        page = service.list_runs(service.RunFilter(status="failed"), before=before, limit=50)
        seen += [r.seq for r in page.rows]
        pages += 1
        if not page.has_older:
            break
        before = page.older_cursor
    assert pages == 3 and len(seen) == 125 and seen == sorted(seen, reverse=True) and len(set(seen)) == 125
    last = service.list_runs(service.RunFilter(status="failed"), oldest=True, limit=50)
    assert [r.seq for r in last.rows] == seen[-50:] and last.has_newer and not last.has_older
    newer = service.list_runs(service.RunFilter(status="failed"), after=last.newer_cursor, limit=50)
    assert [r.seq for r in newer.rows] == seen[-100:-50] and newer.has_newer and newer.has_older
    first = service.list_runs(service.RunFilter(status="failed"), limit=50)
    assert not first.has_newer and first.has_older and first.newer_cursor is None


def test_filters_by_status_task_and_text(ctx):
    _bulk(5, status="failed", task="tests.echo")
    _bulk(3, status="finished", task="tests.mark")
    _bulk(2, status="failed", task="tests.mark")
    assert len(service.list_runs(service.RunFilter(status="failed")).rows) == 7
    assert len(service.list_runs(service.RunFilter(task="tests.mark")).rows) == 5
    assert len(service.list_runs(service.RunFilter(status="failed", task="tests.mark")).rows) == 2
    assert [r.error for r in service.list_runs(service.RunFilter(q="boom 4")).rows] == ["Boom 4"]
    assert service.list_runs(service.RunFilter(q="100%_")).rows == []  # LIKE wildcards are plain text
    with pytest.raises(ValueError, match="status must be one of"):
        service.list_runs(service.RunFilter(status="exploded"))
    assert service.counts_by_status()["failed"] == 7


@pytest.mark.parametrize("bad", ["", "../etc", "x" * 65, "a b", "nope"])
def test_unknown_or_malformed_job_ids(ctx, bad):
    with pytest.raises(service.JobNotFound):
        service.get_run(bad)


def test_the_console_counts_are_reused_for_a_few_seconds_and_dropped_by_an_admin_action(ctx):
    first = service.enqueue("tests.echo")
    assert service.recent_counts()["queued"] == 1
    service.enqueue("tests.echo")
    assert service.recent_counts()["queued"] == 1  # counted less than COUNTS_MAX_AGE seconds ago
    assert get_redis().ttl(service.COUNTS_KEY) <= service.COUNTS_MAX_AGE
    service.cancel(first, "tester")
    counts = service.recent_counts()
    assert (counts["queued"], counts["canceled"]) == (1, 1)
    assert counts == service.counts_by_status()
