"""Adding many testers at once from a CSV (or rows already read); a report for every line."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from nous.audit import service as audit
from nous.clock import utcnow
from nous.extensions import db
from nous.testers.models import BetaUser
from nous.testers.service.common import TesterError, announce, check_notes, check_role, normalize_email
from nous.testers.service.invites import invite

MAX_IMPORT_ROWS = 10_000


@dataclass
class ImportRow:
    line: int
    email: str
    result: str  # added | skipped
    reason: str = ""


@dataclass
class ImportReport:
    rows: list[ImportRow] = field(default_factory=list)

    @property
    def added(self) -> int:
        return sum(1 for r in self.rows if r.result == "added")

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.rows if r.result == "skipped")

    def as_dict(self) -> dict[str, Any]:
        return {"added": self.added, "skipped": self.skipped,
                "rows": [{"line": r.line, "email": r.email, "result": r.result, "reason": r.reason} for r in self.rows]}


def _parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV with an `email` column (and optional `role`, `notes`), or of one address per line."""
    text = text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first else ";" if ";" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    out: list[tuple[int, dict[str, str]]] = []
    columns: dict[str, int] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            cells = [c.strip() for c in cells]
            if not any(cells) or cells[0].startswith("#"):
                continue
            if columns is None and not out:
                lowered = [c.lower() for c in cells]
                if "email" in lowered or "e-mail" in lowered:
                    columns = {name: i for i, name in enumerate(lowered)}
                    columns.setdefault("email", lowered.index("e-mail") if "e-mail" in lowered else 0)
                    continue
            if columns:
                row = {k: cells[i] if i < len(cells) else "" for k, i in columns.items()
                       if k in {"email", "role", "notes"}}
            else:
                row = {"email": cells[0]}
            out.append((line, row))
            if len(out) > MAX_IMPORT_ROWS:
                raise TesterError(f"more than {MAX_IMPORT_ROWS} rows; split the file", "file")
    except csv.Error as exc:
        raise TesterError(f"the file is not readable as CSV (line {reader.line_num}): {exc}", "file") from None
    return out


def decode_upload(raw: bytes) -> str:
    """Text of an uploaded list: UTF-16 when it starts with its byte-order mark (Excel), else UTF-8."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "replace")
    return raw.decode("utf-8-sig", "replace")


def import_text(text: str, *, actor: str, ip: str = "", invite_added: bool = False,
                source: str = "import") -> ImportReport:
    """Add every valid, new address of a CSV; report each row as added or skipped, and why."""
    return import_rows(_parse_csv(text), actor=actor, ip=ip, invite_added=invite_added, source=source)


def import_rows(rows: list[tuple[int, dict[str, str]]], *, actor: str, ip: str = "", invite_added: bool = False,
                source: str = "import") -> ImportReport:
    """Add every valid, new tester of (line, {email, role, notes}) rows; report each row as added or
    skipped, and why. All the additions are one transaction."""
    if len(rows) > MAX_IMPORT_ROWS:
        raise TesterError(f"more than {MAX_IMPORT_ROWS} rows; split the file", "file")
    report = ImportReport()
    candidates = _candidates(rows, report)
    existing: set[str] = set()
    addresses = [c[1] for c in candidates]
    for i in range(0, len(addresses), 500):
        chunk = addresses[i:i + 500]
        existing.update(db.session.scalars(select(func.lower(BetaUser.email)).where(func.lower(BetaUser.email).in_(chunk))))
    added: list[BetaUser] = []
    for item, address, role, notes in candidates:
        if address in existing:
            item.result, item.reason = "skipped", "already a tester"
            continue
        user = BetaUser(id=uuid.uuid4(), email=address, role=role, notes=notes, source=source, flag_set={},
                        created_at=utcnow())
        db.session.add(user)
        added.append(user)
        audit.record(actor, "testers.add", address, None, {"email": address, "role": role, "source": source},
                     ip=ip, commit=False)
    try:
        db.session.commit()
    except IntegrityError:  # someone added one of these at the same moment: nothing was added
        db.session.rollback()
        raise TesterError("another change added some of these testers at the same time; run the import again",
                          "file", status=409) from None
    if added:
        announce(None, "imported")
    if invite_added:
        _invite_added(report, added, actor, ip)
    return report


def _candidates(rows: list[tuple[int, dict[str, str]]], report: ImportReport) -> list[tuple[ImportRow, str, str, str]]:
    """The rows whose fields are valid, first of their address, as (report row, address, role, notes);
    every other row is reported as skipped, and why."""
    seen: dict[str, int] = {}
    candidates: list[tuple[ImportRow, str, str, str]] = []
    for line, row in rows:
        raw = row.get("email", "")
        try:
            address = normalize_email(raw)
            role = check_role(row.get("role") or "TESTER")
            notes = check_notes(row.get("notes", ""))
        except TesterError as exc:
            if exc.field == "email":
                reason = "not a valid email address" if raw.strip() else "no email address"
            else:
                reason = exc.message
            report.rows.append(ImportRow(line, raw[:320], "skipped", reason))
            continue
        if address in seen:
            report.rows.append(ImportRow(line, address, "skipped", f"duplicate of line {seen[address]}"))
            continue
        seen[address] = line
        item = ImportRow(line, address, "added")
        report.rows.append(item)
        candidates.append((item, address, role, notes))
    return candidates


def _invite_added(report: ImportReport, added: list[BetaUser], actor: str, ip: str) -> None:
    by_email = {r.email: r for r in report.rows if r.result == "added"}
    for user in added:
        try:
            invite(user.id, actor=actor, ip=ip)
            by_email[user.email].reason = "invite queued"
        except TesterError as exc:
            by_email[user.email].reason = f"invite not sent: {exc.message}"
