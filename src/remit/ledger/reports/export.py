"""Reports as files and wire objects: an Arrow table, CSV, Parquet and the JSON shape.

Files hold the rows and then the totals in one table, told apart by a leading
``row_type`` column (``row`` or ``total``), so one file is the whole report and reads
back without a side channel. Amounts stay integers of minor units (int64 in Parquet).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from remit.ledger.reports.model import Report

ROW_TYPE = "row_type"


def to_arrow(report: Report) -> pa.Table:
    """The report as a typed table: text columns as strings, every number as int64."""
    records = [("row", r) for r in report.rows] + [("total", t) for t in report.totals]
    arrays = [pa.array([kind for kind, _ in records], pa.string())]
    fields = [pa.field(ROW_TYPE, pa.string(), nullable=False)]
    for index, column in enumerate(report.columns):
        kind = pa.string() if column.kind == "text" else pa.int64()
        # pa.array raises on an int beyond int64 rather than wrapping: never a wrong amount.
        arrays.append(pa.array([row[index] for _, row in records], kind))
        fields.append(pa.field(column.name, kind, nullable=False))
    metadata = {"remit.report": report.name, "remit.title": report.title}
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))


def write_parquet(report: Report, path: Path) -> None:
    pq.write_table(to_arrow(report), path)


def write_csv(report: Report, out: IO[str]) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow((ROW_TYPE, *report.column_names))
    writer.writerows(("row", *row) for row in report.rows)
    writer.writerows(("total", *row) for row in report.totals)


def csv_text(report: Report) -> str:
    out = io.StringIO()
    write_csv(report, out)
    return out.getvalue()


def to_wire(report: Report, generated_at: int) -> dict[str, Any]:
    """The HTTP object: ``{"object": "ledger_report", ...}`` with integer amounts."""
    return {
        "object": "ledger_report",
        "name": report.name,
        "title": report.title,
        "columns": list(report.column_names),
        "column_types": [c.kind for c in report.columns],
        "rows": [list(row) for row in report.rows],
        "totals": [list(row) for row in report.totals],
        "generated_at": generated_at,
    }
