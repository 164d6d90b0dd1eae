"""DuckDB SQL expressions that parse a source's text values into the platform's units.

Sources arrive as VARCHAR (CSV cells, flattened JSON, a customer's SQL columns); these
builders return SQL text, never values, so parsing runs set-based inside DuckDB over
every row at once. Each builder returns a :class:`Parsed` pair: the typed value (NULL
when missing or invalid) and an error code (NULL when fine) that callers turn into
per-row rejects, so a bad cell is reported with its line, never dropped.

This is the edge of the engine, so it uses DuckDB's parsing functions beyond the
portable subset: ``regexp_full_match``, ``TRY_CAST``, ``try_strptime``, ``timezone``,
``epoch_us``, ``regexp_replace``, ``split_part``, ``RPAD``. Matching never needs them.

Conventions every builder shares:

* A value is trimmed of spaces (a tab or other blank is invalid, not trimmed); an empty
  cell (or NULL) is *missing*: value NULL and error NULL, or ``missing_value`` when the
  builder's ``required`` flag is set.
* Whenever the value is NULL for a present cell, the error is not NULL: nothing
  turns into NULL silently.
* Amounts never pass through a float or DECIMAL: digits are validated by a regular
  expression and the minor units are built by string surgery, then cast to BIGINT.
  ``|amount| < 10^15`` minor units, so any realistic sum stays inside BIGINT.
* The currency's exponent is a SQL expression: :func:`exponent_sql` (a scalar
  subquery on ``currency_exponents``, which :func:`create_currency_table` creates; DuckDB
  turns it into a hash join) or a caller's joined column, or a literal for a fixed
  currency (``str(remit.primitives.currency.exponent("usd"))``).
* Timestamps become BIGINT Unix seconds (UTC), floored: sub-second parts are dropped
  towards the past (``unix_ms`` -1 -> -1). Naive values are read in the format's time
  zone with DuckDB's ICU ``timezone()``: a wall time inside a DST gap (02:30 on the
  spring-forward night in Europe/Paris) is read with the offset before the gap (it
  lands at 03:30 local), and an ambiguous wall time in a fold (02:30 on the fall-back
  night) is read as the later, standard-time occurrence. Neither is an error, and
  both are deterministic. Values carrying an offset (``Z``, ``+02:00``) ignore the
  time zone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from remit.fde.reconcile.model import AmountFormat, DateFormat, FieldMapping
from remit.primitives import currency as currencies

__all__ = [
    "MAX_AMOUNT_DIGITS",
    "THOUSANDS_SEPARATORS",
    "Parsed",
    "amount_expr",
    "amount_from_parts",
    "amount_parts_sql",
    "clean_sql",
    "create_currency_table",
    "currency_expr",
    "decimal_mark",
    "exponent_sql",
    "field_expr",
    "quote_ident",
    "quote_literal",
    "strptime_directives",
    "timestamp_expr",
    "timestamp_from_us",
    "timestamp_us_sql",
]

# 15 significant digits of minor units: 10^15 - 1 cents is ten trillion dollars, and
# 9,000 such amounts still sum inside a BIGINT.
MAX_AMOUNT_DIGITS = 15
# "1.234,50" uses '.' for thousands and ',' for the decimal mark; every other separator
# pairs with a '.' decimal mark ("1,234.50", "1 234.50", "1'234.50").
THOUSANDS_SEPARATORS = (",", ".", " ", "'")
# Unix seconds up to 12 digits reach year 33658: far past any real record, and the
# microseconds they scale to stay inside BIGINT.
_MAX_UNIX_DIGITS = 12
_MAX_UNIX_MS_DIGITS = 15
_US = 1_000_000
# ISO 8601 as exports write it: a date, optionally a time (seconds and a fraction
# optional), optionally an offset. Anything else DuckDB's cast might guess at
# ("Jan 5", a zone name) is refused, so acceptance does not depend on DuckDB's leniency.
_ISO_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_ISO_TIME = r"[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?"
_ISO_OFFSET = r"(Z|[+-][0-9]{2}(:?[0-9]{2})?)"
_ISO_NAIVE = f"^{_ISO_DATE}({_ISO_TIME})?$"
_ISO_WITH_OFFSET = f"^{_ISO_DATE}{_ISO_TIME}{_ISO_OFFSET}$"


@dataclass(frozen=True, slots=True)
class Parsed:
    """Two SQL expressions over the same input: the parsed value, and the error code
    (NULL when the value is fine or simply missing)."""

    value_sql: str
    error_sql: str


def quote_ident(name: str) -> str:
    """A column name as a DuckDB identifier. Source headers are user data: quoting
    (embedded quotes doubled) is what keeps a header like ``a" OR 1`` a name."""
    if "\x00" in name:
        raise ValueError("an identifier cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A string as a DuckDB literal. DuckDB's plain literals treat backslashes as
    ordinary characters, so doubling single quotes is the whole escape."""
    if "\x00" in value:
        raise ValueError("a string literal cannot contain NUL")
    return "'" + value.replace("'", "''") + "'"


def create_currency_table(duck: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) ``currency_exponents(currency, exponent)`` from remit's
    currency table, so SQL sees the same exponents as the rest of the platform."""
    rows = [(code, currencies.exponent(code)) for code in currencies.supported_currencies()]
    duck.execute("CREATE OR REPLACE TABLE currency_exponents (currency VARCHAR, exponent INTEGER)")
    values = ", ".join(f"({quote_literal(code)}, {exp})" for code, exp in rows)
    duck.execute(f"INSERT INTO currency_exponents VALUES {values}")


def exponent_sql(currency_sql: str) -> str:
    """The exponent of the (lower-case) currency ``currency_sql`` evaluates to, NULL for
    an unknown one. Needs :func:`create_currency_table`."""
    return f"(SELECT exponent FROM currency_exponents WHERE currency = {currency_sql})"


def decimal_mark(thousands: str | None) -> str:
    """The decimal mark that goes with a thousands separator (see THOUSANDS_SEPARATORS)."""
    return "," if thousands == "." else "."


def clean_sql(col_sql: str) -> str:
    """The cell as text without surrounding spaces, NULL when empty: the missing-value
    convention. Only spaces are trimmed: DuckDB's one-argument TRIM is several times
    cheaper than trimming a character set, and a tab inside a cell is rare enough to be
    reported as invalid rather than paid for on every row."""
    return f"NULLIF(TRIM(CAST({col_sql} AS VARCHAR)), '')"


def _missing(required: bool) -> str:
    """The error for a missing cell."""
    return "'missing_value'" if required else "NULL"


def _let(name: str, fields: dict[str, str], body: str) -> str:
    """``body`` evaluated with ``name`` bound to a struct of ``fields``, each computed once.

    DuckDB does not share a subexpression repeated inside CASE branches, and parsing
    refers to the cleaned cell a dozen times: binding it through a one-element lambda
    halves the cost per row, which matters at ten million rows. ``name`` is unusual so
    it cannot shadow a caller's column or alias; subqueries (not allowed inside a
    lambda) can be fields.
    """
    packed = ", ".join(f"{quote_literal(key)}: {sql}" for key, sql in fields.items())
    return f"list_transform([{{{packed}}}], lambda {name}: {body})[1]"


def _amount_pattern(fmt: AmountFormat, thousands: str | None) -> str:
    """A regular expression capturing (sign, whole, fraction) of a number: up to
    MAX_AMOUNT_DIGITS whole digits, plain or grouped by threes with ``thousands``; a
    decimal's fraction follows its decimal mark and is checked against the exponent
    later. A text that does not match yields three empty captures."""

    def literal(char: str) -> str:
        return "\\." if char == "." else char

    whole = f"[0-9]{{1,{MAX_AMOUNT_DIGITS}}}"
    if thousands is not None:
        groups = (MAX_AMOUNT_DIGITS - 1) // 3
        whole = f"[0-9]{{1,3}}(?:{literal(thousands)}[0-9]{{3}}){{1,{groups}}}|{whole}"
    if fmt == "minor":
        return f"^([+-]?)({whole})()$"
    return f"^([+-]?)({whole})?(?:{literal(decimal_mark(thousands))}([0-9]*))?$"


def amount_parts_sql(col_sql: str, fmt: AmountFormat, thousands: str | None = None) -> str:
    """The cell's (sign, whole, fraction) struct: NULL for a missing cell, three empty
    texts for one that is not a number. The one regular expression an amount costs;
    :func:`amount_from_parts` reads everything else from its captures."""
    if thousands is not None and thousands not in THOUSANDS_SEPARATORS:
        raise ValueError(f"unsupported thousands separator {thousands!r}")
    pattern = quote_literal(_amount_pattern(fmt, thousands))
    return f"regexp_extract({clean_sql(col_sql)}, {pattern}, ['sign', 'whole', 'fraction'])"


def amount_from_parts(
    parts: str,
    fmt: AmountFormat,
    e: str,
    thousands: str | None = None,
    negate: bool = False,
    *,
    required: bool = False,
) -> Parsed:
    """Value and error from :func:`amount_parts_sql`'s struct ``parts`` and the exponent
    ``e``. Both are referred to many times: callers pass columns (or a ``_let``
    binding) so the cell is not parsed again for each reference."""
    whole, fraction = f"{parts}.whole", f"{parts}.fraction"
    if thousands is not None:
        whole = f"replace({whole}, {quote_literal(thousands)}, '')"
    present = f"({parts}.whole <> '' OR {fraction} <> '')"
    minus, plus = ("1", "-1") if negate else ("-1", "1")
    sign = f"CASE {parts}.sign WHEN '-' THEN {minus} ELSE {plus} END"
    if fmt == "minor":
        digits, fits, known = whole, "TRUE", "TRUE"
    else:
        digits = f"{whole} || rpad({fraction}, {e}, '0')"
        # Digits past the exponent may only be zeros: "12.340" is exact, "12.345" is not.
        tail_zero = f"regexp_full_match(substr({fraction}, {e} + 1), '0*')"
        fits = f"(length({whole}) + {e} <= {MAX_AMOUNT_DIGITS} AND {tail_zero})"
        known = f"{e} IS NOT NULL"
    value = (
        f"CASE WHEN {present} AND {known} AND {fits} "
        f"THEN {sign} * CAST(('0' || {digits}) AS BIGINT) END"
    )
    error = (
        f"CASE WHEN {parts} IS NULL THEN {_missing(required)} "
        f"WHEN NOT {present} THEN 'invalid_amount' "
        f"WHEN NOT ({known}) THEN 'invalid_currency' "
        f"WHEN NOT {fits} THEN 'invalid_amount' END"
    )
    return Parsed(value, error)


def amount_expr(
    col_sql: str,
    fmt: AmountFormat,
    exponent_sql: str,
    thousands: str | None = None,
    negate: bool = False,
    *,
    required: bool = False,
) -> Parsed:
    """Signed BIGINT minor units from ``"1234"`` (``minor``) or ``"-1,234.50"``
    (``decimal``, scaled by the currency's exponent; ``minor`` ignores the exponent).

    A decimal with more significant fraction digits than the currency has is
    ``invalid_amount`` ("12.345" USD), never rounded; trailing zeros beyond it are
    exact and accepted ("12.340" USD is 1234). Exponent notation, currency symbols and
    amounts of 10^15 minor units or more are ``invalid_amount`` too. A decimal whose
    exponent is NULL (unknown currency) is ``invalid_currency``.
    """
    v = "__remit_amount"
    fields = {"parts": amount_parts_sql(col_sql, fmt, thousands)}
    if fmt != "minor":
        fields["exponent"] = exponent_sql
    parsed = amount_from_parts(
        f"{v}.parts", fmt, f"{v}.exponent", thousands, negate, required=required
    )
    return Parsed(_let(v, fields, parsed.value_sql), _let(v, fields, parsed.error_sql))


def strptime_directives(pattern: str) -> list[str]:
    """The directives of a strptime pattern (``%d``, ``%-m``), in order; ``%%`` is a
    literal percent sign, not a directive. A trailing lone ``%`` is returned as-is so
    validation can refuse it."""
    return re.findall(r"%-?[^%]|%$", pattern.replace("%%", ""))


def _floor_seconds(us: str) -> str:
    """Whole seconds of epoch microseconds, floored: DuckDB's ``//`` truncates towards
    zero, which would move instants before 1970 forwards."""
    return f"({us} - (({us} % {_US}) + {_US}) % {_US}) // {_US}"


def _naive_us(ts_sql: str, timezone: str) -> str:
    """Epoch microseconds of a naive TIMESTAMP read as wall time in ``timezone``."""
    return f"epoch_us(timezone({quote_literal(timezone)}, {ts_sql}))"


def timestamp_us_sql(s: str, date_format: DateFormat) -> str:
    """Epoch microseconds of the cleaned text ``s``, NULL when it cannot be read.
    Microseconds, not milliseconds: ``epoch_ms`` rounds, and flooring must see every
    sub-second digit a strptime ``%f`` read (``.999999`` stays in its second)."""
    fmt = date_format.format
    if fmt in ("unix", "unix_ms"):
        limit = _MAX_UNIX_DIGITS if fmt == "unix" else _MAX_UNIX_MS_DIGITS
        shaped = f"regexp_full_match({s}, '[+-]?[0-9]{{1,{limit}}}')"
        scale = f" * {_US}" if fmt == "unix" else " * 1000"
        return f"CASE WHEN {shaped} THEN CAST({s} AS BIGINT){scale} END"
    if fmt == "iso8601":
        offset = f"regexp_full_match({s}, {quote_literal(_ISO_WITH_OFFSET)})"
        naive = f"regexp_full_match({s}, {quote_literal(_ISO_NAIVE)})"
        # The fraction goes before the cast: DuckDB rounds nanoseconds to microseconds,
        # which would carry .9999999 into the next second; seconds are floored anyway.
        whole = (
            f"CASE WHEN contains({s}, '.') THEN regexp_replace({s}, '\\.[0-9]+', '') ELSE {s} END"
        )
        with_offset = f"epoch_us(TRY_CAST({whole} AS TIMESTAMPTZ))"
        wall = _naive_us(f"TRY_CAST({whole} AS TIMESTAMP)", date_format.timezone)
        return f"CASE WHEN {offset} THEN {with_offset} WHEN {naive} THEN {wall} END"
    parsed = f"try_strptime({s}, {quote_literal(fmt)})"
    if "%z" in strptime_directives(fmt):
        # The value carries its own offset: DuckDB returns a TIMESTAMPTZ already.
        return f"epoch_us({parsed})"
    return _naive_us(parsed, date_format.timezone)


def timestamp_from_us(s: str, us: str, *, required: bool = False) -> Parsed:
    """Value and error from the cleaned text ``s`` and its :func:`timestamp_us_sql`
    ``us``, both columns (or bindings): the error needs no second parse."""
    error = (
        f"CASE WHEN {s} IS NULL THEN {_missing(required)} WHEN {us} IS NULL THEN 'invalid_date' END"
    )
    return Parsed(_floor_seconds(us), error)


def timestamp_expr(col_sql: str, date_format: DateFormat, *, required: bool = False) -> Parsed:
    """BIGINT Unix seconds (UTC) from ``unix``, ``unix_ms``, ``iso8601`` or a strptime
    pattern; anything unreadable (including "2024-02-30") is ``invalid_date``."""
    v, u = "__remit_ts", "__remit_us"
    us = timestamp_us_sql(f"{v}.s", date_format)
    text = _let(v, {"s": clean_sql(col_sql)}, f"{{'s': {v}.s, 'us': {us}}}")
    parsed = timestamp_from_us(f"{u}.t.s", f"{u}.t.us", required=required)
    return Parsed(_let(u, {"t": text}, parsed.value_sql), _let(u, {"t": text}, parsed.error_sql))


def currency_expr(col_sql: str, *, allowed: tuple[str, ...] = (), required: bool = False) -> Parsed:
    """The lower-case ISO code. Unknown to remit -> ``invalid_currency``; known but not
    in ``allowed`` (when given) -> ``currency_not_allowed``. Needs the currency table."""
    s = f"lower({clean_sql(col_sql)})"
    known = f"{s} IN (SELECT currency FROM currency_exponents)"
    permitted = "TRUE"
    if allowed:
        permitted = f"{s} IN ({', '.join(quote_literal(c) for c in sorted(allowed))})"
    error = (
        f"CASE WHEN {s} IS NULL THEN {_missing(required)} "
        f"WHEN NOT ({known}) THEN 'invalid_currency' "
        f"WHEN NOT ({permitted}) THEN 'currency_not_allowed' END"
    )
    return Parsed(f"CASE WHEN {known} AND {permitted} THEN {s} END", error)


def _map_expr(s: str, values: dict[str, str]) -> Parsed:
    """External vocabulary -> platform vocabulary; a value the rules do not name is
    ``unmapped_value``, so a new external status cannot pass as a divergence-free NULL."""
    if not values:
        raise ValueError("a map transform needs values")
    whens = " ".join(
        f"WHEN {quote_literal(k)} THEN {quote_literal(v)}" for k, v in sorted(values.items())
    )
    value = f"CASE {s} {whens} END"
    keys = ", ".join(quote_literal(k) for k in sorted(values))
    error = f"CASE WHEN {s} IS NOT NULL AND {s} NOT IN ({keys}) THEN 'unmapped_value' END"
    return Parsed(value, error)


def field_expr(col_sql: str, mapping: FieldMapping, currency_sql: str | None) -> Parsed:
    """An external column as VARCHAR in the platform's vocabulary, comparable as text
    with the platform's flattened value: integers as plain digits ("1234"), timestamps
    as Unix seconds, mapped statuses as the platform's words.

    ``currency_sql`` is the row's currency for ``decimal`` (e.g. the quoted
    ``currency_column``); when None the mapping's ``default_currency`` is used. ``none``
    keeps the text as it is (only an empty cell becomes NULL); ``lower`` and ``upper``
    also trim. ``decimal`` needs the currency table (:func:`create_currency_table`).
    """
    transform = mapping.transform
    raw = f"CAST({col_sql} AS VARCHAR)"
    s = clean_sql(col_sql)
    if transform == "none":
        return Parsed(f"NULLIF({raw}, '')", "NULL")
    if transform == "trim":
        return Parsed(s, "NULL")
    if transform == "lower":
        return Parsed(f"lower({s})", "NULL")
    if transform == "upper":
        return Parsed(f"upper({s})", "NULL")
    if transform == "map":
        return _map_expr(s, dict(mapping.values))
    if transform == "timestamp":
        parsed = timestamp_expr(col_sql, mapping.date_format)
    elif transform == "minor":
        parsed = amount_expr(col_sql, "minor", "0")
    elif transform == "decimal":
        if currency_sql is None:
            if mapping.default_currency is None:
                raise ValueError(f"{mapping.platform}: decimal needs a currency")
            currency_sql = quote_literal(mapping.default_currency)
        code = f"lower({clean_sql(currency_sql)})"
        parsed = amount_expr(col_sql, "decimal", exponent_sql(code), mapping.thousands)
    else:
        raise ValueError(f"unknown transform {transform!r}")
    return Parsed(f"CAST({parsed.value_sql} AS VARCHAR)", parsed.error_sql)
