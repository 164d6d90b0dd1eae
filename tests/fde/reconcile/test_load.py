"""Loading a side: rows that parse become canonical records, every other row is reported
in ``rejects`` with its line and field, and problems with the whole input are refused
before anything is parsed."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import pytest

from remit.analytics.engine import connect
from remit.fde.reconcile.load import load_records
from remit.fde.reconcile.model import DateFormat, SideMapping
from remit.fde.reconcile.sources import SourceContext, parse_source
from remit.primitives.errors import InvalidRequestError

NO_STORE = SourceContext(store=None, account_id=None, pm=None, now=1_700_000_000)
BANK = SideMapping(
    label="bank", record_id="id", amount="amount", currency="currency", date="date",
    reference="ref", description="memo", amount_format="decimal",
    date_format=DateFormat("%d/%m/%Y", "Europe/Paris"),
)  # fmt: skip
JAN_5_PARIS = 1_704_409_200  # 2024-01-05T00:00:00+01:00


def write(tmp_path: Path, text: str, name: str = "bank.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load(
    path: str, mapping: SideMapping = BANK, duck: duckdb.DuckDBPyConnection | None = None
) -> tuple[duckdb.DuckDBPyConnection, int, int]:
    duck = duck or connect()
    found = load_records(duck, "left", parse_source(path), mapping, NO_STORE)
    return duck, found.rows, found.rejected


def rejects(duck: duckdb.DuckDBPyConnection) -> list[tuple[object, ...]]:
    return duck.execute(
        "SELECT side, line_no, field, value, code FROM rejects ORDER BY line_no, field"
    ).fetchall()


def records(duck: duckdb.DuckDBPyConnection, side: str = "left") -> list[tuple[object, ...]]:
    return duck.execute(f"SELECT * FROM {side}_records ORDER BY line_no").fetchall()


def test_bad_values_are_reported_on_their_line_and_the_rest_loads(tmp_path: Path) -> None:
    rows = [f"T{n},{n}.00,EUR,05/01/2024,R{n},note {n}" for n in range(2, 12)]
    rows[5 - 2] = "T5,12.3.4,EUR,05/01/2024,R5,bad amount"
    rows[9 - 2] = "T9,9.00,EUR,31/02/2024,R9,bad date"
    path = write(tmp_path, "id,amount,currency,date,ref,memo\n" + "\n".join(rows) + "\n")
    duck, total, rejected = load(path)
    assert (total, rejected) == (10, 2)
    assert rejects(duck) == [
        ("left", 5, "amount", "12.3.4", "invalid_amount"),
        ("left", 9, "date", "31/02/2024", "invalid_date"),
    ]
    loaded = records(duck)
    assert [r[0] for r in loaded] == [2, 3, 4, 6, 7, 8, 10, 11]
    assert loaded[0] == (2, "T2", 200, "eur", JAN_5_PARIS, "R2", None, "note 2")
    message = duck.execute("SELECT message FROM rejects WHERE line_no = 9").fetchall()
    assert message == [("'31/02/2024' is not a date in the format %d/%m/%Y",)]


def test_every_missing_column_is_named_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "id,Amount,currency,when\nT1,1,usd,05/01/2024\n")
    duck = connect()
    with pytest.raises(InvalidRequestError) as caught:
        load(path, duck=duck)
    error = caught.value
    assert (error.code, error.param) == ("missing_columns", "left.columns.amount")
    for named in ("amount ('amount')", "date ('date')", "reference ('ref')", "'Amount'"):
        assert named in error.message
    # Nothing was loaded for a mapping that cannot work.
    assert duck.execute("SELECT COUNT(*) FROM duckdb_tables()").fetchall() == [(0,)]


def test_an_empty_source_is_refused(tmp_path: Path) -> None:
    for content in ("", "id,amount,currency,date,ref,memo\n"):
        with pytest.raises(InvalidRequestError) as caught:
            load(write(tmp_path, content))
        assert (caught.value.code, caught.value.param) == ("empty_source", "left")


def test_quoted_fields_keep_their_commas_and_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "id,amount,currency,date,ref,memo\n"
        'T1,"1,234.50",usd,05/01/2024,R1,"rent, January"\n'
        'T2,3.00,usd,05/01/2024,R2,"two\nlines"\n'
        "T3,x,usd,05/01/2024,R3,after\n",
    )
    duck, total, rejected = load(path)
    assert (total, rejected) == (3, 2)
    # Without a thousands separator in the rules, "1,234.50" is no amount.
    assert rejects(duck) == [
        ("left", 2, "amount", "1,234.50", "invalid_amount"),
        ("left", 5, "amount", "x", "invalid_amount"),
    ]
    assert records(duck)[0][-1] == "two\nlines"


def test_mixed_currencies_against_the_allow_list(tmp_path: Path) -> None:
    mapping = SideMapping(
        label="processor", amount="amount", currency="currency", date="created",
        currencies=("usd", "JPY"),
    )  # fmt: skip
    path = write(
        tmp_path,
        "amount,currency,created\n"
        "1000,USD,1704067200\n500,jpy,1704067201\n700,eur,1704067202\n300,XYZ,1704067203\n"
        "100,,1704067204\n",
    )
    duck, total, rejected = load(path, mapping)
    assert (total, rejected) == (5, 3)
    assert rejects(duck) == [
        ("left", 4, "currency", "eur", "currency_not_allowed"),
        ("left", 5, "currency", "XYZ", "invalid_currency"),
        ("left", 6, "currency", None, "missing_value"),
    ]
    # Without an id column a record is known by its line.
    assert records(duck) == [
        (2, "L2", 1000, "usd", 1_704_067_200, None, None, None),
        (3, "L3", 500, "jpy", 1_704_067_201, None, None, None),
    ]


def test_default_currency_negate_and_group_reference(tmp_path: Path) -> None:
    mapping = SideMapping(
        label="bank", record_id="id", amount="amount", date="date", group_ref="payout",
        default_currency="usd", negate=True, date_format=DateFormat("iso8601"),
    )  # fmt: skip
    path = write(
        tmp_path,
        "id,amount,date,payout\n a1 ,-1500,2024-01-01T10:00:00Z,po_1\n,20,2024-01-01,\n",
    )
    duck, total, rejected = load(path, mapping)
    assert (total, rejected) == (2, 1)
    assert records(duck) == [(2, "a1", 1500, "usd", 1_704_103_200, None, "po_1", None)]
    assert rejects(duck) == [("left", 3, "id", None, "missing_value")]


def test_rules_that_cannot_parse_a_side_are_refused_first(tmp_path: Path) -> None:
    path = write(tmp_path, "amount,date\n1,1704067200\n")
    no_currency = SideMapping(label="bank", amount="amount", date="date")
    with pytest.raises(InvalidRequestError) as caught:
        load(path, no_currency)
    assert (caught.value.code, caught.value.param) == ("missing_columns", "left.columns.currency")
    outside = SideMapping(
        label="bank", amount="amount", date="date", default_currency="gbp", currencies=("usd",)
    )
    with pytest.raises(InvalidRequestError) as caught:
        load(path, outside)
    assert caught.value.param == "left.default_currency"


def test_reloading_a_side_replaces_its_rejects_only(tmp_path: Path) -> None:
    mapping = SideMapping(label="x", amount="amount", date="date", default_currency="usd")
    path = write(tmp_path, "amount,date\nbad,1704067200\n5,1704067200\n")
    duck = connect()
    load_records(duck, "right", parse_source(path), mapping, NO_STORE)
    load(path, mapping, duck)
    load(path, mapping, duck)
    assert sorted(r[:3] for r in rejects(duck)) == [("left", 2, "amount"), ("right", 2, "amount")]
    assert records(duck, "right") == records(duck)


def test_progress_is_reported(tmp_path: Path) -> None:
    mapping = SideMapping(label="x", amount="amount", date="date", default_currency="usd")
    path = write(tmp_path, "amount,date\n1,1704067200\n2,1704067200\n")
    seen: list[tuple[str, int, int | None]] = []
    load_records(
        connect(), "left", parse_source(path), mapping, NO_STORE,
        progress=lambda stage, done, total: seen.append((stage, done, total)),
    )  # fmt: skip
    assert seen == [("left: loaded", 2, 2), ("left: parsed", 2, 2)]


def test_a_side_larger_than_the_memory_limit_streams(tmp_path: Path) -> None:
    rows = 1_000_000
    path = tmp_path / "big.csv"
    maker = duckdb.connect()
    maker.execute(
        f"""COPY (SELECT 'T' || i AS id,
                         CAST(i % 100000 AS VARCHAR) || '.'
                             || LPAD(CAST(i % 100 AS VARCHAR), 2, '0') AS amount,
                         CASE WHEN i % 3 = 0 THEN 'EUR' ELSE 'usd' END AS currency,
                         CAST(1704067200 + i AS VARCHAR) AS created,
                         'ref-' || i AS ref,
                         'payment ' || i AS memo
                  FROM range({rows}) t(i))
            TO '{path}' (HEADER)"""
    )
    maker.close()
    mapping = SideMapping(
        label="bank", record_id="id", amount="amount", currency="currency", date="created",
        reference="ref", description="memo", amount_format="decimal",
    )  # fmt: skip
    duck = connect(memory_limit="64MB", temp_dir=tmp_path / "spill")
    started = time.perf_counter()
    found = load_records(duck, "left", parse_source(str(path)), mapping, NO_STORE)
    elapsed = time.perf_counter() - started
    assert (found.rows, found.rejected) == (rows, 0)
    assert elapsed < 20, elapsed
    sample = duck.execute(
        "SELECT line_no, record_id, amount, currency, ts FROM left_records "
        "WHERE line_no IN (2, 777779, 1000001) ORDER BY line_no"
    ).fetchall()
    assert sample == [
        (2, "T0", 0, "eur", 1_704_067_200),
        (777_779, "T777777", 7_777_777, "eur", 1_704_067_200 + 777_777),
        (1_000_001, "T999999", 9_999_999, "eur", 1_704_067_200 + 999_999),
    ]
    misplaced = duck.execute(
        "SELECT COUNT(*) FROM left_records WHERE record_id <> 'T' || CAST(line_no - 2 AS VARCHAR)"
    ).fetchall()
    assert misplaced == [(0,)]
