"""NDJSON meter event files: one JSON object per line, in Stripe's v2 event shape
(``event_name``, ``identifier``, ``timestamp``, ``payload``).

The file is cut into blocks of whole lines (at most ``chunk_rows`` lines each). A
block Arrow can decode into plain columns (text names and identifiers, text or
integer timestamps, a payload object of text or integer values, no blank line) is
decoded in one call; any other block (a float anywhere, a malformed line, an unknown
key...) is decoded line by line with exact decimals, so both give the same rows.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.json as pj

from remit.metering.import_payloads import (
    EVENT_KEYS,
    PAYLOAD_PROBLEM,
    Payload,
    RawChunk,
    Record,
    decode_json,
    from_records,
    is_text,
    payload_of,
    struct_payload,
)
from remit.primitives.errors import InvalidRequestError

READ_BYTES = 8 << 20
# A blank line, or one starting with white space (conservatively: it may be blank).
_LINE_STARTS = (b"\n\n", b"\n\r", b"\n ", b"\n\t")


def read_chunks(path: Path, chunk_rows: int, after_row: int) -> Iterator[RawChunk]:
    check_first_line(path)
    with path.open("rb") as handle:
        line = 0
        for block in _blocks(handle, chunk_rows):
            count = block.count(b"\n") + (not block.endswith(b"\n"))
            first, line = line + 1, line + count
            if line <= after_row:
                continue
            if first <= after_row:
                block = block[_offset_of_line(block, after_row - first + 1) :]
                first = after_row + 1
            yield decode_block(block, first)


def decode_block(block: bytes, first_row: int) -> RawChunk:
    """The rows of whole lines ``block``, the first being line ``first_row``."""
    fast = _fast(block, first_row)
    return fast if fast is not None else _slow(block, first_row)


def _blocks(handle: io.BufferedReader, chunk_rows: int) -> Iterator[bytes]:
    """Whole lines, at most ``chunk_rows`` of them per block."""
    buffer, newlines = b"", 0
    while True:
        read = handle.read(READ_BYTES)
        buffer += read
        newlines += read.count(b"\n")
        while newlines >= chunk_rows:
            cut = _offset_of_line(buffer, chunk_rows)
            yield buffer[:cut]
            buffer, newlines = buffer[cut:], newlines - chunk_rows
        if not read:
            break
    if buffer:
        yield buffer


def _offset_of_line(block: bytes, lines: int) -> int:
    """The offset just past the ``lines``-th newline of ``block``."""
    ends = np.flatnonzero(np.frombuffer(block, np.uint8) == 10)
    return int(ends[lines - 1]) + 1


def check_first_line(path: Path) -> None:
    """A file whose first event lacks a required key is refused before any write."""
    with path.open("rb") as handle:
        _check_first_line(handle)


def _check_first_line(handle: io.BufferedReader) -> None:
    for raw in handle:
        if not raw.strip():
            continue
        try:
            first = decode_json(raw.decode("utf-8"))
        except ValueError:
            first = None
        if not isinstance(first, dict):
            raise InvalidRequestError(
                "The file is not NDJSON: its first line is not a JSON object.", param="file"
            )
        for key in ("event_name", "timestamp"):
            if key not in first:
                raise InvalidRequestError(
                    f"The file's first event has no {key}: every line must be an object "
                    "with event_name, timestamp, payload and optionally identifier.",
                    param=key,
                )
        return
    raise InvalidRequestError("The file holds no events.", param="file")


def _fast(block: bytes, first_row: int) -> RawChunk | None:
    """The block decoded by Arrow, or None when only the line-by-line decoding is exact."""
    if block[:1].isspace() or any(start in block for start in _LINE_STARTS):
        return None
    try:
        table = pj.read_json(
            io.BytesIO(block), read_options=pj.ReadOptions(use_threads=False),
            parse_options=pj.ParseOptions(explicit_schema=_schema(block)),
        )  # fmt: skip
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    columns = {name: table.column(name).combine_chunks() for name in table.column_names}
    if not set(columns) <= EVENT_KEYS or not all(_plain(n, c.type) for n, c in columns.items()):
        return None
    size = table.num_rows
    rows = pa.array(np.arange(first_row, first_row + size, dtype=np.int64))

    def text(name: str) -> pa.Array:
        column = columns.get(name)
        if column is None or pa.types.is_null(column.type):
            return pa.nulls(size, pa.string())
        return column.cast(pa.string())

    payload_column = columns.get("payload")
    payload: Payload
    if payload_column is None or pa.types.is_null(payload_column.type):
        payload, problem = (), pa.array([PAYLOAD_PROBLEM] * size, pa.string())
    else:
        payload, problem = struct_payload(payload_column)
    names, identifiers, timestamps = text("event_name"), text("identifier"), text("timestamp")
    return RawChunk(rows, names, identifiers, timestamps, payload, problem)


def _schema(block: bytes) -> pa.Schema:
    # Text timestamps stay text: Arrow would otherwise read ISO 8601 strings as its own
    # timestamps and lose what was written.
    kind = pa.int64() if re.match(rb'[^\n]*"timestamp"\s*:\s*-?[0-9]', block) else pa.string()
    return pa.schema([("timestamp", kind), ("event_name", pa.string())])


def _plain(name: str, kind: pa.DataType) -> bool:
    if pa.types.is_null(kind):
        return True
    if name == "payload":
        return pa.types.is_struct(kind) and all(
            is_text(f.type) or pa.types.is_int64(f.type) or pa.types.is_null(f.type) for f in kind
        )
    if name == "timestamp":
        return is_text(kind) or pa.types.is_int64(kind)
    return is_text(kind)


def _slow(block: bytes, first_row: int) -> RawChunk:
    records = [
        _record(first_row + index, raw)
        for index, raw in enumerate(block.split(b"\n"))
        if raw.strip()
    ]
    return from_records(records)


def _record(row: int, raw: bytes) -> Record:
    try:
        event = decode_json(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        return Record(row, None, None, None, {}, f"The line is not JSON: {str(error)[:80]}")
    if not isinstance(event, dict):
        return Record(row, None, None, None, {}, "Each event must be a JSON object.")
    name, identifier = event.get("event_name"), event.get("identifier")
    payload = payload_of(event.get("payload"))
    unknown = sorted(event.keys() - EVENT_KEYS)
    problem = (
        f"Received unknown parameter: {unknown[0]}" if unknown
        else None if isinstance(name, str | None) else "event_name must be a string"
    )  # fmt: skip
    if problem is None and not isinstance(identifier, str | None):
        problem = "identifier must be a non-empty string"
    if problem is None and payload is None:
        problem = PAYLOAD_PROBLEM
    return Record(
        row,
        name if isinstance(name, str) else None,
        identifier if isinstance(identifier, str) else None,
        _timestamp_text(event.get("timestamp")),
        payload or {},
        problem,
    )


def _timestamp_text(raw: Any) -> str | None:
    """As written: later checks refuse anything but Unix seconds or RFC 3339."""
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return str(raw)
    return json.dumps(raw, default=str)[:60]
