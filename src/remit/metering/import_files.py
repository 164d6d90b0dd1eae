"""Meter event files (CSV, NDJSON, Parquet) read as bounded chunks of text columns.

A file holds one event per row: ``event_name``, ``timestamp`` (Unix seconds or RFC
3339 with a time zone), an optional ``identifier``, and the payload, either as a
``payload`` column (a JSON object: JSON text in CSV, a struct or JSON text in
Parquet, an object in NDJSON, Stripe's v2 shape) or, when there is no ``payload``
column, as every other column (a column name is a payload key). NDJSON always uses
the ``payload`` object. Payload values are text; integers and decimals are taken as
written, floating-point and boolean columns are refused (a float has no exact text).
A null or empty value is an absent key.

Rows are numbered from 1: the Nth data record of a CSV file (header aside) or Parquet
file, the Nth line of an NDJSON file (blank lines are skipped but keep their number).
``read_chunks`` yields ``RawChunk`` of at most ``chunk_rows`` rows, in row order, from
the first row after ``after_row``, holding at most one chunk (plus one read block) in
memory. Nothing here judges the values: ``import_rows`` does, the same way for every
format. A file the import cannot read at all (no such file, a required column
missing) raises ``InvalidRequestError`` before anything is written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from remit.metering import import_ndjson, import_payloads
from remit.metering.import_payloads import RawChunk, json_payload_column
from remit.primitives.errors import InvalidRequestError

Format = Literal["csv", "ndjson", "parquet"]
FORMATS: tuple[Format, ...] = ("csv", "ndjson", "parquet")
EXTENSIONS: dict[str, Format] = {
    ".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".json": "ndjson",
    ".parquet": "parquet", ".pq": "parquet",
}  # fmt: skip
REQUIRED = ("event_name", "timestamp")
EVENT_COLUMNS = frozenset({"event_name", "identifier", "timestamp"})
MAX_PAYLOAD_COLUMNS = 50
MAX_KEY_CHARS = 100
SCAN_BLOCK_BYTES = 8 << 20
CSV_BLOCK_BYTES = 4 << 20


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What one pass over the bytes tells: the content's sha256 and its row count
    (exact for Parquet; for text formats the line count, a progress estimate)."""

    path: Path
    format: Format
    fingerprint: str
    size_bytes: int
    rows_estimate: int


def format_of(path: Path, given: str | None) -> Format:
    if given is not None:
        if given not in FORMATS:
            raise InvalidRequestError(
                f"Unknown format {given!r}: use csv, ndjson or parquet.", param="format"
            )
        return given
    found = EXTENSIONS.get(path.suffix.lower())
    if found is None:
        raise InvalidRequestError(
            f"Cannot tell the format of {path.name} from its extension: pass --format "
            "csv, ndjson or parquet.",
            param="format",
        )
    return found


def scan(path: Path, fmt: Format) -> FileFacts:
    """Fingerprint the file (and count its lines) in bounded blocks."""
    if not path.is_file():
        raise InvalidRequestError(f"No such file: {path}.", param="file")
    digest, newlines, size, last = hashlib.sha256(), 0, 0, b"\n"
    with path.open("rb") as handle:
        while block := handle.read(SCAN_BLOCK_BYTES):
            digest.update(block)
            newlines += block.count(b"\n")
            size += len(block)
            last = block[-1:]
    lines = newlines + (last != b"\n")
    if fmt == "parquet":
        rows = _parquet(path).metadata.num_rows
    else:
        rows = max(lines - 1, 0) if fmt == "csv" else lines
    return FileFacts(path, fmt, digest.hexdigest(), size, rows)


def inspect(facts: FileFacts) -> None:
    """Refuse, before anything is written, a file that cannot be imported as a whole."""
    if facts.format == "csv":
        check_columns(_csv_header(facts.path))
    elif facts.format == "parquet":
        _parquet_columns(_parquet(facts.path))
    else:
        import_ndjson.check_first_line(facts.path)


def read_chunks(facts: FileFacts, chunk_rows: int, after_row: int = 0) -> Iterator[RawChunk]:
    assert chunk_rows > 0 and after_row >= 0
    if facts.format == "csv":
        return _csv_chunks(facts.path, chunk_rows, after_row)
    if facts.format == "parquet":
        return _parquet_chunks(facts.path, chunk_rows, after_row)
    return import_ndjson.read_chunks(facts.path, chunk_rows, after_row)


def check_columns(names: list[str]) -> tuple[str, ...]:
    """The payload columns of a file with these columns; refuses a file that cannot be
    imported as a whole (a required column missing, ambiguous or oversized columns)."""
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise InvalidRequestError(
            f"The file has no {missing[0]} column; its columns are: {', '.join(names)[:200]}.",
            param=missing[0],
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise InvalidRequestError(f"The file repeats the column {repeated[0]}.", param="file")
    others = tuple(name for name in names if name not in EVENT_COLUMNS)
    if "payload" in others and len(others) > 1:
        extra = next(name for name in others if name != "payload")
        raise InvalidRequestError(
            f"The file has a payload column and another column {extra}: put every payload "
            "key in the payload object, or drop the payload column and give one column per key.",
            param=extra,
        )
    if len(others) > MAX_PAYLOAD_COLUMNS:
        raise InvalidRequestError(
            f"A payload can have at most {MAX_PAYLOAD_COLUMNS} keys; the file has "
            f"{len(others)} payload columns.",
            param="payload",
        )
    for name in others:
        if not name or len(name) > MAX_KEY_CHARS or "\x00" in name:
            raise InvalidRequestError(
                f"Payload keys must be 1 to {MAX_KEY_CHARS} characters, without NUL: column "
                f"{name[:40]!r}.",
                param="payload",
            )
    return others


# -- CSV ---------------------------------------------------------------------------------------
def _csv_chunks(path: Path, chunk_rows: int, after_row: int) -> Iterator[RawChunk]:
    names = _csv_header(path)
    payload_columns = check_columns(names)
    malformed: list[tuple[int, str]] = []

    def _skip(row: pacsv.InvalidRow) -> str:
        malformed.append((row.number or 0, f"expected {row.expected_columns} fields, found "
                          f"{row.actual_columns}: {(row.text or '')[:80]!r}"))  # fmt: skip
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(use_threads=False, block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=_skip),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )  # fmt: skip
    # Arrow reports malformed records as it parses, which may be ahead of the batch it
    # yields: each goes with the next chunk yielded, and the checkpoint remembers the
    # last line recorded (rather than a row) so that a resumed run skips exactly those.
    next_row = 1
    for table in _rechunk(reader, chunk_rows):
        first_row, next_row = next_row, next_row + table.num_rows
        if next_row - 1 <= after_row and not malformed:
            continue
        lines, malformed[:] = tuple(malformed), []
        if next_row - 1 <= after_row:
            table, first_row = table.slice(table.num_rows), next_row
        elif first_row <= after_row:
            table, first_row = table.slice(after_row - first_row + 1), after_row + 1
        yield replace(_table_chunk(table, first_row, payload_columns), malformed_lines=lines)
    if malformed:
        empty = _table_chunk(_empty(names), next_row, payload_columns)
        yield replace(empty, malformed_lines=tuple(malformed))


def _empty(names: list[str]) -> pa.Table:
    return pa.table({name: pa.array([], pa.string()) for name in names})


def _csv_header(path: Path) -> list[str]:
    try:
        reader = pacsv.open_csv(
            path,
            read_options=pacsv.ReadOptions(use_threads=False, block_size=1 << 16),
            parse_options=pacsv.ParseOptions(
                newlines_in_values=True, invalid_row_handler=lambda _row: "skip"
            ),
        )
    except pa.ArrowInvalid as error:
        raise InvalidRequestError(f"The file is not CSV: {error}", param="file") from None
    names = list(reader.schema.names)
    reader.close()
    return names


def _rechunk(reader: pa.RecordBatchReader, chunk_rows: int) -> Iterator[pa.Table]:
    """Batches regrouped into tables of exactly ``chunk_rows`` rows (the last: fewer)."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in reader:
        pending.append(batch)
        count += batch.num_rows
        while count >= chunk_rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, chunk_rows)
            rest = table.slice(chunk_rows)
            pending, count = rest.to_batches(), rest.num_rows
    if count:
        yield pa.Table.from_batches(pending)


# -- Parquet -----------------------------------------------------------------------------------
def _parquet(path: Path) -> pq.ParquetFile:
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as error:
        raise InvalidRequestError(f"The file is not Parquet: {error}", param="file") from None


def _parquet_columns(source: pq.ParquetFile) -> tuple[str, ...]:
    schema = source.schema_arrow
    payload_columns = check_columns(list(schema.names))
    for name in schema.names:
        import_payloads.check_type(name, schema.field(name).type)
    return payload_columns


def _parquet_chunks(path: Path, chunk_rows: int, after_row: int) -> Iterator[RawChunk]:
    source = _parquet(path)
    payload_columns = _parquet_columns(source)
    groups, first_row = [], 1
    for index in range(source.metadata.num_row_groups):
        rows = source.metadata.row_group(index).num_rows
        if first_row + rows - 1 > after_row:
            groups.append(index)
        else:
            first_row += rows
    if not groups:
        return
    batches = source.iter_batches(batch_size=chunk_rows, row_groups=groups)
    for table in _rechunk(batches, chunk_rows):
        chunk_first, first_row = first_row, first_row + table.num_rows
        if first_row - 1 <= after_row:
            continue
        if chunk_first <= after_row:
            table, chunk_first = table.slice(after_row - chunk_first + 1), after_row + 1
        yield _table_chunk(table, chunk_first, payload_columns)


# -- both --------------------------------------------------------------------------------------
def _table_chunk(table: pa.Table, first_row: int, payload_columns: tuple[str, ...]) -> RawChunk:
    rows = pa.array(np.arange(first_row, first_row + table.num_rows, dtype=np.int64))

    def text(name: str) -> pa.Array:
        if name not in table.column_names:
            return pa.nulls(table.num_rows, pa.string())
        return import_payloads.as_text(table.column(name))

    if payload_columns == ("payload",):
        column = table.column("payload").combine_chunks()
        if pa.types.is_struct(column.type):
            payload, problem = import_payloads.struct_payload(column)
            return RawChunk(rows, text("event_name"), text("identifier"), text("timestamp"),
                            payload, problem)  # fmt: skip
        return json_payload_column(
            rows, text("event_name"), text("identifier"), text("timestamp"), text("payload")
        )
    payload = tuple((name, text(name)) for name in payload_columns)
    return RawChunk(rows, text("event_name"), text("identifier"), text("timestamp"), payload)
