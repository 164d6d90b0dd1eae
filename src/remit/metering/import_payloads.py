"""Rows as read from a meter event file, before any check: ``RawChunk``.

Every column is text (null: absent), whatever the file's types: integers and decimals
become the text that writes them, an Arrow timestamp its Unix seconds. Payloads given
as JSON (a CSV or Parquet ``payload`` column, NDJSON lines the fast reader refused)
are decoded here row by row, with the v2 stream's rules: an object of string keys
whose values are strings or numbers (decimals kept exact, never a float), JSON null
meaning absent. What is wrong with a row's shape travels as its ``problem``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from remit.primitives.errors import InvalidRequestError

PAYLOAD_PROBLEM = "payload must be an object of at most 50 string keys with string or number values"
EVENT_KEYS = frozenset({"event_name", "identifier", "timestamp", "payload"})
Payload = tuple[tuple[str, pa.Array], ...]


@dataclass(frozen=True, slots=True)
class RawChunk:
    """Consecutive rows of a file. ``row``: int64 row numbers, increasing. The others:
    text arrays of the same length. ``problem``: why a row's shape is unusable (null
    when it is fine). ``malformed_lines``: CSV records the parser could not split into
    the header's fields, as (line number, why); they have no row number."""

    row: pa.Array
    event_name: pa.Array
    identifier: pa.Array
    timestamp: pa.Array
    payload: Payload
    problem: pa.Array | None = None
    malformed_lines: tuple[tuple[int, str], ...] = ()

    def __len__(self) -> int:
        return len(self.row)


@dataclass(frozen=True, slots=True)
class Record:
    """One row decoded in Python (the slow path): fields as text, or its problem."""

    row: int
    event_name: str | None
    identifier: str | None
    timestamp: str | None
    payload: dict[str, str]
    problem: str | None = None


def is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind)
                or pa.types.is_string_view(kind))  # fmt: skip


def check_type(name: str, kind: pa.DataType) -> None:
    """Refuse a Parquet column that has no exact text: floats, booleans, nesting."""
    if pa.types.is_struct(kind) and name == "payload":
        for field in kind:
            check_type(f"payload.{field.name}", field.type)
        return
    exact = is_text(kind) or pa.types.is_integer(kind) or pa.types.is_decimal(kind)
    exact = exact or pa.types.is_null(kind)
    if name == "timestamp":
        exact = exact or pa.types.is_timestamp(kind)
    if not exact:
        raise InvalidRequestError(
            f"Column {name} has type {kind}, which has no exact text: write it as strings, "
            "integers or decimals.",
            param=name.split(".")[0],
        )


def as_text(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as text; its type was checked (``check_type``) or is text already."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if pa.types.is_timestamp(kind):
        ticks = pc.cast(column, pa.int64()).to_numpy(zero_copy_only=False)
        per_s = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}[kind.unit]
        seconds = pa.array(np.floor_divide(np.nan_to_num(ticks).astype(np.int64), per_s))
        column = pa.array(seconds, mask=pc.is_null(column).to_numpy(zero_copy_only=False))
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return column


def struct_payload(column: pa.StructArray) -> tuple[Payload, pa.Array]:
    """A struct column's fields as payload columns; a null struct is a missing payload."""
    flat = column.flatten()
    payload = tuple(
        (field.name, as_text(values)) for field, values in zip(column.type, flat, strict=True)
    )
    missing = pc.is_null(column)
    problem = pc.if_else(missing, pa.scalar(PAYLOAD_PROBLEM), pa.scalar(None, pa.string()))
    return payload, problem


def payload_of(raw: Any) -> dict[str, str] | None:
    """A decoded JSON payload as text values (None: not a valid payload)."""
    # The count of keys is checked with the other formats' (``import_rows``): on the
    # keys left once absent values are dropped.
    if not isinstance(raw, dict):
        return None
    payload: dict[str, str] = {}
    for key, value in raw.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            return None
        text = value if isinstance(value, str) else str(value)
        if text:
            payload[key] = text
    return payload


def decode_json(text: str) -> Any:
    """JSON with exact decimals; NaN and Infinity are not JSON numbers here."""
    return json.loads(text, parse_float=Decimal, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def json_payload_column(
    rows: pa.Array, names: pa.Array, identifiers: pa.Array, timestamps: pa.Array,
    payloads: pa.Array,
) -> RawChunk:  # fmt: skip
    """A chunk whose payload column holds JSON text: decoded row by row."""
    records = []
    for row, name, identifier, timestamp, text in zip(
        rows.to_pylist(), names.to_pylist(), identifiers.to_pylist(),
        timestamps.to_pylist(), payloads.to_pylist(), strict=True,
    ):  # fmt: skip
        try:
            payload = None if text is None else payload_of(decode_json(text))
        except ValueError:
            payload = None
        problem = None if payload is not None else PAYLOAD_PROBLEM
        records.append(Record(row, name, identifier, timestamp, payload or {}, problem))
    return from_records(records)


def from_records(records: Sequence[Record]) -> RawChunk:
    """Decoded rows as a chunk: the payload columns are the union of their keys."""
    keys: dict[str, None] = {}
    for record in records:
        keys.update(dict.fromkeys(record.payload))
    payload = tuple(
        (key, pa.array([r.payload.get(key) for r in records], pa.string())) for key in keys
    )
    problems = [r.problem for r in records]
    return RawChunk(
        pa.array([r.row for r in records], pa.int64()),
        pa.array([r.event_name for r in records], pa.string()),
        pa.array([r.identifier for r in records], pa.string()),
        pa.array([r.timestamp for r in records], pa.string()),
        payload,
        pa.array(problems, pa.string()) if any(problems) else None,
    )
