"""Invoices, their lines, invoice items, balance transactions and their events have exactly
Stripe's fixture keys, with Stripe's types."""

from __future__ import annotations

from invoice_support import (
    new_coupon,
    new_customer,
    new_invoice,
    new_item,
    new_price,
    new_tax_rate,
    ok,
)

from api.test_contract import assert_event_matches, assert_matches


def _billed(api) -> dict:  # type: ignore[no-untyped-def]
    customer = new_customer(api, name="Ann", balance="-100")["id"]
    coupon = new_coupon(api, percent_off="10")["id"]
    vat = new_tax_rate(api, "20", jurisdiction="FR")["id"]
    price = new_price(api)["id"]
    item = new_item(
        api, customer,
        **{"pricing[price]": price, "quantity": "2", "tax_rates[0]": vat,
           "discounts[0][coupon]": coupon, "period[start]": "1700000000",
           "period[end]": "1702592000", "metadata[seat]": "a"},
    )  # fmt: skip
    new_item(api, customer, amount="-300", description="Credit")
    invoice = new_invoice(
        api, customer,
        **{"default_tax_rates[0]": vat, "discounts[0][coupon]": coupon,
           "collection_method": "send_invoice", "footer": "Thanks"},
    )  # fmt: skip
    return {"customer": customer, "item": item, "invoice": invoice}


def test_invoices_in_each_state_match_the_fixture(api):
    made = _billed(api)
    invoice = made["invoice"]
    assert invoice["lines"]["data"] and invoice["total_taxes"] and invoice["discounts"]
    assert_matches(invoice, "invoice")
    final = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert_matches(final, "invoice")
    paid = ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    assert_matches(paid, "invoice")
    listed = ok(api.get("/v1/invoices", params={"customer": made["customer"]}))
    assert listed.keys() == {"object", "data", "has_more", "url"}
    for found in listed["data"]:
        assert_matches(found, "invoice")
    expanded = ok(api.get(f"/v1/invoices/{invoice['id']}", params={"expand[]": "customer"}))
    assert_matches(expanded, "invoice")


def test_lines_items_and_balance_transactions_match_their_fixtures(api):
    made = _billed(api)
    for line in ok(api.get(f"/v1/invoices/{made['invoice']['id']}/lines"))["data"]:
        assert_matches(line, "line_item")
    assert made["item"]["tax_rates"] and made["item"]["discounts"]
    assert_matches(made["item"], "invoiceitem")
    pending = new_item(api, made["customer"], amount="50")
    assert_matches(ok(api.get(f"/v1/invoiceitems/{pending['id']}")), "invoiceitem")
    assert_matches(ok(api.delete(f"/v1/invoiceitems/{pending['id']}")), "deleted_invoiceitem")
    for txn in ok(api.get(f"/v1/customers/{made['customer']}/balance_transactions"))["data"]:
        assert_matches(txn, "customer_balance_transaction")
    draft = ok(api.post("/v1/invoices", data={"customer": made["customer"]}))
    assert_matches(ok(api.delete(f"/v1/invoices/{draft['id']}")), "deleted_invoice")


def test_invoice_events_match_the_fixtures(api):
    made = _billed(api)
    invoice = made["invoice"]
    ok(api.post(f"/v1/invoices/{invoice['id']}", data={"description": "Renamed"}))
    ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    ok(api.post(f"/v1/invoices/{invoice['id']}/void"))
    kinds = ("invoice.created", "invoice.updated", "invoice.finalized", "invoice.voided",
             "invoiceitem.created")  # fmt: skip
    for kind in kinds:
        found = ok(api.get("/v1/events", params={"type": kind}))["data"]
        assert found, kind
        for event in found:
            assert_event_matches(event)
