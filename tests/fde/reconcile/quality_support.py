"""What the quality tests share: running a generated set end to end, printing its
figures, the 99.9% bar, and a digest of what a run wrote."""

from __future__ import annotations

from pathlib import Path

import duckdb

from remit.fde.reconcile.generator import Quality
from remit.fde.reconcile.load import load_records
from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import TransactionRules
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.sources import SourceContext, parse_source

NO_STORE = SourceContext(store=None, account_id=None, pm=None, now=1_735_689_600)
PPM_999 = 999_000  # 99.9%


def run(duck: duckdb.DuckDBPyConnection, left: Path, right: Path, rules_text: str) -> None:
    rules = parse_rules(rules_text)
    assert isinstance(rules, TransactionRules)
    load_records(duck, "left", parse_source(str(left)), rules.left, NO_STORE)
    load_records(duck, "right", parse_source(str(right)), rules.right, NO_STORE)
    run_transactions(duck, rules)


def report(label: str, q: Quality) -> str:
    line = (
        f"{label}: precision {q.precision_ppm / 10_000:.4f}% recall {q.recall_ppm / 10_000:.4f}%"
        f" ({q.correct_pairs:,} of {q.true_pairs:,} pairs, {q.found_pairs:,} found);"
        f" breaks typed right {q.breaks_typed_right:,} of {q.breaks_expected:,},"
        f" {q.breaks_unexpected} unexpected; missed pairs {dict(q.pairs_missed)},"
        f" missed breaks {dict(q.breaks_missed)}"
    )
    print(line)
    return line


def assert_quality(q: Quality, line: str) -> None:
    assert q.precision_ppm >= PPM_999, line
    assert q.recall_ppm >= PPM_999, line
    assert q.breaks_typed_right * 1_000 >= q.breaks_expected * 999, line
    assert q.breaks_unexpected * 1_000 <= q.breaks_found, line


def results(duck: duckdb.DuckDBPyConnection, *, lines: bool = True) -> tuple[int, ...]:
    """What the run wrote, as counts and sums of row hashes (a string of every row would
    not fit the memory limit the streaming test sets). Without ``lines``, leaving out what
    depends on source lines (a CSV's records start on line 2, a Parquet file's on 1): a
    match is then its pass and its members, a break its key, type and amounts."""
    if lines:
        match, breaks = "SELECT m AS row FROM matches m", "SELECT b AS row FROM breaks b"
    else:
        match = """SELECT (min(pass_name), list(side || ':' || record_id ORDER BY side,
                   record_id)) AS row FROM matches GROUP BY match_no"""
        breaks = "SELECT (break_key, type, currency, left_amount, right_amount) AS row FROM breaks"
    row = duck.execute(f"""
        SELECT (SELECT count(*) FROM ({match})), (SELECT sum(hash(row)) FROM ({match})),
               (SELECT count(*) FROM breaks), (SELECT sum(hash(row)) FROM ({breaks}))
    """).fetchone()
    assert row is not None
    return tuple(int(v) for v in row)
