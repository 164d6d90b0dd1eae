"""What a report is (a titled table of text and integer cells) and what it is asked for.

Every report's first column is ``currency``: amounts of different currencies never
share a total. Amount cells are integers of minor units; ``major_units`` turns one
into text for people (tables, chart labels), exactly and for display only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Literal

from remit.primitives import currency as currencies
from remit.primitives.errors import InvalidRequestError

ColumnKind = Literal["text", "integer", "amount"]
Cell = str | int
Row = tuple[Cell, ...]

DAY_S = 86_400
EPOCH = date(1970, 1, 1)
# Bounds: a report is read whole by a person or a spreadsheet; more rows than this
# means the question was too broad (narrow the dates or the currency).
MAX_ROWS = 100_000
MAX_MONTHS = 600


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    kind: ColumnKind = "amount"


@dataclass(frozen=True, slots=True)
class ReportParams:
    """The question: balances through ``through`` (inclusive, UTC), movements from ``since``.

    A report "at a date" includes every entry whose ``effective_at`` falls before the
    end of that UTC day; ``since`` (inclusive) starts the period of movement reports.
    """

    through: date
    since: date | None = None
    code: str | None = None
    currency: str | None = None

    def __post_init__(self) -> None:
        if self.since is not None and self.since > self.through:
            raise InvalidRequestError(
                f"The report period starts ({self.since}) after it ends ({self.through}).",
                code="parameter_invalid",
                param="from",
            )

    @property
    def until_ts(self) -> int:
        """First second after the report date: entries before it are included."""
        return (day_index(self.through) + 1) * DAY_S

    @property
    def since_ts(self) -> int:
        return 0 if self.since is None else day_index(self.since) * DAY_S

    @property
    def through_day(self) -> int:
        return day_index(self.through)


@dataclass(frozen=True, slots=True)
class Report:
    """A computed report: ``rows`` and per-currency ``totals``, both shaped by ``columns``."""

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[Row, ...]
    totals: tuple[Row, ...]
    params: ReportParams = field(compare=False)

    def __post_init__(self) -> None:
        # Every writer (JSON, CSV, Parquet, tables) relies on cells matching their column.
        for row in (*self.rows, *self.totals):
            assert len(row) == len(self.columns), (self.name, row)
            for cell, column in zip(row, self.columns, strict=True):
                wanted = str if column.kind == "text" else int
                assert type(cell) is wanted, (self.name, column.name, cell)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def index(self, name: str) -> int:
        return self.column_names.index(name)


def text(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "text") for name in names)


def amounts(*names: str) -> tuple[Column, ...]:
    return tuple(Column(name, "amount") for name in names)


def day_index(day: date) -> int:
    return (day - EPOCH).days


def iso_day(index: int) -> str:
    return (EPOCH + timedelta(days=index)).isoformat()


def day_of(ts: int) -> date:
    """The UTC calendar day of Unix seconds ``ts``."""
    return EPOCH + timedelta(days=ts // DAY_S)


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_between(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive (bounded by ``MAX_MONTHS``)."""
    year, month = int(first[:4]), int(first[5:7])
    labels: list[str] = []
    while (label := f"{year:04d}-{month:02d}") <= last:
        labels.append(label)
        if len(labels) > MAX_MONTHS:
            raise InvalidRequestError(
                f"A monthly report spans at most {MAX_MONTHS} months; narrow the period.",
                code="parameter_invalid",
                param="from",
            )
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return labels


def major_units(amount_minor: int, currency: str) -> str:
    """``123456, "usd"`` -> ``"1,234.56"``: exact integer digits, for display only."""
    digits = currencies.exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**digits)
    if digits == 0:
        return f"{sign}{whole:,}"
    return f"{sign}{whole:,}.{fraction:0{digits}d}"
