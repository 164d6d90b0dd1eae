"""The bill run: every due subscription of an account renewed in batches, drafts finalized
once their hour has passed, and a rerun creating nothing twice."""

from __future__ import annotations

from renewal_support import (
    HOUR_S,
    JAN_1,
    cycle_invoices,
    new_meter,
    new_price,
    ok,
    send_usage,
    service_ctx,
    wall_subscriptions,
)

from remit.billing import bill_run
from remit.ledger.verify import verify

FEB_1, MAR_1 = 1_706_745_600, 1_709_251_200
TIERED = {
    "billing_scheme": "tiered",
    "tiers_mode": "graduated",
    "tiers[0][up_to]": "100",
    "tiers[0][unit_amount]": "10",
    "tiers[1][up_to]": "inf",
    "tiers[1][unit_amount]": "5",
    "recurring[usage_type]": "metered",
}


def _catalog(api):
    meter = new_meter(api, "calls")
    seats = new_price(api, 2000)
    calls = new_price(api, None, **TIERED, **{"recurring[meter]": meter})
    rate = {"display_name": "VAT", "percentage": "10", "inclusive": "false", "jurisdiction": "FR"}
    tax = ok(api.post("/v1/tax_rates", data=rate))
    return seats, calls, tax["id"]


def _subscribed(api, store, pm, account, count):
    seats, calls, tax = _catalog(api)
    ctx = service_ctx(store, account, JAN_1, pm)
    made = wall_subscriptions(
        store, ctx, count, [{"price": seats, "quantity": 2}, {"price": calls}],
        collection_method="send_invoice", days_until_due=30, default_tax_rates=[tax],
    )  # fmt: skip
    # Customer k uses 60 * (k + 1) calls in January, in two events.
    usage = [(customer, JAN_1 + 86_400 * (k + 1) + half, str(30 * (k + 1)))
             for k, (_, customer) in enumerate(made) for half in (0, 3600)]  # fmt: skip
    send_usage(store, ctx, "calls", usage)
    return made


def _metered(calls: int) -> int:
    """Graduated: the first 100 calls at 10 cents, the rest at 5."""
    return min(calls, 100) * 10 + max(calls - 100, 0) * 5


def test_a_bill_run_renews_each_due_subscription_once(api, store, pm, account):
    subs = [sub for sub, _ in _subscribed(api, store, pm, account, 6)]
    seen = []
    report = bill_run.run(store, account.account, FEB_1 + HOUR_S, pm=pm, batch_size=4,
                          on_batch=seen.append)  # fmt: skip
    assert (report.subscriptions, report.renewed, report.finalized) == (6, 6, 6)
    assert [b.subscriptions for b in seen] == [4, 2]
    found = cycle_invoices(store, account.account.id)
    assert sorted(i.subscription for i in found) == sorted(subs)
    by_sub = {i.subscription: i for i in found}
    for k, sub in enumerate(subs):
        invoice = by_sub[sub]
        subtotal = 2 * 2000 + _metered(60 * (k + 1))
        assert (invoice.status, invoice.subtotal) == ("open", subtotal)
        assert invoice.total == subtotal + subtotal // 10  # every line's tax is exact here
        assert (invoice.period_start, invoice.period_end, invoice.created) == (JAN_1, FEB_1, FEB_1)
        assert invoice.finalized_at == FEB_1 + HOUR_S
    again = bill_run.run(store, account.account, FEB_1 + HOUR_S, pm=pm, batch_size=4)
    assert (again.subscriptions, again.renewed, again.finalized) == (0, 0, 0)
    assert len(cycle_invoices(store, account.account.id)) == 6
    assert verify(store, account.account.id).clean


def test_drafts_wait_for_their_hour_and_a_later_run_finalizes_them(api, store, pm, account):
    made = _subscribed(api, store, pm, account, 3)
    early = bill_run.run(store, account.account, FEB_1 + 60, pm=pm)
    assert (early.renewed, early.finalized) == (3, 0)
    assert {i.status for i in cycle_invoices(store, account.account.id)} == {"draft"}
    # 40 more January calls for the first customer, reported in the draft's hour.
    ctx = service_ctx(store, account, FEB_1 + 120, pm)
    send_usage(store, ctx, "calls", [(made[0][1], FEB_1 - 10, "40")])
    later = bill_run.run(store, account.account, FEB_1 + HOUR_S + 5, pm=pm)
    assert (later.renewed, later.finalized) == (0, 3)
    found = {i.subscription: i for i in cycle_invoices(store, account.account.id)}
    assert {(i.status, i.finalized_at) for i in found.values()} == {("open", FEB_1 + HOUR_S + 5)}
    assert [found[sub].subtotal for sub, _ in made] == [
        4000 + _metered(100), 4000 + _metered(120), 4000 + _metered(180),
    ]  # fmt: skip
    # A run a month on renews again: March's invoice bills February's (no) usage.
    march = bill_run.run(store, account.account, MAR_1 + HOUR_S, pm=pm)
    assert (march.renewed, march.finalized) == (3, 3)
    totals = [i.subtotal for i in cycle_invoices(store, account.account.id) if i.created == MAR_1]
    assert totals == [4000, 4000, 4000]
    assert verify(store, account.account.id).clean
