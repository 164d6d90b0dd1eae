"""Balances and movements straight from the journal: trial balance, general ledger detail,
income statement, balance sheet, tax liability and receivables aging.

Each function reads one tenant's legs through ``source.session``, runs its SQL from
``queries`` and returns a ``Report``; totals are per currency and come from SQL too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import duckdb
import sqlalchemy as sa

from remit.ledger.reports import queries as q
from remit.ledger.reports.model import (
    MAX_ROWS,
    Column,
    Report,
    ReportParams,
    Row,
    amounts,
    iso_day,
    text,
)
from remit.ledger.reports.source import LegFilter, session
from remit.primitives.errors import InvalidRequestError, missing_parameter

TRIAL_BALANCE = (
    *text("currency", "code", "name", "type"),
    *amounts("debits", "credits", "debit_balance", "credit_balance", "balance"),
)
GENERAL_LEDGER = (
    *text("currency", "date"), Column("seq", "integer"),
    *text("entry", "rule", "cause", "description"), *amounts("debit", "credit", "balance"),
)  # fmt: skip
STATEMENT = (*text("currency", "section", "code", "name"), *amounts("amount"))
TAX_LIABILITY = (
    *text("currency", "jurisdiction", "code"),
    *amounts("opening", "credits", "debits", "closing"),
)
AR_AGING = (
    *text("currency", "invoice", "booked_on"), Column("age_days", "integer"),
    *amounts("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90", "open"),
)  # fmt: skip


def fetch(
    duck: duckdb.DuckDBPyConnection, sql: str, binds: Mapping[str, Any] | None = None
) -> list[Row]:
    """The query's rows, refused past ``MAX_ROWS`` rather than silently cut."""
    rows = duck.execute(sql, dict(binds or {})).fetchmany(MAX_ROWS + 1)
    if len(rows) > MAX_ROWS:
        raise InvalidRequestError(
            f"This report has more than {MAX_ROWS} rows; narrow its period or currency.",
            code="parameter_invalid",
        )
    return [tuple(row) for row in rows]


def period(p: ReportParams) -> str:
    return f"{p.since} to {p.through}" if p.since else f"through {p.through}"


def trial_balance(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    with session(conn, account_id, LegFilter(p.until_ts, p.currency)) as duck:
        rows = fetch(duck, q.TRIAL_BALANCE_ROWS)
        totals = fetch(duck, q.TRIAL_BALANCE_TOTALS)
    return Report("trial_balance", f"Trial balance at {p.through}", TRIAL_BALANCE,
                  tuple(rows), tuple(totals), p)  # fmt: skip


def general_ledger(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    if not p.code:
        raise missing_parameter("code")
    wanted = LegFilter(p.until_ts, p.currency, codes=(p.code,), detail="full")
    binds = {"code": p.code, "since": p.since_ts}
    with session(conn, account_id, wanted) as duck:
        found = fetch(duck, q.GENERAL_LEDGER_ROWS, binds)
        rows = [(c, iso_day(int(day)), *rest) for c, day, *rest in found]
        sums = fetch(duck, q.GENERAL_LEDGER_TOTALS, binds)
    start, end = str(p.since or ""), str(p.through)
    totals: list[Row] = []
    for currency, opening, debits, credits, closing in sums:
        totals.append((currency, start, 0, "", "opening", "", "Opening balance", 0, 0, opening))
        totals.append(
            (currency, end, 0, "", "closing", "", "Closing balance", debits, credits, closing)
        )
    title = f"General ledger: {p.code}, {period(p)}"
    return Report("general_ledger", title, GENERAL_LEDGER, tuple(rows), tuple(totals), p)


def income_statement(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    with session(conn, account_id, LegFilter(p.until_ts, p.currency)) as duck:
        rows = fetch(duck, q.INCOME_STATEMENT_ROWS, {"since": p.since_ts})
        sums = fetch(duck, q.INCOME_STATEMENT_TOTALS, {"since": p.since_ts})
    labels = ("Revenue", "Contra revenue", "Net revenue", "Expenses", "Net income")
    totals = _labelled(sums, labels)
    return Report("income_statement", f"Income statement, {period(p)}", STATEMENT,
                  tuple(rows), totals, p)  # fmt: skip


def balance_sheet(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    with session(conn, account_id, LegFilter(p.until_ts, p.currency)) as duck:
        rows = fetch(duck, q.BALANCE_SHEET_ROWS)
        sums = fetch(duck, q.BALANCE_SHEET_TOTALS)
    labels = ("Total assets", "Total liabilities", "Total equity",
              "Liabilities and equity", "Difference")  # fmt: skip
    return Report("balance_sheet", f"Balance sheet at {p.through}", STATEMENT, tuple(rows),
                  _labelled(sums, labels), p)  # fmt: skip


def _labelled(sums: Sequence[Row], labels: Sequence[str]) -> tuple[Row, ...]:
    """One total row per (currency, figure): ``("usd", "total", "net_income", "Net income", n)``."""
    return tuple(
        (row[0], "total", label.lower().replace(" ", "_"), label, amount)
        for row in sums
        for label, amount in zip(labels, row[1:], strict=True)
    )


def tax_liability(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    wanted = LegFilter(p.until_ts, p.currency, codes=("tax_payable",), code_prefix="tax_payable.")
    with session(conn, account_id, wanted) as duck:
        rows = fetch(duck, q.TAX_LIABILITY_ROWS, {"since": p.since_ts})
        totals = fetch(duck, q.TAX_LIABILITY_TOTALS, {"since": p.since_ts})
    return Report("tax_liability", f"Tax liability by jurisdiction, {period(p)}",
                  TAX_LIABILITY, tuple(rows), tuple(totals), p)  # fmt: skip


def ar_aging(conn: sa.Connection, account_id: str, p: ReportParams) -> Report:
    wanted = LegFilter(p.until_ts, p.currency, ("accounts_receivable",), detail="causes")
    binds = {"through_day": p.through_day}
    with session(conn, account_id, wanted) as duck:
        rows = [
            (currency, item, iso_day(int(booked_day)), *rest)
            for currency, item, booked_day, *rest in fetch(duck, q.AR_AGING_ROWS, binds)
        ]
        sums = fetch(duck, q.AR_AGING_TOTALS, binds)
    totals = tuple((row[0], "total", "", 0, *row[1:]) for row in sums)
    return Report("ar_aging", f"Accounts receivable aging at {p.through}", AR_AGING,
                  tuple(rows), totals, p)  # fmt: skip
