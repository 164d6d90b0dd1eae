"""Bulk import of meter events from a file: ``remit meter import FILE``.

The file (CSV, NDJSON or Parquet; see ``import_files`` for its columns) is read in
chunks of ``chunk_rows`` rows. Each chunk is one transaction: its rows are checked
(``import_rows``) and attributed with ``ingest``'s rules (``import_attribution``),
the attributed events appended to the raw log (``import_store``), the refused rows
recorded as meter event errors with their row number (and reported, as ``ingest``
does), and the import's checkpoint advanced past the chunk's last row. So:

- a crash (even SIGKILL) loses no committed chunk and leaves the checkpoint at the
  last one; running the import again continues after it;
- the raw log's identifier dedup makes any replay harmless: a row without an
  identifier gets one derived from the file's sha256 and its row number, so the same
  row is named the same way by every run, and a re-import adds nothing;
- a completed import is not run again unless ``restart`` is asked for (then every row
  is read again: events already in the log count as duplicates, refused rows are
  recorded again).

Bad rows never block good ones; a file that cannot be read as a whole (unknown
format, a required column missing) is refused before anything is written.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from remit.context import CallContext
from remit.metering import error_reports, import_files, import_store, sql
from remit.metering.import_attribution import attribute
from remit.metering.import_files import FileFacts
from remit.metering.import_payloads import RawChunk
from remit.metering.import_rows import check, generated_prefix
from remit.store.engine import Store

DEFAULT_CHUNK_ROWS = 50_000
MAX_CHUNK_ROWS = 500_000
# Called with (rows committed, rows in the file): before the first chunk and after each.
# A text file's row count is its line count, an estimate when values hold newlines.
Progress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Tally:
    rows_read: int = 0
    accepted: int = 0
    duplicates: int = 0
    error_codes: Mapping[str, int] = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return sum(self.error_codes.values())


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """One run of an import. ``run``: what this run did; ``total``: every run of it."""

    import_id: str
    facts: FileFacts
    resumed_after_row: int
    already_complete: bool
    run: Tally
    total: Tally
    elapsed_s: float

    @property
    def events_per_s(self) -> float:
        return self.run.rows_read / self.elapsed_s if self.elapsed_s > 0 else 0.0


def import_file(
    store: Store, ctx: CallContext, path: Path, *, fmt: str | None = None,
    restart: bool = False, chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Progress | None = None, timer: Callable[[], float] = time.perf_counter,
) -> ImportSummary:  # fmt: skip
    """Import one file for ``ctx``'s account; see the module's notes."""
    assert 0 < chunk_rows <= MAX_CHUNK_ROWS, "chunk_rows is bounded"
    started = timer()
    facts = import_files.scan(path, import_files.format_of(path, fmt))
    import_files.inspect(facts)
    with store.write() as conn:
        checkpoint = import_store.start(conn, ctx, facts, restart=restart)
    resumed_after, already_complete = checkpoint.rows_committed, checkpoint.status == "completed"
    run: list[import_store.Step] = []
    if not already_complete:
        if progress is not None:
            progress(resumed_after, facts.rows_estimate)
        for chunk in import_files.read_chunks(facts, chunk_rows, resumed_after):
            with store.write() as conn:
                run.append(_import_chunk(conn, ctx, facts, checkpoint, chunk))
            if progress is not None:
                progress(checkpoint.rows_committed, facts.rows_estimate)
        with store.write() as conn:
            import_store.complete(conn, ctx, checkpoint)
    return ImportSummary(
        checkpoint.id, facts, resumed_after, already_complete,
        _tally(run), Tally(checkpoint.rows_read, checkpoint.accepted, checkpoint.duplicates,
                           dict(sorted(checkpoint.error_codes.items()))),
        timer() - started,
    )  # fmt: skip


def _import_chunk(
    conn: sa.Connection, ctx: CallContext, facts: FileFacts,
    checkpoint: import_store.Checkpoint, chunk: RawChunk,
) -> import_store.Step:  # fmt: skip
    """One transaction: the chunk's events, its errors and the checkpoint past them."""
    sql.lock_account(conn, ctx.account_id)
    import_store.tune(conn)
    refused = _malformed(facts, checkpoint, chunk)
    read, accepted, duplicates = len(refused), 0, 0
    if len(chunk):
        attribution = attribute(conn, ctx, check(chunk, facts.fingerprint))
        accepted = import_store.append(conn, ctx, attribution.accepted)
        duplicates = attribution.accepted.num_rows - accepted
        refused += attribution.refused
        read += len(chunk)
    error_reports.record(conn, ctx, refused, import_store.SOURCE)
    step = import_store.Step(
        rows_committed=chunk.row[-1].as_py() if len(chunk) else checkpoint.rows_committed,
        malformed_through_line=max(
            [checkpoint.malformed_through_line, *(n for n, _ in chunk.malformed_lines)]
        ),
        rows_read=read, accepted=accepted, duplicates=duplicates,
        error_codes=Counter(r.code for r in refused),
    )  # fmt: skip
    import_store.advance(conn, ctx, checkpoint, step)
    return step


def _malformed(
    facts: FileFacts, checkpoint: import_store.Checkpoint, chunk: RawChunk
) -> list[error_reports.Refused]:
    """CSV records that do not split into the header's fields, not yet recorded."""
    prefix = generated_prefix(facts.fingerprint)
    return [
        error_reports.Refused(
            None, "", f"{prefix}line{line}", "invalid_event", f"Line {line}: {why}", {}, None
        )  # fmt: skip
        for line, why in chunk.malformed_lines
        if line > checkpoint.malformed_through_line
    ]


def _tally(steps: list[import_store.Step]) -> Tally:
    codes = sum((s.error_codes for s in steps), Counter[str]())
    return Tally(
        sum(s.rows_read for s in steps), sum(s.accepted for s in steps),
        sum(s.duplicates for s in steps), dict(sorted(codes.items())),
    )  # fmt: skip
