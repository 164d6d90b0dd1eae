"""Match quality against the generator's ground truth, end to end: the generated files
loaded as any user's files are (``load_records`` / ``load_raw``), matched or compared by
the engine, then scored. Precision, recall and break typing must each be >= 99.9%.

The figures are printed (``pytest -s``) so a change that costs quality shows how much.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from quality_support import NO_STORE, assert_quality, report, results, run

from remit.analytics.engine import connect
from remit.fde.reconcile.generator import generate_transactions, score
from remit.fde.reconcile.generator_state import generate_state, score_state
from remit.fde.reconcile.load import load_raw
from remit.fde.reconcile.model import StateRules
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.sources import parse_source
from remit.fde.reconcile.state import run_state


def test_transaction_mode_finds_the_truth(tmp_path: Path) -> None:
    made = generate_transactions(tmp_path, 40_000)
    duck = connect()
    run(duck, made.left_path, made.right_path, made.rules_text)
    q = score(duck, made.truth_path)
    line = report("transaction 40k", q)
    assert_quality(q, line)
    assert q.true_pairs > 40_000 and q.breaks_expected > 1_000
    found_types = {row[0] for row in duck.execute("SELECT DISTINCT type FROM breaks").fetchall()}
    assert found_types == {
        "amount_mismatch",
        "currency_mismatch",
        "duplicate",
        "missing_in_external",
        "missing_in_platform",
        "timing",
    }


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_every_file_format_gives_the_same_run(tmp_path: Path, fmt: str) -> None:
    """The same set as CSV or NDJSON matches exactly as its Parquet twin does."""
    runs = []
    for kind in ("parquet", fmt):
        made = generate_transactions(tmp_path / kind, 8_000, seed=21, fmt=kind)
        duck = connect()
        run(duck, made.left_path, made.right_path, made.rules_text)
        q = score(duck, made.truth_path)
        assert_quality(q, report(f"transaction 8k {kind}", q))
        runs.append(results(duck, lines=False))
    assert runs[0] == runs[1]


def test_state_mode_finds_every_drift_and_nothing_else(tmp_path: Path) -> None:
    made = generate_state(tmp_path, 30_000, fmt="csv")
    rules = parse_rules(made.rules_text)
    assert isinstance(rules, StateRules)
    duck = connect()
    load_raw(duck, "left", parse_source(str(made.platform_path)), NO_STORE)
    load_raw(duck, "right", parse_source(str(made.external_path)), NO_STORE)
    run_state(duck, rules)
    q = score_state(duck, made.truth_path)
    line = report("state 30k", q)
    assert_quality(q, line)
    assert q.breaks_unexpected == 0, line
    assert duck.execute("SELECT count(*) FROM rejects").fetchone() == (0,)
