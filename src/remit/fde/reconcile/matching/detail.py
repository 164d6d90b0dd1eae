"""SQL expressions that turn a break's values into words a person acts on: amounts as
``12.34 USD`` (exactly ``remit.primitives.money.format_amount``), dates as ``2024-03-01``.

Amounts are formatted with string functions on the integer's digits (no division, no
float). Dates use DuckDB's ``make_timestamp`` and ``strftime``: presentation only, never
part of a matching decision. A naive TIMESTAMP is UTC whatever the session's time zone,
so the sentence is the same on every machine.
"""

from __future__ import annotations

from itertools import groupby

from remit.primitives.currency import exponent, supported_currencies

_DEFAULT_EXPONENT = 2


def places(currency: str) -> str:
    """The currency's minor-unit digits, from the one currency table. Computed once per
    row into a column: repeated inside every amount of a sentence, this CASE would make
    DuckDB plan a query for a second."""
    codes = sorted(
        (exponent(c), c) for c in supported_currencies() if exponent(c) != _DEFAULT_EXPONENT
    )
    arms = " ".join(
        f"WHEN {currency} IN ({', '.join(repr(c) for _, c in group)}) THEN {digits}"
        for digits, group in groupby(codes, key=lambda pair: pair[0])
    )
    return f"(CASE {arms} ELSE {_DEFAULT_EXPONENT} END)"


def money(amount: str, currency: str, places: str) -> str:
    """``amount`` minor units of ``currency`` (``places`` digits, see :func:`places`) as
    ``-1234.56 USD``: pad the digits with zeros to at least places + 1, then put the
    point before the last ``places``."""
    digits = f"CAST(ABS({amount}) AS VARCHAR)"
    kept = f"GREATEST(LENGTH({digits}), {places} + 1)"
    padded = f"SUBSTR('0000' || {digits}, LENGTH({digits}) + 5 - {kept})"
    whole = f"SUBSTR({padded}, 1, LENGTH({padded}) - {places})"
    fraction = f"SUBSTR({padded}, LENGTH({padded}) - {places} + 1)"
    return (
        f"(CASE WHEN {amount} < 0 THEN '-' ELSE '' END || {whole}"
        f" || CASE WHEN {places} > 0 THEN '.' || {fraction} ELSE '' END"
        f" || ' ' || UPPER({currency}))"
    )


def day(ts: str) -> str:
    """Unix seconds as the UTC calendar day."""
    return f"strftime(make_timestamp({ts} * 1000000), '%Y-%m-%d')"


def record(label: str, line: str, record_id: str, reference: str) -> str:
    """``bank line 1234 (bt_9, ref ch_9)``: where a person finds the row. ``label`` is a
    SQL literal already."""
    ref = f"CASE WHEN {reference} IS NULL THEN '' ELSE ', ref ' || {reference} END"
    return f"{label} || ' line ' || CAST({line} AS VARCHAR) || ' (' || {record_id} || {ref} || ')'"


def days_apart(ts_a: str, ts_b: str) -> str:
    """``19 days apart``, ``1 day apart`` or ``less than a day apart`` (whole days)."""
    days = f"(ABS({ts_a} - {ts_b}) // 86400)"
    return (
        f"CASE WHEN {days} = 0 THEN 'less than a day apart' WHEN {days} = 1 THEN '1 day apart'"
        f" ELSE CAST({days} AS VARCHAR) || ' days apart' END"
    )
