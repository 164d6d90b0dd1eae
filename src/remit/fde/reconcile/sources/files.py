"""CSV, NDJSON and Parquet files, read by DuckDB itself so a file larger than memory
streams (and spills) instead of passing through Python.

Every column is handed over as VARCHAR, exact: a CSV is read ``all_varchar``; an NDJSON
value is its JSON text (strings unquoted, nested objects and arrays as JSON); a Parquet
column is cast to text, timestamps as ISO 8601 (``2024-03-01T12:00:00+00:00`` when the
file says the time is UTC, naive otherwise). JSON numbers go through DuckDB's JSON
reader as doubles, so they stay exact up to 15 significant digits; amounts longer
than that belong in JSON strings.

Line numbers (``line_no``): a CSV's header is line 1. A record spanning several lines
(a quoted field with a newline) pushes every later record's line down by as many
lines, as an editor shows them. Blank lines, which DuckDB skips, are not counted.
NDJSON and Parquet count records from 1.

Options (``?key=value`` on the source): ``format`` (csv, ndjson, parquet) when the
extension does not tell, and ``delimiter`` for a CSV not separated by commas. A CSV is
otherwise read as RFC 4180 says: comma-separated, double quotes, doubled to escape.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path

import duckdb

from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources.base import (
    RawSource,
    SourceContext,
    invalid_source,
    unreadable,
)
from remit.fde.reconcile.transforms import quote_ident, quote_literal
from remit.primitives.errors import InvalidRequestError

FORMATS = {".csv": "csv", ".ndjson": "ndjson", ".jsonl": "ndjson", ".parquet": "parquet"}
HASH_CHUNK_BYTES = 1 << 20
# Errors DuckDB raises for a file it cannot parse (as opposed to running out of memory).
READ_ERRORS: tuple[type[Exception], ...] = (
    duckdb.IOException,
    duckdb.InvalidInputException,
    duckdb.ConversionException,
    duckdb.BinderException,
)
_TS_FORMAT = "'%Y-%m-%dT%H:%M:%S'"


class FileKind:
    """``file:/x/bank.csv`` or a bare path; the format from the extension or ``?format=``."""

    name = "file"

    def open(self, spec: SourceSpec, sctx: SourceContext, table: str | None) -> RawSource:
        path = Path(spec.location).expanduser()
        fmt = _format(path, spec.options)
        try:
            with path.open("rb") as handle:
                start = handle.read(HASH_CHUNK_BYTES)
                empty = not start.strip(b"\xef\xbb\xbf \t\r\n") and not handle.read(1)
        except OSError as exc:
            raise unreadable(f"Cannot read {path}: {exc.strerror or exc}.") from None
        digest: Callable[[], str] = lambda: file_sha256(path)  # noqa: E731
        if empty:
            return RawSource((), 1, None, lambda: iter(()), digest)
        opener = {"csv": _csv, "ndjson": _ndjson, "parquet": _parquet}[fmt]
        columns, relation, first_line = opener(path, spec.options)
        return RawSource(columns, first_line, relation, None, digest, multiline=fmt == "csv")


def file_sha256(path: Path) -> str:
    """sha256 of the file's bytes, read a megabyte at a time."""
    hasher = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(HASH_CHUNK_BYTES):
                hasher.update(chunk)
    except OSError as exc:
        raise unreadable(f"Cannot read {path}: {exc.strerror or exc}.") from None
    return hasher.hexdigest()


def _format(path: Path, options: Mapping[str, str]) -> str:
    fmt = options.get("format") or FORMATS.get(path.suffix.lower())
    if fmt == "jsonl":
        fmt = "ndjson"
    if fmt not in ("csv", "ndjson", "parquet"):
        raise invalid_source(
            f"Cannot tell the format of {path.name}: name it .csv, .ndjson, .jsonl or "
            ".parquet, or add ?format=csv (ndjson, parquet).",
            param="format",
        )
    return fmt


def _describe(relation: str) -> list[tuple[str, str]]:
    """(name, DuckDB type) of each column ``relation`` yields, in order."""
    duck = duckdb.connect(":memory:")
    try:
        described = duck.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()
        return [(row[0], row[1]) for row in described]
    except READ_ERRORS as exc:
        raise unreadable(f"Cannot read the file: {_first_line(exc)}") from None
    finally:
        duck.close()


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _csv(path: Path, options: Mapping[str, str]) -> tuple[tuple[str, ...], str, int]:
    # The dialect is stated, not sniffed: a sniffer that guesses wrong (taking a ragged
    # row for the header, one column for the whole line) misreads silently.
    delimiter = options.get("delimiter") or ","
    args = [
        quote_literal(str(path)), "all_varchar = true", "skip = 0", "strict_mode = true",
        f"delim = {quote_literal(delimiter)}", "quote = '\"'", "escape = '\"'",
    ]  # fmt: skip
    relation = f"read_csv({', '.join([*args, 'header = true'])})"
    columns = tuple(name for name, _ in _describe(relation))
    _refuse_duplicate_headers(path, f"read_csv({', '.join([*args, 'header = false'])})")
    # A header name holding a newline pushes the first record down too.
    return columns, relation, 2 + sum(name.count("\n") for name in columns)


def _refuse_duplicate_headers(path: Path, headless: str) -> None:
    """DuckDB renames a repeated header (``amount``, ``amount_1``); a mapping naming
    ``amount`` would then silently read the first of two columns, so refuse instead.
    DuckDB's names are case-insensitive, hence the comparison."""
    duck = duckdb.connect(":memory:")
    try:
        found = duck.execute(f"SELECT * FROM {headless} LIMIT 1").fetchall()
        header = found[0] if found else ()
    except READ_ERRORS as exc:
        raise unreadable(f"Cannot read the header of {path.name}: {_first_line(exc)}") from None
    finally:
        duck.close()
    seen: dict[str, str] = {}
    repeated = []
    for name in (str(value) for value in header if value is not None):
        if name.lower() in seen:
            repeated.append(name)
        seen.setdefault(name.lower(), name)
    if repeated:
        raise InvalidRequestError(
            f"The header of {path.name} repeats {', '.join(repeated)}: "
            "every column needs its own name.",
            code="duplicate_columns",
        )


def _ndjson(path: Path, options: Mapping[str, str]) -> tuple[tuple[str, ...], str, int]:
    # Every line is sampled, so a key first seen on the millionth line still has a column.
    source = f"{quote_literal(str(path))}, format = 'newline_delimited'"
    columns = tuple(name for name, _ in _describe(f"read_json({source}, sample_size = -1)"))
    typed = ", ".join(f"{quote_literal(name)}: 'JSON'" for name in columns)
    reader = f"read_json({source}, columns = {{{typed}}})"
    # ->> '$' unquotes a JSON string and leaves numbers, booleans, objects as their text.
    select = ", ".join(f"{quote_ident(n)} ->> '$' AS {quote_ident(n)}" for n in columns)
    return columns, f"(SELECT {select} FROM {reader})", 1


def _parquet(path: Path, options: Mapping[str, str]) -> tuple[tuple[str, ...], str, int]:
    reader = f"read_parquet({quote_literal(str(path))})"
    described = _describe(reader)
    select = ", ".join(f"{_as_text(quote_ident(n), t)} AS {quote_ident(n)}" for n, t in described)
    return tuple(name for name, _ in described), f"(SELECT {select} FROM {reader})", 1


def _as_text(col: str, duck_type: str) -> str:
    """Exact text for a Parquet column: decimals keep their scale, booleans read
    true/false, timestamps ISO 8601, nested values JSON."""
    if duck_type == "VARCHAR":
        return col
    if duck_type == "BOOLEAN":
        return f"CASE WHEN {col} THEN 'true' WHEN NOT {col} THEN 'false' END"
    if duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
        utc = f"timezone('UTC', {col})"
        return f"({_iso(utc)} || '+00:00')"
    if duck_type.startswith("TIMESTAMP"):
        return _iso(f"CAST({col} AS TIMESTAMP)")
    if duck_type == "DATE":
        return f"strftime({col}, '%Y-%m-%d')"
    if duck_type.endswith("]") or duck_type.startswith(("STRUCT", "MAP", "UNION")):
        return f"CAST(to_json({col}) AS VARCHAR)"
    return f"CAST({col} AS VARCHAR)"


def _iso(ts: str) -> str:
    """ISO 8601 without a zone; the fraction only when there is one."""
    fraction = f"CASE WHEN microsecond({ts}) % 1000000 = 0 THEN '' ELSE strftime({ts}, '.%f') END"
    return f"(strftime({ts}, {_TS_FORMAT}) || {fraction})"
