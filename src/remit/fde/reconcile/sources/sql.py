"""A table (or view) of any database SQLAlchemy reaches: a customer's PostgreSQL, a SQLite
file. ``sql:postgresql://u@h/db#schema.table``; the table may instead come from the rules.

Rows are read in primary-key order (every column's when there is no key), so the same
table gives the same line numbers and fingerprint twice; they stream in batches of
``BATCH_ROWS`` through a server-side cursor on PostgreSQL (incremental fetches on
SQLite). Values reach DuckDB as exact text, converted from what the driver returns
rather than from SQLAlchemy's types (which would turn a SQLite NUMERIC into a float):
numerics as their decimal digits, booleans true/false, timestamps ISO 8601 (with their
offset when the column has a zone; the session runs in UTC so that offset is +00:00),
JSON values as compact JSON. The fingerprint hashes the rows as they stream
(``RowDigest``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources.base import (
    RawSource,
    RowDigest,
    SourceContext,
    invalid_source,
    string_batch,
    unreadable,
)

BATCH_ROWS = 50_000


class SqlKind:
    name = "sql"

    def open(self, spec: SourceSpec, sctx: SourceContext, table: str | None) -> RawSource:
        url = _url(spec.location)
        shown = url.render_as_string(hide_password=True)
        engine = _engine(url)
        reflected = _reflect(engine, _table_name(spec, table), shown)
        columns = tuple(column.name for column in reflected.columns)
        digest = RowDigest(lambda: _batches(engine, reflected, columns, shown))
        return RawSource(columns, 1, None, digest.batches, digest.fingerprint)


def _url(location: str) -> sa.URL:
    try:
        url = sa.make_url(location)
    except sa.exc.ArgumentError:
        raise invalid_source(
            "sql: needs a SQLAlchemy URL, such as sql:postgresql://user@host/db#table."
        ) from None
    if url.get_backend_name() == "postgresql" and url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")  # the driver remit ships with
    on_disk = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
    # SQLite would create a missing file; a missing file is a wrong path.
    if on_disk and not Path(str(url.database)).is_file():
        raise unreadable(f"No SQLite database at {url.database}.")
    return url


def _engine(url: sa.URL) -> sa.Engine:
    connect_args: dict[str, Any] = {}
    if url.get_backend_name() == "postgresql":
        connect_args["options"] = "-c TimeZone=UTC"
    return sa.create_engine(url, poolclass=NullPool, connect_args=connect_args)


def _table_name(spec: SourceSpec, table: str | None) -> str:
    named = spec.options.get("table")
    if named and table and named != table:
        raise invalid_source(
            f"The source names table {named!r} and the rules name {table!r}: keep one.",
            param="table",
        )
    chosen = named or table
    if not chosen:
        raise invalid_source(
            "Name the table to read: sql:URL#table, or table: in the rules.", param="table"
        )
    return chosen


def _reflect(engine: sa.Engine, name: str, shown: str) -> sa.Table:
    schema, _, table = name.rpartition(".")
    try:
        return sa.Table(table, sa.MetaData(), schema=schema or None, autoload_with=engine)
    except sa.exc.NoSuchTableError:
        raise unreadable(f"No table {name!r} in {shown}.") from None
    except sa.exc.SQLAlchemyError as exc:
        raise unreadable(f"Cannot read {name!r} in {shown}: {_reason(exc)}") from None


def _reason(exc: sa.exc.SQLAlchemyError) -> str:
    origin = getattr(exc, "orig", None) or exc
    text = str(origin).strip()
    return text.splitlines()[0] if text else type(origin).__name__


def _order(table: sa.Table) -> list[sa.ColumnElement[Any]]:
    """The primary key, else every column that has an ordering (JSON has none)."""
    keys = list(table.primary_key.columns)
    if keys:
        return list(keys)
    return [c for c in table.columns if not isinstance(c.type, sa.JSON | sa.ARRAY)]


def _batches(
    engine: sa.Engine, table: sa.Table, columns: tuple[str, ...], shown: str
) -> Iterator[pa.RecordBatch]:
    # NullType: the driver's own values, untouched by SQLAlchemy's result processing.
    stmt = sa.select(*(sa.type_coerce(c, sa.types.NullType()) for c in table.columns))
    stmt = stmt.order_by(*_order(table))
    converters = [_converter(c.type) for c in table.columns]
    try:
        with engine.connect() as conn:
            result = conn.execute(stmt, execution_options={"yield_per": BATCH_ROWS})
            for rows in result.partitions():
                values = zip(*rows, strict=True)
                texts = [convert(col) for convert, col in zip(converters, values, strict=True)]
                yield string_batch(columns, texts)
    except sa.exc.SQLAlchemyError as exc:
        raise unreadable(f"Cannot read {table.fullname!r} in {shown}: {_reason(exc)}") from None


Converter = Callable[[Sequence[Any]], list[str | None]]


def _converter(column_type: sa.types.TypeEngine[Any]) -> Converter:
    # SQLite stores booleans as 0/1: the declared type says they are booleans.
    as_bool = isinstance(column_type, sa.Boolean)

    def convert(values: Sequence[Any]) -> list[str | None]:
        return [v if type(v) is str else as_text(v, as_bool) for v in values]

    return convert


def as_text(value: Any, as_bool: bool = False) -> str | None:
    """One database value as exact text."""
    if value is None:
        return None
    if isinstance(value, bool) or (as_bool and value in (0, 1)):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")  # never exponent notation: "1E+2" would not parse
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return str(value)
