"""A side's raw text rows parsed into canonical transaction records, set-based.

One pass computes every field's value and error code into ``<side>_parsed`` (DuckDB
spills it when it is large); then one INSERT ... SELECT writes the rows without an
error to ``<side>_records`` and one writes a reject per (row, failing field). A row is
a record or a reject, never both and never neither. Fields are named as the YAML's
``columns:`` keys (``id``, ``amount``, ``currency``, ``date``), which is what a human
reading a reject recognizes.

Each cell is parsed once. Stacked projections carry the work: the first cleans the
cells and runs the amount's one regular expression; the second joins the currency's
exponent (which also says whether the currency is known) and reads the date; the
third settles the currency; the last derives every value and error code from those
columns. Errors are never a second parse of the cell: DuckDB does not share a
subexpression between two output columns, so a value and an error computed from the
raw text each paid the full parse (parsing was two thirds of a reconciliation run).

Currency comes before the amount because the amount's exponent depends on it. A row
whose currency is bad is reported for its currency only; its amount cannot be read
without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from remit.fde.reconcile.model import RECORD_COLUMNS, REJECT_COLUMNS, Side, SideMapping
from remit.fde.reconcile.transforms import (
    amount_from_parts,
    amount_parts_sql,
    clean_sql,
    create_currency_table,
    quote_ident,
    quote_literal,
    timestamp_from_us,
    timestamp_us_sql,
)
from remit.primitives import currency as currencies
from remit.primitives.errors import InvalidRequestError

# Computed columns live beside the source's in one CTE: a prefix no export uses.
_P = "__remit_"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str  # the YAML key, which rejects report
    raw_sql: str  # the cell as the source has it
    value_sql: str
    error_sql: str


def parse_records(duck: duckdb.DuckDBPyConnection, side: Side, mapping: SideMapping) -> int:
    """Fill ``<side>_records`` and ``rejects`` from ``<side>_raw``; the number of rows
    rejected. ``check_mapping`` has passed."""
    create_currency_table(duck)
    create_records(duck, side)
    create_rejects(duck)
    checked = _checked_fields(mapping)
    parsed = f"{side}_parsed"
    columns = ", ".join(
        f"{f.value_sql} AS {quote_ident(_P + 'v_' + f.name)}, "
        f"{f.error_sql} AS {quote_ident(_P + 'e_' + f.name)}, "
        f"{f.raw_sql} AS {quote_ident(_P + 'r_' + f.name)}"
        for f in checked
    )
    duck.execute(
        f"CREATE OR REPLACE TABLE {parsed} AS "
        f"WITH a AS (SELECT *, {_cleaned(mapping)} FROM {side}_raw), "
        f"b AS (SELECT a.*, e.exponent AS {_P}known_exponent, "
        f"{timestamp_us_sql(_P + 'c_date', mapping.date_format)} AS {_P}us FROM a "
        f"LEFT JOIN currency_exponents e ON e.currency = a.{_P}c_currency), "
        f"c AS (SELECT *, {_currency(mapping)} FROM b) "
        f"SELECT line_no, {columns}, {_optional(mapping)} FROM c"
    )
    ok = " AND ".join(f"{quote_ident(_P + 'e_' + f.name)} IS NULL" for f in checked)
    v = {f.name: quote_ident(_P + "v_" + f.name) for f in checked}
    duck.execute(
        f"INSERT INTO {side}_records SELECT line_no, {v['id']}, {v['amount']}, "
        f"{v['currency']}, {v['date']}, {_P}reference, {_P}group_ref, {_P}description "
        f"FROM {parsed} WHERE {ok} ORDER BY line_no"
    )
    duck.execute("DELETE FROM rejects WHERE side = ?", [side])
    duck.execute(
        f"INSERT INTO rejects SELECT * FROM ({_rejects_union(side, mapping, checked, parsed)}) "
        "ORDER BY line_no, field"
    )
    duck.execute(f"DROP TABLE {parsed}")
    return scalar(duck, "SELECT COUNT(DISTINCT line_no) FROM rejects WHERE side = ?", [side])


def _cleaned(mapping: SideMapping) -> str:
    """The first projection: each checked cell cleaned, the amount split by its regular
    expression. Later projections refer to these columns instead of the raw cells."""
    currency = "CAST(NULL AS VARCHAR)"
    if mapping.currency is not None:
        currency = f"lower({clean_sql(quote_ident(mapping.currency))})"
    record_id = "NULL" if mapping.record_id is None else _trimmed(quote_ident(mapping.record_id))
    parts = amount_parts_sql(quote_ident(mapping.amount), mapping.amount_format, mapping.thousands)
    return (
        f"{currency} AS {_P}c_currency, {record_id} AS {_P}c_id, {parts} AS {_P}parts, "
        f"{clean_sql(quote_ident(mapping.date))} AS {_P}c_date"
    )


def scalar(duck: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> int:
    """A one-value query's integer. Fetched whole: DuckDB refuses further work on a
    connection whose last result was not read to the end."""
    rows = duck.execute(sql, params or []).fetchall()
    assert len(rows) == 1, sql
    return int(rows[0][0])


def check_mapping(side: Side, mapping: SideMapping) -> None:
    """What the rules must say for a side to parse, checked before anything is loaded."""
    default = mapping.default_currency
    if mapping.currency is None and default is None:
        raise InvalidRequestError(
            f"The {side} side needs a currency column or a default_currency.",
            code="missing_columns",
            param=f"{side}.columns.currency",
        )
    allowed = _allowed(mapping)
    if default is not None and (
        not currencies.is_supported(default.lower()) or (allowed and default.lower() not in allowed)
    ):
        raise InvalidRequestError(
            f"default_currency {default!r} is not a supported currency"
            + (f" among {', '.join(allowed)}" if allowed else "")
            + ".",
            code="invalid_reconciliation_rules",
            param=f"{side}.default_currency",
        )


def _allowed(mapping: SideMapping) -> tuple[str, ...]:
    return tuple(sorted({code.lower() for code in mapping.currencies}))


def _currency(mapping: SideMapping) -> str:
    """The row's currency (value, error) and the amount's exponent, from the cleaned
    code and its joined exponent (NULL: unknown to remit)."""
    default = None if mapping.default_currency is None else mapping.default_currency.lower()
    if mapping.currency is None:
        assert default is not None, "check_mapping"
        return (
            f"{quote_literal(default)} AS {_P}v_currency, NULL AS {_P}e_currency, "
            f"{currencies.exponent(default)} AS {_P}exponent"
        )
    code, known = f"{_P}c_currency", f"{_P}known_exponent IS NOT NULL"
    allowed = _allowed(mapping)
    permitted = f"{code} IN ({', '.join(quote_literal(c) for c in allowed)})" if allowed else "TRUE"
    accepted = f"{known} AND {permitted}"
    missing = "NULL" if default else "'missing_value'"
    error = (
        f"CASE WHEN {code} IS NULL THEN {missing} "
        f"WHEN NOT ({known}) THEN 'invalid_currency' "
        f"WHEN NOT ({permitted}) THEN 'currency_not_allowed' END"
    )
    value = f"CASE WHEN {accepted} THEN {code} END"
    exponent = f"CASE WHEN {accepted} THEN {_P}known_exponent END"
    if default is not None:
        value = f"COALESCE({value}, {quote_literal(default)})"
        exponent = f"COALESCE({exponent}, {currencies.exponent(default)})"
    return f"{value} AS {_P}v_currency, {error} AS {_P}e_currency, {exponent} AS {_P}exponent"


def _checked_fields(mapping: SideMapping) -> list[_Field]:
    """The fields whose values can be wrong: id (when mapped), amount, currency, date;
    each value and error read from the columns the earlier projections computed."""
    amount = amount_from_parts(
        f"{_P}parts",
        mapping.amount_format,
        f"{_P}exponent",
        thousands=mapping.thousands,
        negate=mapping.negate,
        required=True,
    )
    date = timestamp_from_us(f"{_P}c_date", f"{_P}us", required=True)
    if mapping.record_id is None:
        record_id = _Field("id", "NULL", "'L' || CAST(line_no AS VARCHAR)", "NULL")
    else:
        error = f"CASE WHEN {_P}c_id IS NULL THEN 'missing_value' END"
        record_id = _Field("id", quote_ident(mapping.record_id), f"{_P}c_id", error)
    currency_raw = "NULL" if mapping.currency is None else quote_ident(mapping.currency)
    return [
        record_id,
        # Without a currency there is no exponent: the currency's reject says why.
        _Field(
            "amount", quote_ident(mapping.amount), amount.value_sql,
            f"NULLIF({amount.error_sql}, 'invalid_currency')",
        ),
        _Field("currency", currency_raw, f"{_P}v_currency", f"{_P}e_currency"),
        _Field("date", quote_ident(mapping.date), date.value_sql, date.error_sql),
    ]  # fmt: skip


def _trimmed(col_sql: str) -> str:
    return f"NULLIF(TRIM({col_sql}), '')"


def _optional(mapping: SideMapping) -> str:
    """reference, group_ref and description: text, trimmed, NULL when empty."""
    parts = []
    for name in ("reference", "group_ref", "description"):
        column = getattr(mapping, name)
        parts.append(f"{'NULL' if column is None else _trimmed(quote_ident(column))} AS {_P}{name}")
    return ", ".join(parts)


def _messages(mapping: SideMapping, name: str, value_sql: str) -> str:
    """A sentence per error code, naming the offending value."""
    quoted = f"'''' || COALESCE({value_sql}, '') || ''''"
    allowed = ", ".join(_allowed(mapping))
    kind = {"minor": "an amount in minor units", "decimal": "a decimal amount"}
    texts = {
        "missing_value": f"'{name} is empty'",
        "invalid_amount": f"{quoted} || ' is not {kind[mapping.amount_format]} "
        "(or has more decimals than its currency)'",
        "invalid_date": f"{quoted} || ' is not a date in the format '"
        f" || {quote_literal(mapping.date_format.format)}",
        "invalid_currency": f"{quoted} || ' is not a currency'",
        "currency_not_allowed": f"{quoted} || "
        + quote_literal(f" is not one of the allowed currencies: {allowed}"),
    }
    whens = " ".join(f"WHEN {quote_literal(code)} THEN {text}" for code, text in texts.items())
    return f"CASE code {whens} ELSE code END"


def _rejects_union(side: Side, mapping: SideMapping, checked: list[_Field], parsed: str) -> str:
    selects = []
    for f in checked:
        raw = quote_ident(_P + "r_" + f.name)
        error = quote_ident(_P + "e_" + f.name)
        selects.append(
            f"SELECT {quote_literal(side)} AS side, line_no, {quote_literal(f.name)} AS field, "
            f"{raw} AS value, code, {_messages(mapping, f.name, raw)} AS message "
            f"FROM (SELECT line_no, {raw}, {error} AS code FROM {parsed}) WHERE code IS NOT NULL"
        )
    return " UNION ALL ".join(selects)


def create_rejects(duck: duckdb.DuckDBPyConnection) -> None:
    """The ``rejects`` table, shared by both sides and by state mode's external values."""
    typed = ", ".join(f"{name} {sql_type}" for name, sql_type in REJECT_COLUMNS)
    duck.execute(f"CREATE TABLE IF NOT EXISTS rejects ({typed})")


def create_records(duck: duckdb.DuckDBPyConnection, side: Side) -> None:
    typed = ", ".join(f"{name} {sql_type}" for name, sql_type in RECORD_COLUMNS)
    duck.execute(f"CREATE OR REPLACE TABLE {side}_records ({typed})")
