"""Reconciliation's vocabulary: rules as parsed from YAML, sources, breaks, and the
tables every stage reads and writes in DuckDB. Frozen values only: no I/O here.

Sides: ``left`` is the platform's (or the book's) side, ``right`` the external one
(processor, bank, the customer's own database). Break types are named from the
platform's point of view: a left record nobody matched is ``missing_in_external``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

Side = Literal["left", "right"]
Mode = Literal["transaction", "state"]
PassKind = Literal["reference", "amount_date", "tolerance", "group", "fuzzy"]
AmountFormat = Literal["minor", "decimal"]

BreakType = Literal[
    "missing_in_platform",
    "missing_in_external",
    "amount_mismatch",
    "timing",
    "duplicate",
    "currency_mismatch",
    "field_divergence",
    "stale",
]
BREAK_TYPES: tuple[str, ...] = get_args(BreakType)

# The canonical transaction record, one DuckDB table per side: ``left_records`` and
# ``right_records``. ``line_no`` is where the row sits in its source (a CSV's header is
# line 1, so its first record is line 2; NDJSON and Parquet count rows from 1; SQL and
# platform sources count rows from 1 in key order).
RECORD_COLUMNS = (
    ("line_no", "BIGINT"),
    ("record_id", "VARCHAR"),  # the source's id, or 'L<line_no>' when it has none
    ("amount", "BIGINT"),  # minor units, signed
    ("currency", "VARCHAR"),  # ISO 4217, lower case
    ("ts", "BIGINT"),  # Unix seconds, UTC
    ("reference", "VARCHAR"),  # nullable
    ("group_ref", "VARCHAR"),  # nullable: the key a many-side group sums by
    ("description", "VARCHAR"),  # nullable
)
# Rows a source could not parse, one per (row, field), never dropped silently:
# table ``rejects`` (side, line_no, field, value, code, message).
REJECT_COLUMNS = (
    ("side", "VARCHAR"),
    ("line_no", "BIGINT"),
    ("field", "VARCHAR"),
    ("value", "VARCHAR"),
    ("code", "VARCHAR"),
    ("message", "VARCHAR"),
)


@dataclass(frozen=True, slots=True)
class AmountTolerance:
    """A difference d is within tolerance when |d| <= minor or |d| * 10000 <= basis_points *
    max(|a|, |b|): both are integer comparisons, no division on money."""

    minor: int = 0
    basis_points: int = 0


@dataclass(frozen=True, slots=True)
class Pass:
    """One matching pass. Passes run in the order given, strict to loose, each over the
    records earlier passes left unmatched."""

    name: str
    kind: PassKind
    tolerance: AmountTolerance = AmountTolerance()
    date_window_s: int | None = None  # None: any distance in time
    many: Side | None = None  # group passes: the side whose records are summed
    min_similarity_pct: int | None = None  # fuzzy passes: 1..100, on descriptions


@dataclass(frozen=True, slots=True)
class DateFormat:
    """``unix``, ``unix_ms``, ``iso8601`` or a strptime pattern (``%d/%m/%Y``); naive
    values are read in ``timezone`` (an IANA name)."""

    format: str = "unix"
    timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class SideMapping:
    """How one side's source columns become canonical records (transaction mode)."""

    label: str  # what the side is called in reports ("platform", "bank")
    amount: str  # source column names, after the YAML's ``columns:``
    date: str
    record_id: str | None = None
    currency: str | None = None
    reference: str | None = None
    group_ref: str | None = None
    description: str | None = None
    default_currency: str | None = None  # when there is no currency column
    amount_format: AmountFormat = "minor"
    thousands: str | None = None  # decimal amounts: the grouping mark ("1,234.50" -> ",")
    negate: bool = False  # e.g. a bank export showing credits as negative
    date_format: DateFormat = DateFormat()
    currencies: tuple[str, ...] = ()  # allowed currencies; empty: any supported one
    table: str | None = None  # SQL sources: the table (or view) to read


@dataclass(frozen=True, slots=True)
class TransactionRules:
    name: str
    version: int
    digest: str  # sha256 of the canonical rules (not of the YAML's whitespace)
    left: SideMapping
    right: SideMapping
    passes: tuple[Pass, ...]
    # A residual left/right pair with the same reference (or, without one, the same amount
    # and currency) whose dates lie beyond its pass's window but within this one is a
    # ``timing`` break rather than two missing records.
    timing_window_s: int = 30 * 86_400
    mode: Literal["transaction"] = "transaction"


Transform = Literal["none", "minor", "decimal", "lower", "upper", "trim", "timestamp", "map"]


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """One compared field: the platform's field <- the external column, after a transform
    that turns the external value into the platform's vocabulary and units."""

    platform: str  # a field of the platform object ("status", "metadata.crm_id")
    external: str  # a column of the external source
    transform: Transform = "none"
    # decimal: the column (external) holding the row's currency, else ``default_currency``
    currency_column: str | None = None
    default_currency: str | None = None
    thousands: str | None = None  # decimal: the grouping mark, as on SideMapping
    date_format: DateFormat = DateFormat()  # timestamp
    values: Mapping[str, str] = field(default_factory=dict)  # map: external -> platform
    kind: Literal["amount", "currency", "other"] = "other"  # which break type a divergence is
    authority: Literal["platform", "external"] = "platform"  # who is right when they differ


@dataclass(frozen=True, slots=True)
class StateRules:
    name: str
    version: int
    digest: str
    object: Literal["customer", "subscription", "invoice"]
    platform_key: str  # "id", or a platform field holding the external id ("metadata.crm_id")
    external_key: str  # the external column holding that same value
    fields: tuple[FieldMapping, ...]
    external_label: str = "external"
    synced_at: str | None = None  # external column: when that row last synced
    synced_format: DateFormat = DateFormat()
    table: str | None = None  # SQL sources: the external table (or view)
    mode: Literal["state"] = "state"


Rules = TransactionRules | StateRules


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """Where a side's data comes from. Text forms (``parse_source``):
    ``platform:invoices``, ``file:/x/bank.csv`` (or a bare path ending .csv, .ndjson,
    .jsonl, .parquet), ``sql:postgresql://u@h/db#schema.table`` (``#table`` optional when
    the rules name the table)."""

    kind: str  # "platform", "file", "sql", or a plugin's source kind
    location: str
    options: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SideLoad:
    """What loading one side found: its size, its rejects and its fingerprint."""

    side: Side
    source: SourceSpec
    rows: int
    rejected: int
    fingerprint: str  # sha256 hex of the source's bytes (files) or canonical rows


@dataclass(frozen=True, slots=True)
class CurrencySummary:
    currency: str
    left_records: int
    right_records: int
    left_matched: int
    right_matched: int
    value_matched: int  # minor units, left side's matched amounts
    value_unmatched_left: int
    value_unmatched_right: int
    left_total: int  # balance at the cutoff, each side
    right_total: int
    drift: int  # left_total - right_total


@dataclass(frozen=True, slots=True)
class Summary:
    matched_pairs: int  # match groups (a 1:1 pair or a group counts once)
    matched_left: int
    matched_right: int
    records_left: int
    records_right: int
    breaks_by_type: Mapping[str, int]
    ties: int  # matches chosen among equally good candidates (deterministically, reported)
    currencies: tuple[CurrencySummary, ...]
    cutoff_ts: int | None

    @property
    def match_rate_bp(self) -> int:
        """Matched records over all records, in basis points (integer)."""
        total = self.records_left + self.records_right
        if total == 0:
            return 0
        return (self.matched_left + self.matched_right) * 10_000 // total
