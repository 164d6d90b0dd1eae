"""create_many and finalize_many, as renewals call them: batches, cycle keys, numbers per
customer in order, the auto-advance schedule, and totals always re-derivable from lines."""

from __future__ import annotations

import sqlalchemy as sa
from invoice_support import assert_ledger_clean, new_customer, ok

from remit.billing.invoices import build, explain, lifecycle, reads
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.invoices.tables import invoices
from remit.context import CallContext

T0 = 1_767_225_600  # 2026-01-01T00:00:00Z
MONTH = 31 * 86_400


def ctx_of(account, pm, now: int = T0) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext(account=account.account, now=now, pm=pm)


def draft(customer: str, amount: int, cycle: str | None = None, **extra) -> InvoiceDraft:  # type: ignore[no-untyped-def]
    line = LineDraft(
        amount=amount, currency="usd", description="Plan", period_start=T0,
        period_end=T0 + MONTH, quantity=1, explain={"source": "test"},
    )  # fmt: skip
    return InvoiceDraft(
        customer=customer, currency="usd", created=T0, period_start=T0, period_end=T0 + MONTH,
        billing_reason="subscription_cycle", lines=(line,), cycle_key=cycle, **extra,
    )  # fmt: skip


def test_a_batch_is_written_once_whatever_the_reruns(api, store, pm, account):
    ann, bob = new_customer(api)["id"], new_customer(api)["id"]
    batch = [draft(ann, 1000, "sub_a:1"), draft(bob, 2000, "sub_b:1"), draft(ann, 3000, "sub_c:1")]
    with store.write() as conn:
        ids = build.create_many(conn, ctx_of(account, pm), batch)
    with store.write() as conn:
        again = build.create_many(conn, ctx_of(account, pm), [*batch, draft(bob, 5, "sub_b:1")])
    assert again == [*ids, ids[1]]
    with store.read() as conn:
        rows = reads.invoices_by_id(conn, account.account.id, ids)
        assert conn.execute(sa.select(sa.func.count()).select_from(invoices)).scalar_one() == 3
    assert [rows[i].total for i in ids] == [1000, 2000, 3000]
    assert all(rows[i].automatically_finalizes_at == T0 + 3600 for i in ids)


def test_finalize_many_numbers_each_customer_in_order(api, store, pm, account):
    ann = new_customer(api)
    bob = new_customer(api)
    ok(api.post(f"/v1/customers/{bob['id']}", data={"next_invoice_sequence": "41"}))
    batch = [draft(ann["id"], 100), draft(bob["id"], 200), draft(ann["id"], 300)]
    with store.write() as conn:
        ids = build.create_many(conn, ctx_of(account, pm), batch)
        due = lifecycle.due_for_finalization(conn, account.account.id, None, T0 + 3600)
        assert due == sorted((T0 + 3600, i) for i in ids)
        assert lifecycle.due_for_finalization(conn, account.account.id, None, T0 + 3599) == []
        lifecycle.finalize_many(conn, ctx_of(account, pm, T0 + 3600), ids, T0 + 3600)
    with store.read() as conn:
        rows = reads.invoices_by_id(conn, account.account.id, ids)
        assert lifecycle.due_for_finalization(conn, account.account.id, None, T0 + MONTH) == []
    prefix_a, prefix_b = ann["invoice_prefix"], bob["invoice_prefix"]
    assert [rows[i].number for i in ids] == [f"{prefix_a}-0001", f"{prefix_b}-0041",
                                             f"{prefix_a}-0002"]  # fmt: skip
    assert ok(api.get(f"/v1/customers/{bob['id']}"))["next_invoice_sequence"] == 42
    assert all(rows[i].status == "open" and rows[i].finalized_at == T0 + 3600 for i in ids)
    assert_ledger_clean(store, pm, account.account.id)


def test_stored_totals_are_what_the_lines_say(api, store, pm, account):
    """Every invoice the API made, whatever its mix, re-derives from its stored lines."""
    customer = new_customer(api)["id"]
    rate = ok(api.post("/v1/tax_rates", data={"display_name": "GST", "percentage": "7.5",
                                              "inclusive": "true"}))["id"]  # fmt: skip
    coupon = ok(api.post("/v1/coupons", data={"amount_off": "333", "currency": "usd",
                                              "duration": "forever"}))["id"]  # fmt: skip
    for amount in ("1999", "-450", "1", "7777"):
        item = {"customer": customer, "amount": amount, "currency": "usd", "tax_rates[0]": rate}
        ok(api.post("/v1/invoiceitems", data=item))
    invoice = ok(
        api.post("/v1/invoices", data={"customer": customer, "discounts[0][coupon]": coupon,
                                       "pending_invoice_items_behavior": "include"})
    )  # fmt: skip
    with store.read() as conn:
        row = reads.load_invoice(conn, account.account.id, invoice["id"])
        lines = reads.lines_of(conn, account.account.id, [row.id])[row.id]
    found = explain.checks(row, lines)
    assert len(found) == 7 + len(lines)
    assert all(check["holds"] for check in found), found
    assert explain.rederived(lines)["total"] == invoice["total"] == 1999 - 450 + 1 + 7777 - 333
