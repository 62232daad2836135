"""`csv.export`: write rows (from earlier steps, or the feedback matching a filter) to a CSV file.

The file lands in the instance folder (exports/workflows/run<id>-<step>.csv) and can be downloaded
from the run's page; cells are written spreadsheet-safe (nous.exports).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nous.exports import csv_lines
from nous.feedback import service as feedback
from nous.workflows.handlers import StepContext, StepError, handler

MAX_ROWS = 200_000
EXPORT_DIR = ("exports", "workflows")


def export_dir(instance_path: Path) -> Path:
    return instance_path.joinpath(*EXPORT_DIR)


def file_name(run_id: int, step_id: str) -> str:
    return f"run{run_id}-{step_id}.csv"


def _feedback_rows(flt: dict[str, Any], columns: list[str] | None) -> tuple[list[str], Any]:
    args = {k: str(v) for k, v in flt.items() if k in ("q", "rating", "feature", "category", "status", "tag", "since",
                                                        "until") and v not in (None, "")}
    if flt.get("days"):
        args["since"] = (datetime.now(UTC) - timedelta(days=int(flt["days"]))).date().isoformat()
    f = feedback.parse_filter(args)
    rating_max, rating_min = flt.get("rating_max"), flt.get("rating_min")
    header = columns or list(feedback.EXPORT_HEADER)
    unknown = [c for c in header if c not in feedback.EXPORT_HEADER]
    if unknown:
        raise StepError(f"unknown feedback columns {', '.join(unknown)}; the columns are "
                        f"{', '.join(feedback.EXPORT_HEADER)}", retryable=False)

    def rows() -> Any:
        for row, tags in feedback.iter_filtered(f):
            too_high = rating_max is not None and row.rating > rating_max
            if too_high or (rating_min is not None and row.rating < rating_min):
                continue
            d = row.as_dict(tags)
            d["tags"] = ", ".join(tags)
            yield [d.get(c) for c in header]

    return header, rows()


def _given_rows(rows: list[Any], columns: list[str] | None) -> tuple[list[str], Any]:
    if columns is None:
        columns = []
        for r in rows:
            for key in (r.keys() if isinstance(r, dict) else []):
                if key not in columns:
                    columns.append(str(key))
        if not columns and rows:
            columns = [f"col{i + 1}" for i in range(max(len(r) for r in rows if isinstance(r, list)) or 1)]

    def cells() -> Any:
        for r in rows:
            if isinstance(r, dict):
                yield [r.get(c) for c in columns]
            elif isinstance(r, list):
                yield r
            else:
                yield [r]

    return columns, cells()


FILTER = {"type": "object", "additionalProperties": False, "properties": {
    "q": {"type": "string"}, "rating": {"type": "integer", "minimum": 1, "maximum": 5},
    "rating_max": {"type": "integer", "minimum": 1, "maximum": 5},
    "rating_min": {"type": "integer", "minimum": 1, "maximum": 5},
    "feature": {"type": "string"}, "category": {"enum": ["bug", "idea", "praise", "other"]},
    "status": {"enum": ["new", "triaged", "planned", "resolved", "spam", "all"]}, "tag": {"type": "string"},
    "since": {"type": "string", "format": "date"}, "until": {"type": "string", "format": "date"},
    "days": {"type": "integer", "minimum": 1, "maximum": 3650}}}


@handler(
    "csv.export",
    "Writes `rows` (a list of objects or lists) or the feedback matching `filter` (source: feedback) "
    "to a CSV file you can download from the run.",
    params={"source": {"enum": ["rows", "feedback"], "default": "rows"},
            "rows": {"type": "array", "maxItems": MAX_ROWS},
            "filter": FILTER,
            "columns": {"type": "array", "items": {"type": "string", "minLength": 1, "maxLength": 100},
                        "minItems": 1, "maxItems": 100}},
    example={"source": "feedback", "filter": {"rating_max": 2, "days": 7}},
)
def export_csv(params: dict[str, Any], ctx: StepContext) -> dict[str, Any]:
    source = params.get("source", "rows")
    columns = params.get("columns")
    if source == "feedback":
        header, rows = _feedback_rows(params.get("filter") or {}, columns)
    else:
        if "rows" not in params:
            raise StepError("give `rows` (or source: feedback)", retryable=False)
        header, rows = _given_rows(params["rows"], columns)
    folder = export_dir(ctx.instance_path)
    folder.mkdir(parents=True, exist_ok=True)
    name = file_name(ctx.run_id, ctx.step_id)
    count = 0

    def counted() -> Any:
        nonlocal count
        for r in rows:
            count += 1
            if count > MAX_ROWS:
                raise StepError(f"more than {MAX_ROWS} rows", retryable=False)
            yield r

    tmp = folder / f".{name}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        for chunk in csv_lines(header, counted()):
            fh.write(chunk)
    tmp.replace(folder / name)  # whole file or none: a retried step never leaves half a file
    return {"file": name, "rows": count, "columns": header, "bytes": (folder / name).stat().st_size}
