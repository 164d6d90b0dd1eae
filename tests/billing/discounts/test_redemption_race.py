"""The last redemption of a coupon or a promotion code, claimed by many at once, goes to one."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa

from remit.billing.discounts import coupons, discounts, promotion_codes, redemption
from remit.billing.discounts.tables import coupons as coupons_table
from remit.billing.discounts.tables import discounts as discounts_table
from remit.billing.discounts.tables import promotion_codes as promotion_codes_table
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError

WORKERS = 8
NOW = 1_700_000_000


@pytest.fixture
def ctx(account) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext(account=account.account, now=NOW)


@pytest.fixture(autouse=True)
def _checked_together(store, monkeypatch):  # type: ignore[no-untyped-def]
    """On PostgreSQL, every redemption passes its checks (all see one left) before any
    counts: only the conditional UPDATE then stands between them and the limit. SQLite
    runs one writer at a time, so there each sees the ones before it committed."""
    if store.is_sqlite:
        return
    together = threading.Barrier(WORKERS, timeout=60)
    count = redemption.count

    def count_after_all_checked(*args, **kwargs):  # type: ignore[no-untyped-def]
        together.wait()
        return count(*args, **kwargs)

    monkeypatch.setattr(redemption, "count", count_after_all_checked)


def _race(store, ctx, **redeem: str) -> list[str]:  # type: ignore[no-untyped-def]
    """WORKERS redemptions released together, each in its own transaction; their outcomes."""
    start = threading.Barrier(WORKERS)

    def one(n: int) -> str:
        start.wait()
        try:
            with store.write() as conn:
                discounts.attach(
                    conn,
                    ctx,
                    coupon=redeem.get("coupon"),
                    promotion_code=redeem.get("promotion_code"),
                    invoice=f"in_{n}",
                    start_ts=NOW,
                    param="discounts[0]",
                )
            return "redeemed"
        except InvalidRequestError as refused:
            return refused.code or "refused"

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(one, range(WORKERS)))


def _count(store, table: sa.Table, account_id: str) -> int:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        query = sa.select(sa.func.count()).where(table.c.account_id == account_id)
        return int(conn.execute(query).scalar_one())


def _times_redeemed(store, table: sa.Table) -> int:  # type: ignore[no-untyped-def]
    with store.read() as conn:
        return int(conn.execute(sa.select(table.c.times_redeemed)).scalar_one())


def test_a_coupon_with_one_redemption_left_is_redeemed_once(store, ctx):
    with store.write() as conn:
        coupon = coupons.create(conn, ctx, {"percent_off": Decimal(10), "max_redemptions": 1})
    outcomes = _race(store, ctx, coupon=coupon["id"])
    assert outcomes.count("redeemed") == 1
    assert outcomes.count("coupon_expired") == WORKERS - 1
    assert _count(store, discounts_table, ctx.account_id) == 1
    assert _times_redeemed(store, coupons_table) == 1


def test_a_promotion_code_with_one_redemption_left_is_redeemed_once(store, ctx):
    with store.write() as conn:
        coupon = coupons.create(conn, ctx, {"percent_off": Decimal(10)})
        promotion_codes.create(conn, ctx, {"max_redemptions": 1}, coupon["id"])
        promo = conn.execute(sa.select(promotion_codes_table.c.id)).scalar_one()
    outcomes = _race(store, ctx, promotion_code=promo)
    assert outcomes.count("redeemed") == 1
    assert _count(store, discounts_table, ctx.account_id) == 1
    # The losers' coupon redemptions were undone with their refusal.
    assert _times_redeemed(store, coupons_table) == 1
    assert _times_redeemed(store, promotion_codes_table) == 1
