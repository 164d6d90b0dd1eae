"""The ground-truth generator: the same seed gives the same bytes, every case gets its
share of the mix exactly, and the truth says what the files hold (checked here with plain
SQL over the files, independently of the loaders and the matcher)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from remit.fde.reconcile.generator import (
    LEFT_CASES,
    RULES_TEXT,
    Mix,
    generate_transactions,
    score,
)
from remit.fde.reconcile.generator_state import StateMix, generate_state
from remit.primitives.errors import InvalidRequestError

N = 6_000
READ = {"parquet": "read_parquet", "csv": "read_csv", "ndjson": "read_json"}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def files(duck: duckdb.DuckDBPyConnection, left: Path, right: Path, fmt: str) -> None:
    """Views ``l`` and ``r`` over the generated files, every column as text (as a loader
    sees them), and ``r`` with its amount back in minor units."""
    reader = READ[fmt]
    typed = ", all_varchar = true" if fmt == "csv" else ""
    duck.execute(f"CREATE VIEW l AS SELECT * FROM {reader}('{left}'{typed})")
    duck.execute(f"""
        CREATE VIEW r AS
        SELECT *, CAST(replace(CAST(amount AS VARCHAR), '.', '') AS BIGINT) AS minor,
               epoch(timezone('Europe/Paris',
                     strptime(CAST(booked_at AS VARCHAR), '%Y-%m-%d %H:%M:%S'))) AS ts
        FROM {reader}('{right}'{typed})
    """)


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_the_same_seed_writes_the_same_bytes(tmp_path: Path, fmt: str) -> None:
    one = generate_transactions(tmp_path / "one", N, seed=3, fmt=fmt)
    two = generate_transactions(tmp_path / "two", N, seed=3, fmt=fmt)
    other = generate_transactions(tmp_path / "other", N, seed=4, fmt=fmt)
    for a, b, c in zip(
        (one.left_path, one.right_path, one.truth_path),
        (two.left_path, two.right_path, two.truth_path),
        (other.left_path, other.right_path, other.truth_path),
        strict=True,
    ):
        assert digest(a) == digest(b)
        assert digest(a) != digest(c)
    assert one.left_path.name == f"left.{fmt}" and one.rules_text == RULES_TEXT


def test_each_case_takes_its_share_of_the_mix_exactly(tmp_path: Path) -> None:
    mix = Mix(fee_netted=1_000, split=500, duplicate=200, missing_in_platform=300, timing=0)
    made = generate_transactions(tmp_path, 10_000, mix=mix)
    counts = mix.counts(10_000)
    assert counts["fee_netted"] == 1_000 and counts["timing"] == 0
    assert counts["plain"] == 10_000 - sum(counts[c] for c in LEFT_CASES)
    duck = duckdb.connect()
    records = dict(
        duck.execute(f"""
            SELECT case_name, count(DISTINCT COALESCE(left_id, right_id))
            FROM '{made.truth_path}'
            WHERE left_id IS NOT NULL OR case_name = 'missing_in_platform'
            GROUP BY case_name
        """).fetchall()
    )
    assert records == {case: count for case, count in counts.items() if count}
    assert made.left_rows == 10_000


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson"])
def test_the_truth_accounts_for_every_record_once(tmp_path: Path, fmt: str) -> None:
    made = generate_transactions(tmp_path, N, fmt=fmt)
    duck = duckdb.connect()
    files(duck, made.left_path, made.right_path, fmt)
    truth = f"'{made.truth_path}'"
    (left, right, lines) = duck.execute(
        "SELECT (SELECT count(*) FROM l), (SELECT count(DISTINCT id) FROM l),"
        " (SELECT count(DISTINCT line_id) FROM r)"
    ).fetchone() or (0, 0, 0)
    assert (left, right, lines) == (made.left_rows, made.left_rows, made.right_rows)
    # Every left record is in pairs or in one break, never both; every right line too.
    for column, view, key in (("left_id", "l", "id"), ("right_id", "r", "line_id")):
        (unaccounted, both) = duck.execute(f"""
            SELECT (SELECT count(*) FROM {view} WHERE {key} NOT IN
                        (SELECT {column} FROM {truth} WHERE {column} IS NOT NULL)),
                   (SELECT count(*) FROM (SELECT {column} FROM {truth}
                        WHERE {column} IS NOT NULL GROUP BY {column}
                        HAVING count(DISTINCT kind) > 1))
        """).fetchone() or (1, 1)
        assert (unaccounted, both) == (0, 0), column


def test_pairs_are_what_their_case_says(tmp_path: Path) -> None:
    made = generate_transactions(tmp_path, N)
    duck = duckdb.connect()
    files(duck, made.left_path, made.right_path, "parquet")
    duck.execute(f"""
        CREATE VIEW p AS
        SELECT t.case_name, l.id, l.amount, l.currency, l.created, l.payout, l.description,
               r.line_id, r.minor, lower(r.currency) AS r_currency, r.ts, r.reference,
               r.group_ref, r.description AS r_description
        FROM '{made.truth_path}' t JOIN l ON l.id = t.left_id JOIN r ON r.line_id = t.right_id
        WHERE t.kind = 'pair'
    """)
    one_to_one = duck.execute("""
        SELECT case_name, count(*),
               count(*) FILTER (WHERE amount = minor), count(*) FILTER (WHERE reference = id),
               count(*) FILTER (WHERE currency = r_currency),
               min(ts - created), max(ts - created),
               count(*) FILTER (WHERE description = r_description)
        FROM p WHERE case_name IN ('plain', 'no_reference', 'description_only', 'fee_netted')
        GROUP BY case_name ORDER BY case_name
    """).fetchall()
    for case, rows, same_amount, same_ref, same_currency, earliest, latest, same_text in one_to_one:
        assert same_currency == rows and earliest >= -3_600  # local times: an hour at DST
        if case == "plain":
            assert (same_amount, same_ref, same_text) == (rows, rows, rows)
            assert latest < 3 * 86_400 + 3_600
        if case == "no_reference":
            assert (same_amount, same_ref, same_text) == (rows, 0, rows)
            assert latest < 2 * 86_400 + 3_600
        if case == "description_only":
            assert (same_amount, same_ref, same_text) == (0, 0, 0)
        if case == "fee_netted":
            assert same_ref == rows and same_amount == 0
    fees = duck.execute("""
        SELECT count(*) FROM p WHERE case_name = 'fee_netted'
        AND (amount - minor <> amount * 290 // 10000 + 30
             OR (amount - minor) * 10000 > 350 * amount)
    """).fetchone()
    assert fees == (0,)
    # Groups: a payout line is the sum of its records; a split record the sum of its lines.
    wrong_sums = duck.execute("""
        SELECT count(*) FROM (
            SELECT line_id, min(minor) AS line, sum(amount) AS records, min(reference) AS ref,
                   min(payout) AS payout
            FROM p WHERE case_name = 'batched' GROUP BY line_id
            HAVING line <> records OR ref <> payout OR count(*) < 2
            UNION ALL
            SELECT id, min(amount), sum(minor), min(group_ref), min(id)
            FROM p WHERE case_name = 'split' GROUP BY id
            HAVING min(amount) <> sum(minor) OR min(group_ref) <> min(id) OR count(*) < 2
        )
    """).fetchone()
    assert wrong_sums == (0,)


def test_breaks_are_what_their_case_says(tmp_path: Path) -> None:
    made = generate_transactions(tmp_path, N)
    duck = duckdb.connect()
    files(duck, made.left_path, made.right_path, "parquet")
    duck.execute(f"CREATE VIEW t AS SELECT * FROM '{made.truth_path}' WHERE kind = 'break'")
    pair_breaks = duck.execute("""
        SELECT t.case_name, count(*),
               count(*) FILTER (WHERE r.reference = l.id),
               count(*) FILTER (WHERE r.minor = l.amount),
               count(*) FILTER (WHERE lower(r.currency) = l.currency),
               min(r.ts - l.created)
        FROM t JOIN r ON r.line_id = t.right_id
        JOIN l ON l.id = r.reference
        WHERE t.case_name IN ('amount_mismatch', 'currency_mismatch', 'timing')
        GROUP BY t.case_name ORDER BY t.case_name
    """).fetchall()
    assert [(c, n, ref, amount, cur) for c, n, ref, amount, cur, _ in pair_breaks] == [
        ("amount_mismatch", 18, 18, 0, 18),
        ("currency_mismatch", 12, 12, 12, 0),
        ("timing", 24, 24, 24, 24),
    ]
    assert pair_breaks[2][5] >= 10 * 86_400 - 3_600  # late beyond the 5-day window
    mismatched = duck.execute("""
        SELECT min(abs(r.minor - l.amount) * 10000 - 1000 * abs(l.amount)),
               min(abs(r.minor - l.amount))
        FROM t JOIN r ON r.line_id = t.right_id JOIN l ON l.id = r.reference
        WHERE t.case_name = 'amount_mismatch'
    """).fetchone()
    assert mismatched is not None and mismatched[0] >= 0 and mismatched[1] >= 100
    twins = duck.execute("""
        SELECT count(*) FROM t JOIN r a ON a.line_id = t.right_id JOIN r b ON b.line_id = t.twin_id
        WHERE t.case_name = 'duplicate' AND a.minor = b.minor AND a.reference = b.reference
          AND a.booked_at = b.booked_at AND a.description = b.description
    """).fetchone()
    assert twins == (18,)
    orphans = duck.execute("""
        SELECT count(*), count(*) FILTER (WHERE r.reference IN (SELECT id FROM l))
        FROM t JOIN r ON r.line_id = t.right_id WHERE t.case_name = 'missing_in_platform'
    """).fetchone()
    assert orphans == (24, 0)


def test_unmatched_records_rarely_share_amount_currency_and_window(tmp_path: Path) -> None:
    """What makes the set resolvable: among records without a true partner (after the
    reference, group and amount passes), few share amount and currency within 3 days."""
    made = generate_transactions(tmp_path, 50_000)
    duck = duckdb.connect()
    files(duck, made.left_path, made.right_path, "parquet")
    (collisions,) = duck.execute(f"""
        WITH lonely_l AS (SELECT l.* FROM l JOIN '{made.truth_path}' t ON t.left_id = l.id
                          WHERE t.kind = 'break'),
             lonely_r AS (SELECT r.* FROM r JOIN '{made.truth_path}' t ON t.right_id = r.line_id
                          WHERE t.kind = 'break')
        SELECT count(*) FROM lonely_l l JOIN lonely_r r
        ON l.amount = r.minor AND l.currency = lower(r.currency)
        AND abs(l.created - r.ts) <= 3 * 86400 AND l.id IS DISTINCT FROM r.reference
    """).fetchone() or (1,)
    assert collisions <= 1


def test_a_request_the_generator_cannot_honour_is_refused_before_writing(
    tmp_path: Path,
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        generate_transactions(tmp_path / "no", 0, mix=Mix(split=-1))
    assert refused.value.code == "invalid_generator_request"
    assert refused.value.param == "n" and "cannot be negative: split" in refused.value.message
    with pytest.raises(InvalidRequestError) as refused:
        generate_transactions(tmp_path / "no", 10, fmt="xlsx", mix=Mix(fee_netted=9_990))
    message = refused.value.message
    assert "fmt must be one of parquet, csv, ndjson" in message and "over 10000" in message
    assert refused.value.param == "fmt"
    assert not (tmp_path / "no").exists()


def test_state_sets_are_deterministic_and_drift_as_mixed(tmp_path: Path) -> None:
    mix = StateMix(stale=500, duplicate=100, missing_in_platform=200)
    one = generate_state(tmp_path / "one", 4_000, mix=mix, fmt="csv")
    two = generate_state(tmp_path / "two", 4_000, mix=mix, fmt="csv")
    assert digest(one.external_path) == digest(two.external_path)
    assert digest(one.truth_path) == digest(two.truth_path)
    counts = mix.counts(4_000)
    assert (one.platform_rows, one.external_rows) == (
        4_000,
        4_000 - counts["missing_in_external"] + counts["duplicate"] + counts["missing_in_platform"],
    )
    duck = duckdb.connect()
    found = dict(
        duck.execute(f"""
            SELECT case_name, count(*) FROM '{one.truth_path}' WHERE kind = 'break'
            GROUP BY case_name
        """).fetchall()
    )
    assert found == {c: n for c, n in counts.items() if c != "clean" and n}


def test_state_copies_agree_where_no_drift_was_injected(tmp_path: Path) -> None:
    """Clean rows, read back by hand: same amount in minor units, same instant, the
    status's vocabulary upper-cased, and synced after the platform's last change."""
    made = generate_state(tmp_path, 3_000)
    duck = duckdb.connect()
    disagreeing = duck.execute(f"""
        SELECT count(*) FROM '{made.platform_path}' p
        JOIN '{made.external_path}' e ON e.stripe_id = p.id
        JOIN '{made.truth_path}' t ON t.left_id = p.id AND t.case_name = 'clean'
        WHERE CAST(replace(e.amount, '.', '') AS BIGINT) <> p.amount_due
           OR lower(e.currency) <> p.currency OR lower(e.state) <> p.status
           OR e.customer_stripe_id <> p.customer
           OR epoch(CAST(e.created_at AS TIMESTAMPTZ)) <> p.created
           OR epoch(CAST(e.synced_at AS TIMESTAMPTZ)) <= p.updated_at
    """).fetchone()
    assert disagreeing == (0,)
    offsets = duck.execute(
        f"SELECT DISTINCT right(created_at, 6) FROM '{made.external_path}' ORDER BY 1"
    ).fetchall()
    assert offsets == [("-04:00",), ("-05:00",)]


def test_a_perfect_run_scores_full_marks_and_each_mistake_costs(tmp_path: Path) -> None:
    """``score`` itself, on a run made from the truth: then one pair dropped, one wrong
    pair added and one break mistyped, each seen in the right count."""
    made = generate_transactions(tmp_path, 3_000)
    duck = duckdb.connect()
    duck.execute(f"CREATE TABLE t AS SELECT * FROM '{made.truth_path}'")
    duck.execute("""
        CREATE TABLE matches AS
        SELECT dense_rank() OVER (ORDER BY COALESCE(g, left_id)) AS match_no, 'x' AS pass_name,
               side, record_id, 0 AS amount, 'usd' AS currency, 0 AS alternatives
        FROM (SELECT DISTINCT g, side, record_id, left_id FROM (
            SELECT right_id AS g, 'left' AS side, left_id AS record_id, NULL AS left_id
            FROM t WHERE kind = 'pair' AND case_name = 'batched'
            UNION ALL SELECT right_id, 'right', right_id, NULL
            FROM t WHERE kind = 'pair' AND case_name = 'batched'
            UNION ALL SELECT NULL, 'left', left_id, left_id
            FROM t WHERE kind = 'pair' AND case_name <> 'batched'
            UNION ALL SELECT NULL, 'right', right_id, left_id
            FROM t WHERE kind = 'pair' AND case_name <> 'batched'))
    """)
    duck.execute("""
        CREATE TABLE breaks AS
        SELECT break_type AS type, NULL AS field,
               CASE WHEN left_id IS NULL THEN [] ELSE [left_id] END AS left_ids,
               CASE WHEN right_id IS NULL THEN [] ELSE [right_id] END AS right_ids
        FROM t WHERE kind = 'break'
    """)
    perfect = score(duck, made.truth_path)
    assert (perfect.precision_ppm, perfect.recall_ppm) == (1_000_000, 1_000_000)
    assert perfect.breaks_typed_right == perfect.breaks_expected == perfect.breaks_found
    assert perfect.breaks_unexpected == 0 and perfect.true_pairs == perfect.found_pairs
    duck.execute("""
        DELETE FROM matches WHERE match_no = (SELECT min(match_no) FROM matches m
            JOIN t ON t.left_id = m.record_id WHERE t.case_name = 'plain')
    """)
    duck.execute("UPDATE breaks SET type = 'timing' WHERE rowid = 0")
    duck.execute("INSERT INTO breaks VALUES ('duplicate', NULL, [], ['nobody'])")
    flawed = score(duck, made.truth_path)
    assert flawed.correct_pairs == perfect.correct_pairs - 1
    assert flawed.pairs_missed == {"plain": 1}
    assert flawed.breaks_typed_right == perfect.breaks_typed_right - 1
    assert sum(flawed.breaks_missed.values()) == 1 and flawed.breaks_unexpected == 2
