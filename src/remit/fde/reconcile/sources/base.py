"""What every reconciliation source gives the loader: its column names and a way to stream
its rows into DuckDB without Python ever holding them all.

Two shapes, because the fastest path differs: files are read by DuckDB itself
(``relation_sql``: DuckDB parses, parallelises and spills), while the state store and
SQL databases are read through SQLAlchemy and handed over as bounded Arrow batches of
strings. Either way every column arrives as VARCHAR: parsing is the loader's job, done
set-based, so a bad value becomes a reject with its line number instead of a crash.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

import pluggy
import pyarrow as pa

from remit.fde.reconcile.model import SourceSpec
from remit.primitives.errors import InvalidRequestError
from remit.store.engine import Store

BatchFactory = Callable[[], Iterator[pa.RecordBatch]]


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What a source may need besides its spec: the state store and the tenant for the
    platform's own objects, the plugin manager for plugin kinds, and the run's ``now``."""

    store: Store | None
    account_id: str | None
    pm: pluggy.PluginManager | None
    now: int


@dataclass(frozen=True, slots=True)
class RawSource:
    """An opened source. Exactly one of ``relation_sql`` and ``batches`` is set.

    ``relation_sql`` is a relation DuckDB can stream by itself (a table function such as
    ``read_csv(...)``, or a parenthesised SELECT over one) whose columns are ``columns``,
    all VARCHAR. ``batches`` yields Arrow record batches of strings with exactly
    ``columns``, in the source's deterministic order; each call starts a fresh pass.
    ``fingerprint`` is the sha256 hex of a file's bytes, or of the rows a batch source
    streams (see ``RowDigest``). ``multiline`` says rows are lines of text (a CSV): a
    value holding a newline spans lines, and the rows after it start further down.
    """

    columns: tuple[str, ...]
    first_line: int
    relation_sql: str | None
    batches: BatchFactory | None
    fingerprint: Callable[[], str]
    multiline: bool = False

    def __post_init__(self) -> None:
        assert (self.relation_sql is None) != (self.batches is None), "one way to read"


class SourceKind(Protocol):
    """A kind of source (``file``, ``sql``, ``platform``, or a plugin's), registered
    through the ``remit_reconciliation_sources`` hook."""

    name: str

    def open(self, spec: SourceSpec, sctx: SourceContext, table: str | None) -> RawSource: ...


class RowDigest:
    """The fingerprint of a batch source: sha256 over its rows, one JSON array per row.

    Hashing rows rather than batches keeps the fingerprint independent of batch sizes.
    The digest is taken while the loader consumes the batches, so the rows are read once;
    asking for it before a complete pass makes one pass of its own (the rows are not
    kept). A pass abandoned half-way leaves no digest behind.
    """

    def __init__(self, batches: BatchFactory) -> None:
        self._batches = batches
        self._digest: str | None = None

    def batches(self) -> Iterator[pa.RecordBatch]:
        hasher = hashlib.sha256()
        for batch in self._batches():
            rows = zip(*(column.to_pylist() for column in batch.columns), strict=True)
            hasher.update("".join(_row_line(row) for row in rows).encode())
            yield batch
        self._digest = hasher.hexdigest()

    def fingerprint(self) -> str:
        if self._digest is None:
            for _ in self.batches():
                pass
        assert self._digest is not None
        return self._digest


def _row_line(row: Sequence[str | None]) -> str:
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n"


def string_batch(columns: Sequence[str], values: Sequence[Sequence[str | None]]) -> pa.RecordBatch:
    """A batch of VARCHAR columns from column-major Python values."""
    arrays = [pa.array(column, type=pa.string()) for column in values]
    return pa.RecordBatch.from_arrays(arrays, names=list(columns))


def unreadable(message: str) -> InvalidRequestError:
    return InvalidRequestError(message, code="source_unreadable")


def invalid_source(message: str, param: str | None = None) -> InvalidRequestError:
    return InvalidRequestError(message, code="invalid_source", param=param)
