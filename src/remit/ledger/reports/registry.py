"""The reports by name: what the CLI and the HTTP route can run."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import sqlalchemy as sa

from remit.ledger.reports import revenue, statements
from remit.ledger.reports.model import Report, ReportParams
from remit.ledger.reports.source import RevrecSource, stored_obligations, stored_recognitions
from remit.primitives.errors import ResourceMissing


@dataclass(frozen=True, slots=True)
class Sources:
    """Where revenue recognition's records come from (the state store, unless swapped)."""

    recognitions: RevrecSource = stored_recognitions
    obligations: RevrecSource = stored_obligations


Builder = Callable[[sa.Connection, str, ReportParams, Sources], Report]


def _journal_only(build: Callable[[sa.Connection, str, ReportParams], Report]) -> Builder:
    return lambda conn, account_id, params, _sources: build(conn, account_id, params)


def _waterfall(conn: sa.Connection, account_id: str, p: ReportParams, s: Sources) -> Report:
    return revenue.revenue_waterfall(conn, account_id, p, s.recognitions, s.obligations)


REPORTS: Mapping[str, Builder] = MappingProxyType(
    {
        "trial_balance": _journal_only(statements.trial_balance),
        "general_ledger": _journal_only(statements.general_ledger),
        "income_statement": _journal_only(statements.income_statement),
        "balance_sheet": _journal_only(statements.balance_sheet),
        "revenue_waterfall": _waterfall,
        "deferred_revenue_rollforward": _journal_only(revenue.deferred_revenue_rollforward),
        "ar_aging": _journal_only(statements.ar_aging),
        "tax_liability": _journal_only(statements.tax_liability),
    }
)
REPORT_NAMES = tuple(REPORTS)


def run_report(
    conn: sa.Connection,
    account_id: str,
    name: str,
    params: ReportParams,
    sources: Sources | None = None,
) -> Report:
    """Report ``name`` for tenant ``account_id``; an unknown name is ``resource_missing``."""
    build = REPORTS.get(name)
    if build is None:
        raise ResourceMissing("ledger report", name, param="name")
    return build(conn, account_id, params, sources or Sources())
