"""SQL sources: a customer's table read in key order, streamed in batches, every value as
exact text; on a SQLite file and on a real PostgreSQL database."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from conftest import _postgres_database
from remit.analytics.engine import connect
from remit.fde.reconcile.load import load_raw
from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources import SourceContext, parse_source, sql
from remit.primitives.errors import InvalidRequestError

NO_STORE = SourceContext(store=None, account_id=None, pm=None, now=1_700_000_000)
ADMIN_URL = os.environ.get(
    "REMIT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def loaded(spec: SourceSpec, table: str | None = None) -> tuple[list[tuple[object, ...]], str]:
    duck = connect()
    found = load_raw(duck, "right", spec, NO_STORE, table=table)
    rows = duck.execute("SELECT * FROM right_raw ORDER BY line_no").fetchall()
    assert found.rows == len(rows)
    return rows, found.fingerprint


def refusal(spec: SourceSpec, table: str | None = None) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as caught:
        loaded(spec, table)
    return caught.value


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE invoices (id TEXT PRIMARY KEY, amount NUMERIC, paid BOOLEAN, "
            "synced_at DATETIME, note TEXT, cents INTEGER)"
        )
        conn.exec_driver_sql(
            "INSERT INTO invoices VALUES "
            "('inv_b', '12.50', 1, '2024-03-01 12:00:00', 'second', 1250), "
            "('inv_a', 7, 0, NULL, NULL, 700), "
            "('inv_c', NULL, NULL, '2024-03-02 08:00:00.500000', 'it''s', -5)"
        )
        conn.exec_driver_sql("CREATE TABLE events (kind TEXT, at INTEGER)")
        conn.exec_driver_sql("INSERT INTO events VALUES ('b', 2), ('a', 9), ('a', 1)")
    engine.dispose()
    return url


def test_a_sqlite_table_in_key_order_as_text(sqlite_url: str) -> None:
    rows, fingerprint = loaded(parse_source(f"sql:{sqlite_url}#invoices"))
    assert rows == [
        (1, "inv_a", "7", "false", None, None, "700"),
        (2, "inv_b", "12.5", "true", "2024-03-01 12:00:00", "second", "1250"),
        (3, "inv_c", None, None, "2024-03-02 08:00:00.500000", "it's", "-5"),
    ]
    assert loaded(parse_source(f"sql:{sqlite_url}"), table="invoices") == (rows, fingerprint)


def test_a_table_without_a_key_is_ordered_by_every_column(sqlite_url: str) -> None:
    rows, _ = loaded(parse_source(f"sql:{sqlite_url}#events"))
    assert rows == [(1, "a", "1"), (2, "a", "9"), (3, "b", "2")]


def test_batches_continue_the_line_numbers(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql, "BATCH_ROWS", 2)
    spec = parse_source(f"sql:{sqlite_url}#invoices")
    opened = sql.SqlKind().open(spec, NO_STORE, None)
    assert opened.batches is not None
    assert [b.num_rows for b in opened.batches()] == [2, 1]
    rows, _ = loaded(spec)
    assert [(r[0], r[1]) for r in rows] == [(1, "inv_a"), (2, "inv_b"), (3, "inv_c")]


def test_the_fingerprint_follows_the_rows(sqlite_url: str) -> None:
    spec = parse_source(f"sql:{sqlite_url}#invoices")
    _, before = loaded(spec)
    # Asked before any batch was read, the fingerprint makes its own pass.
    assert sql.SqlKind().open(spec, NO_STORE, None).fingerprint() == before
    engine = sa.create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE invoices SET note = 'changed' WHERE id = 'inv_c'")
    engine.dispose()
    assert loaded(spec)[1] != before


def test_the_table_must_be_named_once(sqlite_url: str) -> None:
    named = parse_source(f"sql:{sqlite_url}#invoices")
    assert refusal(named, table="payments").code == "invalid_source"
    assert refusal(parse_source(f"sql:{sqlite_url}")).param == "table"
    assert refusal(parse_source(f"sql:{sqlite_url}#nothing")).code == "source_unreadable"


def test_unreachable_databases_are_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "absent.db"
    assert refusal(parse_source(f"sql:sqlite:///{missing}#t")).code == "source_unreadable"
    assert not missing.exists()  # SQLite was not allowed to create it
    dead = parse_source("sql:postgresql://nobody@127.0.0.1:1/none#t")
    assert refusal(dead).code == "source_unreadable"
    assert refusal(SourceSpec("sql", "not a url", {"table": "t"})).code == "invalid_source"


def test_values_become_exact_text() -> None:
    utc = dt.UTC
    assert sql.as_text(Decimal("1E+2")) == "100"
    assert sql.as_text(Decimal("-0.050")) == "-0.050"
    assert sql.as_text(dt.datetime(2024, 3, 1, 12, tzinfo=utc)) == "2024-03-01T12:00:00+00:00"
    assert sql.as_text(dt.date(2024, 3, 1)) == "2024-03-01"
    assert sql.as_text(1, as_bool=True) == "true"
    assert sql.as_text(True) == "true"
    assert sql.as_text({"b": 1, "a": [1, "x"]}) == '{"a":[1,"x"],"b":1}'
    assert sql.as_text(b"\x00\xff") == "00ff"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    try:
        engine = sa.create_engine(sa.make_url(ADMIN_URL).set(drivername="postgresql+psycopg"))
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.OperationalError:
        if os.environ.get("CI"):
            raise
        pytest.skip("no PostgreSQL reachable")
    yield from _postgres_database(ADMIN_URL)


def test_a_postgresql_table_in_another_schema(postgres_url: str) -> None:
    engine = sa.create_engine(sa.make_url(postgres_url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE SCHEMA crm")
        conn.exec_driver_sql(
            "CREATE TABLE crm.invoices (id INTEGER PRIMARY KEY, amount NUMERIC(14, 2), "
            "big NUMERIC, paid BOOLEAN, synced_at TIMESTAMPTZ, booked TIMESTAMP, "
            "extra JSONB, status TEXT)"
        )
        conn.exec_driver_sql(
            "INSERT INTO crm.invoices VALUES "
            "(2, 12.30, 123456789012345678901234.5, true, '2024-03-01 07:00:00-05', "
            "'2024-03-01 12:00:00.25', '{\"b\": 1, \"a\": null}', 'PAID'), "
            "(1, -0.05, NULL, false, NULL, NULL, NULL, 'OPEN')"
        )
    engine.dispose()
    rows, fingerprint = loaded(parse_source(f"sql:{postgres_url}#crm.invoices"))
    assert rows == [
        (1, "1", "-0.05", None, "false", None, None, None, "OPEN"),
        (2, "2", "12.30", "123456789012345678901234.5", "true", "2024-03-01T12:00:00+00:00",
         "2024-03-01T12:00:00.250000", '{"a":null,"b":1}', "PAID"),
    ]  # fmt: skip
    assert loaded(parse_source(f"sql:{postgres_url}#crm.invoices"))[1] == fingerprint
