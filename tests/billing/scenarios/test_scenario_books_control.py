"""The control for every scenario's closing check: the verify call the scenarios make runs
billing's receivables check, so an open invoice whose stored amount drifts from what the
ledger holds for it is reported, by currency and by invoice."""

from __future__ import annotations

from scenario_support import assert_books_clean, books_findings, sdk

from remit.billing.invoices.tables import invoices


def test_the_scenarios_verify_call_catches_receivables_drift(server, account, store, pm):
    client = sdk(server, account)
    customer = client.v1.customers.create(params={"name": "Control"}).id
    client.v1.invoice_items.create(params={"customer": customer, "amount": 1234, "currency": "usd"})
    draft = client.v1.invoices.create(
        params={"customer": customer, "pending_invoice_items_behavior": "include",
                "collection_method": "send_invoice", "days_until_due": 10}
    )  # fmt: skip
    invoice = client.v1.invoices.finalize_invoice(draft.id)
    assert (invoice.status, invoice.amount_remaining) == ("open", 1234)
    assert_books_clean(store, pm, account.account.id, open_amount=1234)

    with store.write() as conn:  # the invoice now claims one cent less than the ledger holds
        conn.execute(
            invoices.update()
            .where(invoices.c.account_id == account.account.id, invoices.c.id == invoice.id)
            .values(amount_remaining=1233)
        )
    found = books_findings(store, pm, account.account.id)
    assert sorted((f.check, f.code, f.object_id) for f in found) == [
        ("receivables", "ledger_invoice_receivable_mismatch", invoice.id),
        ("receivables", "ledger_receivables_mismatch", None),
    ]
