"""/v1/remit/ledger/reports: the ledger's financial reports, as JSON, for the caller's account.

``GET /v1/remit/ledger/reports/{name}?at=2026-03-31`` (or ``from``/``to``, ``code``,
``currency``). Dates are UTC days, sent as ``YYYY-MM-DD`` or as Unix seconds (the day
they fall on). Amounts are integers of minor units. CSV, Parquet and charts are the
CLI's (``remit ledger report``): every answer here is JSON, as on the rest of the API.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa

from remit.api.forms import param_path
from remit.api.params import TIMESTAMP_MAX, Field, Path, Schema, Str
from remit.api.routing import Route
from remit.context import CallContext
from remit.ledger.reports import REPORT_NAMES, ReportParams, run_report, to_wire
from remit.ledger.reports.model import day_of
from remit.primitives import errors
from remit.primitives.currency import normalize

LIST_PATH = "/v1/remit/ledger/reports"
_SECONDS = re.compile(r"[0-9]{1,12}")


class Day(Field):
    """A UTC calendar day: ``YYYY-MM-DD``, or Unix seconds meaning the day they fall on."""

    def coerce(self, value: Any, path: Path) -> date:
        if type(value) is int or (isinstance(value, str) and _SECONDS.fullmatch(value)):
            seconds = int(value)
            if 0 <= seconds <= TIMESTAMP_MAX:
                return day_of(seconds)
        elif isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise errors.invalid_parameter(
            param_path(path), f"Invalid date: {str(value)[:40]}; send YYYY-MM-DD or Unix seconds."
        )


REPORT = Schema(
    {
        "at": Day(),
        "to": Day(),
        "from": Day(),
        "code": Str(max_length=80, blank_ok=False),
        "currency": Str(max_length=3, blank_ok=False),
    },
    exclusive=[("at", "to")],
)
LIST = Schema({})


def params_from(values: dict[str, Any], now: int) -> ReportParams:
    """The report question from validated params; the report date defaults to today (UTC)."""
    through = values.get("at") or values.get("to") or day_of(now)
    currency = normalize(values["currency"]) if "currency" in values else None
    return ReportParams(through, values.get("from"), values.get("code"), currency)


def _report(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], name: str
) -> dict[str, Any]:
    report = run_report(conn, ctx.account_id, name, params_from(params, ctx.now))
    return to_wire(report, ctx.now)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "list",
        "url": LIST_PATH,
        "has_more": False,
        "data": [
            {"id": name, "object": "ledger_report_type", "name": name} for name in REPORT_NAMES
        ],
    }


ROUTES = [
    Route("GET", LIST_PATH, _list, LIST),
    Route("GET", LIST_PATH + "/{name}", _report, REPORT, slow=True),
]
