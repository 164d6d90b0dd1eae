"""Illegal transitions and bad input are Stripe errors that change nothing; the
receivables check names an invoice whose figures were tampered with."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from invoice_support import (
    ledger_report,
    new_customer,
    new_invoice,
    new_item,
    new_price,
    new_tax_rate,
    ok,
    refused,
    unchanged,
)

from remit.billing.invoices.tables import invoices


@pytest.fixture
def invoices_in_every_state(api) -> dict[str, str]:
    customer = new_customer(api)["id"]
    made = {}
    for state in ("draft", "open", "paid", "void", "uncollectible"):
        new_item(api, customer, amount="1000")
        made[state] = new_invoice(api, customer)["id"]
        if state != "draft":
            ok(api.post(f"/v1/invoices/{made[state]}/finalize"))
    ok(api.post(f"/v1/invoices/{made['paid']}/pay", data={"paid_out_of_band": "true"}))
    ok(api.post(f"/v1/invoices/{made['void']}/void"))
    ok(api.post(f"/v1/invoices/{made['uncollectible']}/mark_uncollectible"))
    return made


ILLEGAL = [
    ("finalize", "open"), ("finalize", "paid"), ("finalize", "void"),
    ("finalize", "uncollectible"), ("pay", "draft"), ("pay", "paid"), ("pay", "void"),
    ("void", "draft"), ("void", "paid"), ("void", "void"), ("mark_uncollectible", "draft"),
    ("mark_uncollectible", "paid"), ("mark_uncollectible", "void"),
    ("mark_uncollectible", "uncollectible"),
]  # fmt: skip


def test_illegal_transitions_are_refused_and_change_nothing(api, store, invoices_in_every_state):
    with unchanged(store):
        for action, state in ILLEGAL:
            data = {"paid_out_of_band": "true"} if action == "pay" else {}
            url = f"/v1/invoices/{invoices_in_every_state[state]}/{action}"
            error = refused(api.post(url, data=data), None, None)
            assert state in error["message"], (action, state, error)


def test_finalized_invoices_keep_their_money(api, store, invoices_in_every_state):
    open_id = invoices_in_every_state["open"]
    with unchanged(store):
        for data in ({"discounts": ""}, {"collection_method": "send_invoice"},
                     {"default_tax_rates": ""}):  # fmt: skip
            refused(api.post(f"/v1/invoices/{open_id}", data=data),
                    next(iter(data)), "invoice_not_editable")  # fmt: skip
        refused(api.delete(f"/v1/invoices/{open_id}"), None, None)
        refused(
            api.post("/v1/invoiceitems", data={"customer": ok(api.get(
                f"/v1/invoices/{open_id}"))["customer"], "amount": "5", "invoice": open_id}),
            "invoice", "invoice_not_editable",
        )  # fmt: skip
    words = ok(api.post(f"/v1/invoices/{open_id}", data={"footer": "Thanks", "metadata[po]": "7"}))
    assert (words["footer"], words["metadata"]) == ("Thanks", {"po": "7"})


def test_paying_without_a_processor_says_so(api, store, invoices_in_every_state):
    with unchanged(store):
        error = refused(
            api.post(f"/v1/invoices/{invoices_in_every_state['open']}/pay"),
            "paid_out_of_band", None,
        )  # fmt: skip
    assert "payment" in error["message"]


def test_bad_items_are_refused_and_change_nothing(api, store):
    customer = new_customer(api)["id"]
    price = new_price(api)["id"]
    recurring = new_price(api, **{"recurring[interval]": "month"})["id"]
    inclusive = new_tax_rate(api, "10", inclusive=True)["id"]
    exclusive = new_tax_rate(api, "5")["id"]
    with unchanged(store):
        refused(
            api.post("/v1/invoiceitems", data={"customer": customer, "currency": "usd"}),
            "amount", "parameter_missing",
        )  # fmt: skip
        refused(api.post("/v1/invoiceitems", data={"customer": customer, "amount": "5"}),
                "currency", "parameter_missing")  # fmt: skip
        refused(
            api.post("/v1/invoiceitems", data={"customer": customer, "amount": "5",
                                               "pricing[price]": price, "currency": "usd"}),
            "pricing", "parameters_exclusive",
        )  # fmt: skip
        refused(
            api.post("/v1/invoiceitems", data={"customer": customer, "pricing[price]": recurring}),
            "pricing[price]",
        )
        refused(
            api.post("/v1/invoiceitems", data={
                "customer": customer, "amount": "5", "currency": "usd",
                "tax_rates[0]": inclusive, "tax_rates[1]": exclusive}),
            "tax_rates",
        )  # fmt: skip
        refused(
            api.post("/v1/invoiceitems", data={"customer": "cus_missing", "amount": "5",
                                               "currency": "usd"}),
            "customer", "resource_missing", 404,
        )  # fmt: skip
        refused(
            api.post("/v1/invoiceitems", data={"customer": customer, "amount": "5",
                     "currency": "usd", "period[start]": "200", "period[end]": "100"}),
            "period[end]",
        )  # fmt: skip
        refused(
            api.post("/v1/invoices", data={"customer": customer, "days_until_due": "3"}),
            "days_until_due",
        )


def test_the_receivables_check_names_a_tampered_invoice(api, store, pm, account):
    customer = new_customer(api)["id"]
    new_item(api, customer, amount="1200")
    invoice = ok(api.post(f"/v1/invoices/{new_invoice(api, customer)['id']}/finalize"))
    assert ledger_report(store, pm, account.account.id).clean
    with store.write() as conn:
        conn.execute(
            invoices.update().where(invoices.c.id == invoice["id"]).values(amount_remaining=1100)
        )
    found = ledger_report(store, pm, account.account.id).findings
    codes = {(f.check, f.code, f.object_id) for f in found}
    assert ("receivables", "ledger_invoice_receivable_mismatch", invoice["id"]) in codes
    assert ("receivables", "ledger_receivables_mismatch", None) in codes
    with store.read() as conn:
        assert conn.execute(sa.select(invoices.c.status)).scalar_one() == "open"
