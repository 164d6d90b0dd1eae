"""Financial reports over the journal, computed set-based in an in-process DuckDB.

``run_report(conn, account_id, name, params)`` answers one of ``REPORT_NAMES`` as a
``Report`` (columns, rows, per-currency totals); ``export`` writes it as CSV,
Parquet or the HTTP object and ``charts`` draws the revenue reports.
"""

from remit.ledger.reports.charts import CHARTED, write_chart
from remit.ledger.reports.export import csv_text, to_arrow, to_wire, write_csv, write_parquet
from remit.ledger.reports.model import Column, Report, ReportParams, major_units
from remit.ledger.reports.registry import REPORT_NAMES, Sources, run_report
from remit.ledger.reports.source import OBLIGATION_SCHEMA, RECOGNITION_SCHEMA

__all__ = [
    "CHARTED",
    "OBLIGATION_SCHEMA",
    "RECOGNITION_SCHEMA",
    "REPORT_NAMES",
    "Column",
    "Report",
    "ReportParams",
    "Sources",
    "csv_text",
    "major_units",
    "run_report",
    "to_arrow",
    "to_wire",
    "write_chart",
    "write_csv",
    "write_parquet",
]
