"""A run whose input is larger than DuckDB's memory limit spills to its temp directory
and writes exactly what an unbounded run writes (the issue: inputs larger than memory are
streamed). Its own file: it is the slow one."""

from __future__ import annotations

from pathlib import Path

from quality_support import assert_quality, report, results, run

from remit.analytics.engine import connect
from remit.fde.reconcile.generator import generate_transactions, score


def test_a_run_streams_input_larger_than_its_memory_limit(tmp_path: Path) -> None:
    """150k records a side take ~100 MB in DuckDB: under a 64 MB limit the run spills to
    its temp directory and writes exactly what the unbounded run writes."""
    made = generate_transactions(tmp_path / "set", 150_000, seed=5)
    free = connect()
    run(free, made.left_path, made.right_path, made.rules_text)
    (used,) = free.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone() or (0,)
    assert used > 80 * 2**20, used  # the input really is larger than the limit below
    bounded = connect(memory_limit="64MB", temp_dir=tmp_path / "spill")
    run(bounded, made.left_path, made.right_path, made.rules_text)
    assert results(bounded) == results(free)
    q = score(free, made.truth_path)  # the same results: scored where memory is not short
    assert_quality(q, report("transaction 150k under 64MB", q))
