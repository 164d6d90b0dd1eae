"""The blocking that keeps window passes hash joins (buckets of time and amount, shifted
by one either way) must find exactly the pairs a comparison of every record with every
other finds. Random ledgers, every non-reference pass shape, against plain Python."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from matching_support import DAY, HOUR, R, duck_with

from remit.fde.reconcile.matching.candidates import candidates_sql
from remit.fde.reconcile.model import AmountTolerance, Pass

SHAPES = (
    Pass("same_amount", "amount_date", date_window_s=DAY),
    Pass("same_amount_any_day", "amount_date"),
    Pass("near_minor", "tolerance", AmountTolerance(minor=7), 2 * DAY),
    Pass("near_percent", "tolerance", AmountTolerance(minor=2, basis_points=900), DAY),
    Pass("words", "fuzzy", AmountTolerance(minor=5), DAY, min_similarity_pct=70),
    Pass("words_percent", "fuzzy", AmountTolerance(basis_points=500), DAY, min_similarity_pct=60),
)

_record = st.builds(
    R,
    id=st.text("abc", min_size=1, max_size=3),
    amount=st.integers(-60, 60),
    day=st.integers(1, 6),
    ref=st.sampled_from([None, "a", "b"]),
    desc=st.sampled_from([None, "", "Latte", "latte!", "Lattes", "tea", "Tea 2"]),
    currency=st.sampled_from(["usd", "eur"]),
    at=st.integers(0, 23).map(lambda h: h * HOUR),
)


def _levenshtein(a: str, b: str) -> int:
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def _words(text: str | None) -> str:
    return "".join(c for c in (text or "").lower() if c in "abcdefghijklmnopqrstuvwxyz0123456789")


def _is_candidate(p: Pass, left: R, right: R) -> bool:
    """The pass's conditions, written out plainly."""
    gap = abs(left.amount - right.amount)
    bigger = max(abs(left.amount), abs(right.amount))
    near = gap <= p.tolerance.minor or gap * 10_000 <= p.tolerance.basis_points * bigger
    ok = (
        left.currency == right.currency
        and (left.ref is None or right.ref is None or left.ref == right.ref)
        and (p.date_window_s is None or abs(left.ts - right.ts) <= p.date_window_s)
    )
    if p.kind == "amount_date":
        return ok and gap == 0
    if p.kind == "tolerance":
        return ok and near
    a, b = _words(left.desc), _words(right.desc)
    similar = _levenshtein(a, b) * 100 <= (100 - (p.min_similarity_pct or 0)) * max(len(a), len(b))
    return ok and near and bool(a) and bool(b) and similar


@settings(max_examples=40, deadline=None)
@given(st.lists(_record, max_size=10), st.lists(_record, max_size=10))
def test_buckets_find_every_pair_and_only_those(platform: list[R], bank: list[R]) -> None:
    duck = duck_with(platform, bank)
    for p in SHAPES:
        found = duck.execute(
            f"SELECT l_key, r_key FROM ({candidates_sql(p, 'left_records', 'right_records')})"
        ).fetchall()
        expected = {
            (i, j)
            for i, left in enumerate(platform, start=2)
            for j, right in enumerate(bank, start=2)
            if _is_candidate(p, left, right)
        }
        assert len(found) == len(set(found)), p.name  # no pair twice across shifted buckets
        assert set(found) == expected, p.name
