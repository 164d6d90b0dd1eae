"""Loading one side into DuckDB: the source's rows as text (``<side>_raw``), then, in
transaction mode, parsed into canonical records (``<side>_records``) with every value
that does not parse reported in ``rejects`` with its line, never dropped.

Everything after opening the source is set-based: a file is read by DuckDB itself, a
batch source is appended one bounded Arrow batch at a time, and parsing is one
INSERT ... SELECT for the records and one for the rejects over a parsed copy, so a
side larger than memory spills to DuckDB's temp directory instead of growing Python.
Parsing uses DuckDB's functions beyond the portable subset (``transforms``): this is
the edge where text becomes amounts, currencies and times.

Problems with the input as a whole are raised, not turned into rejects: an unknown
kind (``unknown_source``), columns the mapping names that the source lacks (one error
listing them all, ``missing_columns``) and repeated column names before any row is
loaded; no rows at all (``empty_source``) once the source has been read. Only DuckDB
tables are written by then: nothing in the state store.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from remit.fde.reconcile.load_parse import check_mapping, create_rejects, parse_records, scalar
from remit.fde.reconcile.model import Side, SideLoad, SideMapping, SourceSpec
from remit.fde.reconcile.sources import RawSource, SourceContext, kind_of
from remit.fde.reconcile.sources.files import READ_ERRORS
from remit.fde.reconcile.transforms import quote_ident
from remit.primitives.errors import InvalidRequestError

__all__ = ["Progress", "create_rejects", "load_raw", "load_records"]

Progress = Callable[[str, int, int | None], None]

LINE_NO = "line_no"
# The YAML's ``columns:`` key for each SideMapping field, which is what a param names.
MAPPED_FIELDS = (
    ("id", "record_id"), ("amount", "amount"), ("currency", "currency"), ("date", "date"),
    ("reference", "reference"), ("group_ref", "group_ref"), ("description", "description"),
)  # fmt: skip


def load_raw(
    duck: duckdb.DuckDBPyConnection,
    side: Side,
    spec: SourceSpec,
    sctx: SourceContext,
    *,
    table: str | None = None,
    progress: Progress | None = None,
) -> SideLoad:
    """Table ``<side>_raw``: ``line_no`` BIGINT, then every source column as VARCHAR under
    its own name, in the source's order. ``table`` is the rules' table (SQL sources)."""
    raw = _open(side, spec, sctx, table)
    rows = _materialize(duck, side, raw, progress)
    return SideLoad(side, spec, rows, 0, raw.fingerprint())


def load_records(
    duck: duckdb.DuckDBPyConnection,
    side: Side,
    spec: SourceSpec,
    mapping: SideMapping,
    sctx: SourceContext,
    *,
    progress: Progress | None = None,
) -> SideLoad:
    """``load_raw``, then ``<side>_records`` (model.RECORD_COLUMNS) from the rows that
    parse and ``rejects`` (model.REJECT_COLUMNS) for the others, one per (row, field);
    a side's earlier rejects are replaced."""
    check_mapping(side, mapping)
    raw = _open(side, spec, sctx, mapping.table)
    missing = [(key, getattr(mapping, f)) for key, f in MAPPED_FIELDS if _absent(raw, mapping, f)]
    if missing:
        names = ", ".join(f"{key} ({column!r})" for key, column in missing)
        raise InvalidRequestError(
            f"The {side} source has no column for {names}; its columns are: "
            f"{_listing(raw.columns)}.",
            code="missing_columns",
            param=f"{side}.columns.{missing[0][0]}",
        )
    rows = _materialize(duck, side, raw, progress)
    rejected = parse_records(duck, side, mapping)
    if progress is not None:
        progress(f"{side}: parsed", rows, rows)
    return SideLoad(side, spec, rows, rejected, raw.fingerprint())


def _absent(raw: RawSource, mapping: SideMapping, field: str) -> bool:
    column = getattr(mapping, field)
    return column is not None and column not in raw.columns


def _listing(columns: tuple[str, ...], limit: int = 30) -> str:
    shown = ", ".join(repr(c) for c in columns[:limit])
    return shown + (f" and {len(columns) - limit} more" if len(columns) > limit else "")


def _open(side: Side, spec: SourceSpec, sctx: SourceContext, table: str | None) -> RawSource:
    raw = kind_of(spec, sctx.pm).open(spec, sctx, table)
    if not raw.columns:
        raise _empty(side)
    # DuckDB's identifiers ignore case: "ID" and "id" would be one column to it.
    seen: set[str] = {LINE_NO}
    clashes = []
    for name in raw.columns:
        if name.lower() in seen:
            clashes.append(name)
        seen.add(name.lower())
    if clashes:
        raise InvalidRequestError(
            f"The {side} source repeats column names (ignoring case, and {LINE_NO} is "
            f"the loader's own): {_listing(tuple(clashes))}.",
            code="duplicate_columns",
            param=side,
        )
    return raw


def _empty(side: Side) -> InvalidRequestError:
    return InvalidRequestError(
        f"The {side} source has no rows: there is nothing to reconcile.",
        code="empty_source",
        param=side,
    )


def _materialize(
    duck: duckdb.DuckDBPyConnection, side: Side, raw: RawSource, progress: Progress | None
) -> int:
    name = f"{side}_raw"
    columns = ", ".join(quote_ident(c) for c in raw.columns)
    if raw.relation_sql is not None:
        # ROW_NUMBER() OVER () streams in scan order (insertion order is preserved).
        select = (
            f"SELECT CAST(ROW_NUMBER() OVER () AS BIGINT) + {raw.first_line - 1} AS {LINE_NO}, "
            f"{columns} FROM {raw.relation_sql}"
        )
        try:
            duck.execute(f"CREATE OR REPLACE TABLE {name} AS {select}")
        except READ_ERRORS as exc:
            raise InvalidRequestError(
                f"Cannot read the {side} source: {str(exc).strip().splitlines()[0]}",
                code="source_unreadable",
                param=side,
            ) from None
        if raw.multiline:
            _count_spanned_lines(duck, name, raw.columns)
    else:
        _append_batches(duck, name, raw, side, progress)
    rows = _count(duck, name)
    if rows == 0:
        raise _empty(side)
    if progress is not None:
        progress(f"{side}: loaded", rows, rows)
    return rows


def _append_batches(
    duck: duckdb.DuckDBPyConnection,
    name: str,
    raw: RawSource,
    side: Side,
    progress: Progress | None,
) -> None:
    assert raw.batches is not None
    typed = ", ".join(f"{quote_ident(c)} VARCHAR" for c in raw.columns)
    duck.execute(f"CREATE OR REPLACE TABLE {name} ({LINE_NO} BIGINT, {typed})")
    incoming = f"{name}_incoming"
    line = raw.first_line
    for batch in raw.batches():
        assert tuple(batch.schema.names) == raw.columns, "a batch with other columns"
        numbered = pa.Table.from_batches([batch]).add_column(
            0, LINE_NO, pa.array(range(line, line + batch.num_rows), type=pa.int64())
        )
        duck.register(incoming, numbered)
        try:
            duck.execute(f"INSERT INTO {name} SELECT * FROM {incoming}")
        finally:
            duck.unregister(incoming)
        line += batch.num_rows
        if progress is not None:
            progress(f"{side}: loading", line - raw.first_line, None)


def _count(duck: duckdb.DuckDBPyConnection, name: str) -> int:
    return scalar(duck, f"SELECT COUNT(*) FROM {name}")


def _count_spanned_lines(
    duck: duckdb.DuckDBPyConnection, name: str, columns: tuple[str, ...]
) -> None:
    """Move each row down by the newlines inside the values of the rows before it, so
    ``line_no`` is the line an editor shows the row starting on. Most files have no
    such value, and then the table is left as it is."""
    breaks = " + ".join(
        f"COALESCE(LENGTH({c}) - LENGTH(REPLACE({c}, CHR(10), '')), 0)"
        for c in (quote_ident(c) for c in columns)
    )
    if scalar(duck, f"SELECT COUNT(*) FROM {name} WHERE {breaks} > 0") == 0:
        return
    listed = ", ".join(quote_ident(c) for c in columns)
    frame = "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING"
    before = f"SUM(__breaks) OVER (ORDER BY {LINE_NO} {frame})"
    duck.execute(
        f"CREATE OR REPLACE TABLE {name}_lines AS "
        f"SELECT CAST({LINE_NO} + COALESCE({before}, 0) AS BIGINT) AS {LINE_NO}, {listed} "
        f"FROM (SELECT *, {breaks} AS __breaks FROM {name}) ORDER BY {LINE_NO}"
    )
    duck.execute(f"DROP TABLE {name}")
    duck.execute(f"ALTER TABLE {name}_lines RENAME TO {name}")
