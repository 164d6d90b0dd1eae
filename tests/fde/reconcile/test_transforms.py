"""The transforms' SQL run in a real DuckDB: amounts to minor units without floats,
dates to Unix seconds in a time zone, currencies, state-mode fields, and quoting."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remit.fde.reconcile import transforms as tr
from remit.fde.reconcile.model import DateFormat, FieldMapping
from remit.primitives import currency as currencies

PARIS = "Europe/Paris"


@pytest.fixture(scope="module")
def duck() -> Iterator[duckdb.DuckDBPyConnection]:
    conn = duckdb.connect(":memory:")
    tr.create_currency_table(conn)
    yield conn
    conn.close()


def evaluate(duck: duckdb.DuckDBPyConnection, parsed: tr.Parsed, value: str | None) -> Any:
    """(value, error) of ``parsed`` over a one-row table whose column ``v`` holds ``value``."""
    return duck.execute(
        f"SELECT {parsed.value_sql}, {parsed.error_sql} FROM (SELECT CAST(? AS VARCHAR) AS v)",
        [value],
    ).fetchone()


def amount(
    duck: duckdb.DuckDBPyConnection,
    text: str | None,
    fmt: str = "decimal",
    cur: str = "usd",
    thousands: str | None = None,
    *,
    negate: bool = False,
    required: bool = False,
) -> Any:
    exponent = str(currencies.exponent(cur)) if currencies.is_supported(cur) else "NULL"
    parsed = tr.amount_expr(
        "v",
        fmt,
        exponent,
        thousands,
        negate,
        required=required,  # type: ignore[arg-type]
    )
    return evaluate(duck, parsed, text)


@pytest.mark.parametrize(
    ("text", "fmt", "cur", "thousands", "expected"),
    [
        ("-1,234.50", "decimal", "usd", ",", (-123450, None)),
        ("1,234,567.89", "decimal", "usd", ",", (123456789, None)),
        ("1234.5", "decimal", "usd", ",", (123450, None)),  # grouping is optional
        ("1.234,50", "decimal", "eur", ".", (123450, None)),
        ("1 234.50", "decimal", "eur", " ", (123450, None)),
        ("1'234.50", "decimal", "chf", "'", (123450, None)),
        ("1,23,4", "decimal", "usd", ",", (None, "invalid_amount")),
        ("1,2345.00", "decimal", "usd", ",", (None, "invalid_amount")),
        ("1234", "decimal", "jpy", None, (1234, None)),
        ("1234.00", "decimal", "jpy", None, (1234, None)),
        ("0.5", "decimal", "jpy", None, (None, "invalid_amount")),
        ("12.5", "decimal", "kwd", None, (12500, None)),
        ("12.345", "decimal", "kwd", None, (12345, None)),
        ("12.345", "decimal", "usd", None, (None, "invalid_amount")),
        ("12.340", "decimal", "usd", None, (1234, None)),  # exact: no digit is lost
        ("1e3", "decimal", "usd", None, (None, "invalid_amount")),
        ("$12.00", "decimal", "usd", None, (None, "invalid_amount")),
        ("12,00", "decimal", "usd", None, (None, "invalid_amount")),
        (" 12.30 ", "decimal", "usd", None, (1230, None)),
        ("\t12.30", "decimal", "usd", None, (None, "invalid_amount")),
        ("１２", "decimal", "usd", None, (None, "invalid_amount")),  # full-width digits
        ("-.5", "decimal", "usd", None, (-50, None)),
        ("+12.", "decimal", "usd", None, (1200, None)),
        ("-0.00", "decimal", "usd", None, (0, None)),
        (".", "decimal", "usd", None, (None, "invalid_amount")),
        ("-", "decimal", "usd", None, (None, "invalid_amount")),
        ("--5", "decimal", "usd", None, (None, "invalid_amount")),
        ("9999999999999.99", "decimal", "usd", None, (999_999_999_999_999, None)),
        ("10000000000000.00", "decimal", "usd", None, (None, "invalid_amount")),
        ("12", "decimal", "xxx", None, (None, "invalid_currency")),
        ("1234", "minor", "usd", None, (1234, None)),
        ("-0012", "minor", "usd", None, (-12, None)),
        ("+7", "minor", "usd", None, (7, None)),
        ("12.0", "minor", "usd", None, (None, "invalid_amount")),
        ("1,234", "minor", "usd", ",", (1234, None)),
        ("999999999999999", "minor", "usd", None, (999_999_999_999_999, None)),
        ("1000000000000000", "minor", "usd", None, (None, "invalid_amount")),
        ("12", "minor", "xxx", None, (12, None)),  # minor units need no exponent
        ("", "decimal", "usd", None, (None, None)),
        ("   ", "minor", "usd", None, (None, None)),
        (None, "minor", "usd", None, (None, None)),
    ],
)
def test_amounts(
    duck: duckdb.DuckDBPyConnection,
    text: str | None,
    fmt: str,
    cur: str,
    thousands: str | None,
    expected: tuple[int | None, str | None],
) -> None:
    assert amount(duck, text, fmt, cur, thousands) == expected


def test_amount_negate_flips_the_sign(duck: duckdb.DuckDBPyConnection) -> None:
    assert amount(duck, "12.30", negate=True) == (-1230, None)
    assert amount(duck, "-5", "minor", negate=True) == (5, None)


def test_a_required_amount_that_is_missing_is_reported(duck: duckdb.DuckDBPyConnection) -> None:
    assert amount(duck, "", required=True) == (None, "missing_value")
    assert amount(duck, None, "minor", required=True) == (None, "missing_value")
    assert amount(duck, "x", required=True) == (None, "invalid_amount")


def test_unsupported_thousands_separator_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="thousands"):
        tr.amount_expr("v", "decimal", "2", "_")


def test_exponent_from_a_column_a_join_or_the_subquery_agree(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    """Each row's exponent follows its own currency, however it is supplied."""
    rows = (
        "VALUES (1, '12.5', 'USD'), (2, '1234', 'jpy'), (3, '1.5', 'jpy'), (4, '0.125', 'kwd'), "
        "(5, '1', 'zzz')"
    )
    cur = tr.currency_expr("c")
    by_subquery = tr.amount_expr("a", "decimal", tr.exponent_sql(cur.value_sql))
    by_join = tr.amount_expr("a", "decimal", "e.exponent")
    got = duck.execute(
        f"SELECT {by_subquery.value_sql}, {by_subquery.error_sql}, "
        f"{by_join.value_sql}, {by_join.error_sql} "
        f"FROM ({rows}) t(i, a, c) LEFT JOIN currency_exponents e ON e.currency = {cur.value_sql} "
        "ORDER BY i"
    ).fetchall()
    assert got == [
        (1250, None, 1250, None),
        (1234, None, 1234, None),
        (None, "invalid_amount", None, "invalid_amount"),
        (125, None, 125, None),
        (None, "invalid_currency", None, "invalid_currency"),
    ]


def _as_decimal(n: int, exponent: int, thousands: str | None) -> str:
    """``n`` minor units written the way a bank export would: exact integer arithmetic."""
    whole, fraction = divmod(abs(n), 10**exponent)
    text = f"{whole:,}" if thousands else str(whole)
    if thousands:
        text = text.replace(",", thousands)
    if exponent:
        text += tr.decimal_mark(thousands) + str(fraction).zfill(exponent)
    return ("-" if n < 0 else "") + text


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
            st.sampled_from(currencies.supported_currencies()),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([None, *tr.THOUSANDS_SEPARATORS]),
)
def test_formatting_minor_units_as_a_decimal_and_parsing_gives_them_back(
    cases: list[tuple[int, str]], thousands: str | None
) -> None:
    duck = duckdb.connect(":memory:")
    tr.create_currency_table(duck)
    texts = [(_as_decimal(n, currencies.exponent(c), thousands), c) for n, c in cases]
    parsed = tr.amount_expr("a", "decimal", tr.exponent_sql("c"), thousands)
    duck.execute("CREATE TABLE t (i INTEGER, a VARCHAR, c VARCHAR)")
    duck.executemany(
        "INSERT INTO t VALUES (?, ?, ?)", [(i, a, c) for i, (a, c) in enumerate(texts)]
    )
    got = duck.execute(
        f"SELECT {parsed.value_sql}, {parsed.error_sql} FROM t ORDER BY i"
    ).fetchall()
    assert got == [(n, None) for n, _ in cases]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=-(10**14), max_value=10**14), min_size=1, max_size=30))
def test_unix_ms_floors_like_integer_division(values: list[int]) -> None:
    duck = duckdb.connect(":memory:")
    parsed = tr.timestamp_expr("v", DateFormat("unix_ms"))
    rows = duck.execute(
        f"SELECT {parsed.value_sql} FROM (SELECT unnest(?) AS v, generate_subscripts(?, 1) AS i) "
        "ORDER BY i",
        [[str(v) for v in values], values],
    ).fetchall()
    assert [r[0] for r in rows] == [v // 1000 for v in values]


@pytest.mark.parametrize(
    ("text", "fmt", "tz", "expected"),
    [
        ("1700000000", "unix", "UTC", (1_700_000_000, None)),
        ("-1", "unix", "UTC", (-1, None)),
        ("1700000000", "unix", PARIS, (1_700_000_000, None)),  # instants have no zone
        ("1.5", "unix", "UTC", (None, "invalid_date")),
        ("1234567890123", "unix", "UTC", (None, "invalid_date")),
        ("1700000000999", "unix_ms", "UTC", (1_700_000_000, None)),
        ("-1", "unix_ms", "UTC", (-1, None)),
        ("2024-03-31T02:30:00Z", "iso8601", PARIS, (1_711_852_200, None)),
        ("2024-03-31T02:30:00+02:00", "iso8601", "UTC", (1_711_845_000, None)),
        ("2024-03-31T02:30:00+0200", "iso8601", "UTC", (1_711_845_000, None)),
        ("2024-03-31T02:30:00-05", "iso8601", "UTC", (1_711_870_200, None)),
        ("2024-03-31 02:30:00.999999Z", "iso8601", "UTC", (1_711_852_200, None)),
        ("2024-03-31 02:30:00.9999999999Z", "iso8601", "UTC", (None, "invalid_date")),
        ("2024-03-31 02:30:59.999999999", "iso8601", "UTC", (1_711_852_259, None)),
        ("31/03/2024 02:30:59.999999", "%d/%m/%Y %H:%M:%S.%f", "UTC", (1_711_852_259, None)),
        ("1969-12-31T23:59:59.5Z", "iso8601", "UTC", (-1, None)),
        ("2024-01-15", "iso8601", PARIS, (1_705_273_200, None)),  # midnight, UTC+1
        ("2024-07-15T12:00", "iso8601", PARIS, (1_721_037_600, None)),  # UTC+2
        # Spring forward: 02:00-03:00 does not exist; read with the offset before the
        # gap, so 02:30 lands where 03:30 CEST does.
        ("2024-03-31 01:59:59", "iso8601", PARIS, (1_711_846_799, None)),
        ("2024-03-31 02:30", "iso8601", PARIS, (1_711_848_600, None)),
        ("2024-03-31 03:30", "iso8601", PARIS, (1_711_848_600, None)),
        # Fall back: 02:30 happens twice; the later (standard time) one is taken.
        ("2024-10-27 02:30", "iso8601", PARIS, (1_729_992_600, None)),
        ("2024-10-27 01:30", "iso8601", PARIS, (1_729_985_400, None)),
        ("2024-02-30", "iso8601", "UTC", (None, "invalid_date")),
        ("Jan 5 2024", "iso8601", "UTC", (None, "invalid_date")),
        ("2024-01-05 10:00 Europe/Paris", "iso8601", "UTC", (None, "invalid_date")),
        ("2024-01-05T10:00:00+02:00", "iso8601", PARIS, (1_704_441_600, None)),
        ("31/03/2024", "%d/%m/%Y", PARIS, (1_711_839_600, None)),  # still CET at midnight
        ("31/03/2024 02:30", "%d/%m/%Y %H:%M", PARIS, (1_711_848_600, None)),
        ("31/03/2024 10:00 +0200", "%d/%m/%Y %H:%M %z", "UTC", (1_711_872_000, None)),
        ("31/13/2024", "%d/%m/%Y", "UTC", (None, "invalid_date")),
        ("", "iso8601", "UTC", (None, None)),
        (None, "%d/%m/%Y", "UTC", (None, None)),
    ],
)
def test_timestamps(
    duck: duckdb.DuckDBPyConnection,
    text: str | None,
    fmt: str,
    tz: str,
    expected: tuple[int | None, str | None],
) -> None:
    assert evaluate(duck, tr.timestamp_expr("v", DateFormat(fmt, tz)), text) == expected


def test_timestamps_do_not_depend_on_the_session_time_zone() -> None:
    duck = duckdb.connect(":memory:")
    duck.execute("SET TimeZone = 'Asia/Tokyo'")
    naive = tr.timestamp_expr("v", DateFormat("iso8601", "UTC"))
    assert evaluate(duck, naive, "2024-01-01 00:00") == (1_704_067_200, None)
    assert evaluate(duck, naive, "2024-01-01T00:00:00Z") == (1_704_067_200, None)


def test_a_required_date_that_is_missing_is_reported(duck: duckdb.DuckDBPyConnection) -> None:
    parsed = tr.timestamp_expr("v", DateFormat("iso8601"), required=True)
    assert evaluate(duck, parsed, " ") == (None, "missing_value")


@pytest.mark.parametrize(
    ("text", "allowed", "expected"),
    [
        ("usd", (), ("usd", None)),
        (" EUR ", (), ("eur", None)),
        ("xxx", (), (None, "invalid_currency")),
        ("us dollars", (), (None, "invalid_currency")),
        ("eur", ("usd",), (None, "currency_not_allowed")),
        ("USD", ("usd", "eur"), ("usd", None)),
        ("", (), (None, None)),
    ],
)
def test_currencies(
    duck: duckdb.DuckDBPyConnection,
    text: str,
    allowed: tuple[str, ...],
    expected: tuple[str | None, str | None],
) -> None:
    assert evaluate(duck, tr.currency_expr("v", allowed=allowed), text) == expected


def test_a_required_currency_that_is_missing_is_reported(
    duck: duckdb.DuckDBPyConnection,
) -> None:
    assert evaluate(duck, tr.currency_expr("v", required=True), "") == (None, "missing_value")


def test_the_currency_table_is_remits(duck: duckdb.DuckDBPyConnection) -> None:
    tr.create_currency_table(duck)  # again: replacing it is harmless
    rows = duck.execute("SELECT currency, exponent FROM currency_exponents ORDER BY 1").fetchall()
    assert rows == [(c, currencies.exponent(c)) for c in currencies.supported_currencies()]
    assert ("jpy", 0) in rows and ("kwd", 3) in rows and ("isk", 2) in rows


STATUS = {"OPEN": "open", "PAID": "paid", "it's": "quoted"}


@pytest.mark.parametrize(
    ("mapping", "text", "expected"),
    [
        (FieldMapping("email", "e"), " a@b.c ", (" a@b.c ", None)),
        (FieldMapping("email", "e"), "", (None, None)),
        (FieldMapping("email", "e", "trim"), " a@b.c ", ("a@b.c", None)),
        (FieldMapping("status", "s", "lower"), " PAID ", ("paid", None)),
        (FieldMapping("status", "s", "upper"), "paid", ("PAID", None)),
        (FieldMapping("status", "s", "map", values=STATUS), "PAID", ("paid", None)),
        (FieldMapping("status", "s", "map", values=STATUS), " OPEN ", ("open", None)),
        (FieldMapping("status", "s", "map", values=STATUS), "it's", ("quoted", None)),
        (FieldMapping("status", "s", "map", values=STATUS), "paid", (None, "unmapped_value")),
        (FieldMapping("status", "s", "map", values=STATUS), "", (None, None)),
        (FieldMapping("amount_due", "a", "minor"), "0012", ("12", None)),
        (FieldMapping("amount_due", "a", "minor"), "12.00", (None, "invalid_amount")),
        (
            FieldMapping("amount_due", "a", "decimal", default_currency="jpy"),
            "1,234",
            (None, "invalid_amount"),
        ),
        (
            FieldMapping("amount_due", "a", "decimal", default_currency="usd"),
            "12.3",
            ("1230", None),
        ),
        (
            FieldMapping("created", "c", "timestamp", date_format=DateFormat("iso8601", PARIS)),
            "2024-01-15",
            ("1705273200", None),
        ),
        (
            FieldMapping("created", "c", "timestamp", date_format=DateFormat("iso8601")),
            "yesterday",
            (None, "invalid_date"),
        ),
    ],
)
def test_fields_in_the_platforms_vocabulary(
    duck: duckdb.DuckDBPyConnection,
    mapping: FieldMapping,
    text: str,
    expected: tuple[str | None, str | None],
) -> None:
    assert evaluate(duck, tr.field_expr("v", mapping, None), text) == expected


def test_a_decimal_field_reads_each_rows_currency(duck: duckdb.DuckDBPyConnection) -> None:
    mapping = FieldMapping("amount_due", "a", "decimal", currency_column="c")
    parsed = tr.field_expr("a", mapping, tr.quote_ident("c"))
    got = duck.execute(
        f"SELECT {parsed.value_sql}, {parsed.error_sql} "
        "FROM (VALUES (1, '12.5', 'USD'), (2, '1234', 'jpy'), (3, '1', 'nope')) t(i, a, c) "
        "ORDER BY i"
    ).fetchall()
    assert got == [("1250", None), ("1234", None), (None, "invalid_currency")]


def test_a_decimal_field_without_a_currency_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="currency"):
        tr.field_expr("v", FieldMapping("amount_due", "a", "decimal"), None)


@pytest.mark.parametrize("name", ['amount"; DROP TABLE t; --', "Montant (€)", 'a""b', "select"])
def test_quoted_identifiers_and_literals_stay_what_they_are(
    duck: duckdb.DuckDBPyConnection, name: str
) -> None:
    text = name + "\\'"  # a backslash and a quote: neither may end the literal
    got = duck.execute(
        f"SELECT {tr.quote_ident(name)}, {tr.quote_literal(text)} "
        f"FROM (SELECT 42 AS {tr.quote_ident(name)})"
    ).fetchone()
    assert got == (42, text)


def test_nul_cannot_be_quoted() -> None:
    with pytest.raises(ValueError):
        tr.quote_ident("a\x00b")
    with pytest.raises(ValueError):
        tr.quote_literal("a\x00b")


def test_strptime_directives_skip_literal_percent_signs() -> None:
    assert tr.strptime_directives("%d/%-m/%Y %%z 100%") == ["%d", "%-m", "%Y", "%"]
