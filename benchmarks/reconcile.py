"""Reconciliation, transaction mode: a platform export against a bank export made by the
ground-truth generator, at 1M and 10M records a side, next to a bare DuckDB hash join of
the same two files measured in the same run.

Run with remit's venv python:

    .venv/bin/python benchmarks/reconcile.py                          # 1M and 10M
    .venv/bin/python benchmarks/reconcile.py --scales 1000000 --data-dir /tmp/rec  # kept
    .venv/bin/python benchmarks/reconcile.py --scales 1000000 --memory-limit 2GB

Per scale, not timed: ``generator.generate_transactions`` writes left.parquet (the
platform's charges and refunds, minor units, Unix seconds), right.parquet (the bank's
lines: decimal strings, Europe/Paris local times, lost references, fee-netted amounts,
payouts, splits, typos, duplicates, orphans, wrong amounts, late lines) and the truth;
a set in ``--data-dir`` made with the same scale and seed is reused.

Timed, each in a fresh process (so peak RSS is that measurement's own), threads = 2:

- baseline ``join``: ``SELECT count(*) FROM read_parquet(left) l JOIN read_parquet(right)
  r ON l.reference = r.reference``, best of three; DuckDB reads only the two reference
  columns. The brief's floor: no parsing, no passes, no breaks.
- baseline ``join+columns``: the same join reading every column remit maps on both sides
  (``count(*)`` and ``max()`` of each: ids, amounts, currencies, dates, group refs and
  descriptions), best of three: what any reconciliation must at least read.
- remit: ``load_records`` of each side (read the file, parse amounts, currencies and
  local dates into records, rejects) and ``run_transactions`` (the rules' five passes,
  break classification, the summary), each stage timed by its progress reports; then,
  not timed, ``score`` against the truth: precision, recall, breaks typed right.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from remit.analytics import engine
from remit.fde.reconcile.generator import generate_transactions, score
from remit.fde.reconcile.load import load_records
from remit.fde.reconcile.matching import run_transactions
from remit.fde.reconcile.model import Side, SideMapping, TransactionRules
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.sources import SourceContext, parse_source

GOAL_10M_S = 60.0
GOAL_RATIO = 3.0
BEST_OF = 3
MAPPED = (
    ("id", "amount", "currency", "created", "payout", "description"),
    ("line_id", "amount", "currency", "booked_at", "group_ref", "description"),
)


def peak_rss_mb() -> float:
    """This process's peak resident set (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def quoted(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


# -- measured in child processes ----------------------------------------------------------
def measure_baselines(left: str, right: str) -> dict[str, Any]:
    """Best-of-three seconds of the bare join and of the join reading every mapped column."""
    duck = engine.connect()
    duck.execute("SET enable_progress_bar = false")
    source = (
        f"FROM read_parquet({quoted(left)}) l JOIN read_parquet({quoted(right)}) r "
        "ON l.reference = r.reference"
    )
    reads = ", ".join(
        f"max({alias}.{column})"
        for alias, columns in zip("lr", MAPPED, strict=True)
        for column in columns
    )
    queries = {
        "join": f"SELECT count(*) {source}",
        "join+columns": f"SELECT count(*), {reads} {source}",
    }
    found: dict[str, Any] = {}
    for name, sql in queries.items():
        best = float("inf")
        for _ in range(BEST_OF):
            began = time.perf_counter()
            row = duck.execute(sql).fetchone()
            best = min(best, time.perf_counter() - began)
        assert row is not None
        found[name] = {"seconds": best, "rows": int(row[0])}
    found["peak_rss_mb"] = peak_rss_mb()
    return found


def measure_remit(
    left: str, right: str, truth: str, rules_text: str, memory_limit: str | None, spill: str
) -> dict[str, Any]:
    """load_records twice and run_transactions, stage by stage, then the score."""
    rules = parse_rules(rules_text)
    assert isinstance(rules, TransactionRules)
    sctx = SourceContext(store=None, account_id=None, pm=None, now=0)
    duck = engine.connect(memory_limit=memory_limit, temp_dir=Path(spill))
    duck.execute("SET enable_progress_bar = false")
    stages: list[tuple[str, float]] = []
    began = time.perf_counter()
    sides: tuple[tuple[Side, str, SideMapping], ...] = (
        ("left", left, rules.left),
        ("right", right, rules.right),
    )
    for side, path, mapping in sides:
        start = time.perf_counter()
        load_records(duck, side, parse_source(path), mapping, sctx)
        stages.append((f"load {side}", time.perf_counter() - start))
    marks: list[tuple[str, float]] = []

    def progress(label: str, done: int, total: int | None) -> None:
        marks.append((label, time.perf_counter()))

    summary = run_transactions(duck, rules, progress=progress)
    ended = time.perf_counter()
    for (label, at), (_, upto) in zip(marks, marks[1:] + [("end", ended)], strict=True):
        if label != "done":
            stages.append((label, upto - at))
    total = ended - began
    quality = score(duck, Path(truth))
    return {
        "stages": stages,
        "seconds": total,
        "records": summary.records_left + summary.records_right,
        "match_rate_bp": summary.match_rate_bp,
        "ties": summary.ties,
        "quality": {
            "precision_ppm": quality.precision_ppm,
            "recall_ppm": quality.recall_ppm,
            "true_pairs": quality.true_pairs,
            "correct_pairs": quality.correct_pairs,
            "found_pairs": quality.found_pairs,
            "breaks_expected": quality.breaks_expected,
            "breaks_typed_right": quality.breaks_typed_right,
            "breaks_unexpected": quality.breaks_unexpected,
            "pairs_missed": dict(quality.pairs_missed),
            "breaks_missed": dict(quality.breaks_missed),
        },
        "peak_rss_mb": peak_rss_mb(),
    }


def in_child(func: Any, *args: Any) -> Any:
    """Run one measurement in a fresh interpreter: its peak RSS is its own."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(func, args)


# -- driver -------------------------------------------------------------------------------
def load_or_generate(data_dir: Path, scale: int, seed: int) -> dict[str, Any]:
    where = data_dir / f"reconcile-{scale}-{seed}"
    sidecar = where / "set.json"
    if sidecar.exists():
        print(f"reusing {where}", flush=True)
        return dict(json.loads(sidecar.read_text()))
    began = time.perf_counter()
    made = generate_transactions(where, scale, seed=seed)
    info = {
        "left": str(made.left_path),
        "right": str(made.right_path),
        "truth": str(made.truth_path),
        "rules_text": made.rules_text,
        "left_rows": made.left_rows,
        "right_rows": made.right_rows,
    }
    sidecar.write_text(json.dumps(info))
    print(
        f"generated {made.left_rows:,} + {made.right_rows:,} rows in"
        f" {time.perf_counter() - began:.1f} s ({where})",
        flush=True,
    )
    return info


def print_scale(
    scale: int, info: dict[str, Any], base: dict[str, Any], remit: dict[str, Any]
) -> None:
    join_s, columns_s = base["join"]["seconds"], base["join+columns"]["seconds"]
    print(f"\n== {scale:,} platform records, {info['right_rows']:,} bank lines ==")
    print(f"{'stage':<34}{'s':>9}")
    for label, seconds in remit["stages"]:
        print(f"  {label:<32}{seconds:>9.2f}")
    records_s = remit["records"] / remit["seconds"]
    print(f"  {'remit total':<32}{remit['seconds']:>9.2f}   {records_s:,.0f} records/s")
    print(f"  {'baseline: bare join':<32}{join_s:>9.3f}   ({base['join']['rows']:,} rows)")
    print(f"  {'baseline: join + mapped columns':<32}{columns_s:>9.3f}")
    print(
        f"ratio remit / bare join {remit['seconds'] / join_s:.1f}x (goal {GOAL_RATIO:.0f}x);"
        f" remit / join + columns {remit['seconds'] / columns_s:.1f}x"
    )
    q = remit["quality"]
    print(
        f"precision {q['precision_ppm'] / 10_000:.4f}%, recall {q['recall_ppm'] / 10_000:.4f}%"
        f" ({q['correct_pairs']:,} of {q['true_pairs']:,} pairs; {q['found_pairs']:,} found);"
        f" breaks typed right {q['breaks_typed_right']:,} of {q['breaks_expected']:,}"
        f" ({q['breaks_typed_right'] * 100 / max(1, q['breaks_expected']):.2f}%),"
        f" {q['breaks_unexpected']:,} unexpected"
    )
    print(f"missed pairs by case {q['pairs_missed']}; missed breaks by case {q['breaks_missed']}")
    print(
        f"match rate {remit['match_rate_bp'] / 100:.2f}%, ties {remit['ties']:,};"
        f" peak RSS remit {remit['peak_rss_mb']:,.0f} MB, baselines {base['peak_rss_mb']:,.0f} MB",
        flush=True,
    )
    if scale >= 10_000_000:
        verdict = "met" if remit["seconds"] <= GOAL_10M_S else "not met"
        print(f"goal <= {GOAL_10M_S:.0f} s at 10M: {verdict}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--scales", default="1000000,10000000", help="records a side, comma-separated"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--data-dir", type=Path, help="keep generated sets here and reuse them")
    parser.add_argument("--memory-limit", help="DuckDB memory_limit for remit's run, e.g. 2GB")
    args = parser.parse_args(argv)
    args.scale_list = [int(s) for s in args.scales.split(",")]
    if min(args.scale_list) < 1_000:
        parser.error("scales start at 1,000 records")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    print("== reconciliation: platform vs bank, transaction mode ==", flush=True)
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="bench-reconcile-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    spill = Path(tempfile.mkdtemp(prefix="bench-reconcile-spill-"))
    try:
        for scale in args.scale_list:
            info = load_or_generate(data_dir, scale, args.seed)
            base = in_child(measure_baselines, info["left"], info["right"])
            remit = in_child(
                measure_remit, info["left"], info["right"], info["truth"], info["rules_text"],
                args.memory_limit, str(spill),
            )  # fmt: skip
            print_scale(scale, info, base, remit)
    finally:
        shutil.rmtree(spill, ignore_errors=True)
        if args.data_dir is None:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
