"""One way to open the in-process DuckDB used for set-based work.

DuckDB spills to ``temp_dir`` past ``memory_limit``, which is what lets a
reconciliation or a report read inputs larger than memory. It is never the shared
state store: each connection is private to the process that opened it.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

DEFAULT_THREADS = 2


def connect(
    *,
    memory_limit: str | None = None,
    temp_dir: Path | None = None,
    threads: int = DEFAULT_THREADS,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory, spilling to ``temp_dir`` when given."""
    duck = duckdb.connect(":memory:")
    duck.execute(f"SET threads = {int(threads)}")
    if memory_limit is not None:
        duck.execute("SET memory_limit = ?", [memory_limit])
    if temp_dir is not None:
        temp_dir.mkdir(parents=True, exist_ok=True)
        duck.execute("SET temp_directory = ?", [str(temp_dir)])
    # Results must not depend on how threads interleave (determinism, DESIGN §2.8):
    # every query that needs an order says so, and scans keep the order they read in.
    duck.execute("SET preserve_insertion_order = true")
    # DuckDB draws a progress bar on stdout for long queries, even into a pipe; callers
    # report progress their own way (the CLI's bar on stderr).
    duck.execute("SET enable_progress_bar = false")
    return duck
