"""Importing a list of testers: a report for every row, common list shapes, size limits."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from nous.audit.models import AuditEvent
from nous.extensions import db
from nous.testers import service as testers
from nous.testers.models import BetaUser


def _audit(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


IMPORT_CSV = """email,role,notes
ada@example.com,TESTER,from the meetup
bruno@example.org,,
not-an-address,,
ADA@example.com,,second time
,,
chen@example.net,wizard,
dara@example.com,admin,"notes, with a comma"
"""


def test_import_reports_every_row(ctx) -> None:
    testers.add("dara@example.com", actor="a")
    report = testers.import_text(IMPORT_CSV, actor="admin@nous.test", ip="1.2.3.4")
    got = [(r.line, r.email, r.result, r.reason) for r in report.rows]
    assert got == [
        (2, "ada@example.com", "added", ""),
        (3, "bruno@example.org", "added", ""),
        (4, "not-an-address", "skipped", "not a valid email address"),
        (5, "ada@example.com", "skipped", "duplicate of line 2"),
        (7, "chen@example.net", "skipped", "role must be one of TESTER, ADMIN, OWNER"),
        (8, "dara@example.com", "skipped", "already a tester"),
    ]
    assert (report.added, report.skipped) == (2, 4)
    assert testers.get_by_email("ada@example.com").notes == "from the meetup"
    assert {e.target for e in _audit("testers.add")} == {"dara@example.com", "ada@example.com", "bruno@example.org"}


@pytest.mark.parametrize("text, added", [
    ("ada@example.com\nbruno@example.org\n", 2),                      # one address per line, no header
    ("\ufeffE-mail;Role\nada@example.com;admin\n", 1),                # BOM, semicolons, "E-mail"
    ("email\tnotes\nada@example.com\tx\nbruno@example.org\ty\n", 2),  # tabs
    ("# testers for March\nada@example.com\n", 1),                    # comment lines
])
def test_import_reads_common_list_shapes(ctx, text: str, added: int) -> None:
    assert testers.import_text(text, actor="a").added == added


def test_import_refuses_a_huge_file_and_adds_nothing(ctx) -> None:
    text = "\n".join(f"user{i}@example.com" for i in range(testers.MAX_IMPORT_ROWS + 1))
    with pytest.raises(testers.TesterError, match="split the file"):
        testers.import_text(text, actor="a")
    assert db.session.scalar(select(func.count()).select_from(BetaUser)) == 0


def test_decode_upload_handles_excel_utf16_and_bom() -> None:
    assert testers.decode_upload("ada@example.com".encode("utf-16")) == "ada@example.com"
    assert testers.decode_upload(b"\xef\xbb\xbfada@example.com") == "ada@example.com"
    assert "\ufffd" in testers.decode_upload(b"ada\xff@example.com")
