"""Drafts change freely and are priced again; their lines page in order; an invoice of a
customer on a test clock lives on that clock's time."""

from __future__ import annotations

from invoice_support import (
    events_of,
    new_coupon,
    new_customer,
    new_invoice,
    new_item,
    new_tax_rate,
    ok,
    refused,
    unchanged,
)


def test_a_draft_is_priced_again_on_each_change(api, store):
    customer = new_customer(api)["id"]
    new_item(api, customer, amount="2000")
    draft = new_invoice(api, customer)
    tax = new_tax_rate(api, "10")["id"]
    taxed = ok(api.post(f"/v1/invoices/{draft['id']}", data={"default_tax_rates[0]": tax}))
    assert (taxed["total"], taxed["default_tax_rates"][0]["id"]) == (2200, tax)
    coupon = new_coupon(api, percent_off="50")["id"]
    halved = ok(api.post(f"/v1/invoices/{draft['id']}", data={"discounts[0][coupon]": coupon}))
    assert (halved["total"], halved["total_discount_amounts"][0]["amount"]) == (1100, 1000)
    unset = {"discounts": "", "default_tax_rates": ""}
    cleared = ok(api.post(f"/v1/invoices/{draft['id']}", data=unset))
    assert (cleared["total"], cleared["discounts"], cleared["total_taxes"]) == (2000, [], [])
    updates = events_of(api, "invoice.updated")
    assert [e["data"]["previous_attributes"]["total"] for e in updates] == [1100, 2200, 2000]
    advancing = ok(api.post(f"/v1/invoices/{draft['id']}", data={"auto_advance": "true"}))
    assert advancing["automatically_finalizes_at"] == draft["created"] + 3600
    sent = ok(api.post(f"/v1/invoices/{draft['id']}", data={"collection_method": "send_invoice"}))
    assert (sent["collection_method"], sent["due_date"]) == ("send_invoice", None)
    due = str(draft["created"] + 86400 * 9)
    dated = ok(api.post(f"/v1/invoices/{draft['id']}", data={"due_date": due}))
    assert dated["due_date"] == int(due)
    both = {"due_date": due, "days_until_due": "3"}
    with unchanged(store):
        refused(api.post(f"/v1/invoices/{draft['id']}", data={"due_date": "1000"}), "due_date")
        refused(api.post(f"/v1/invoices/{draft['id']}", data=both), "due_date")
        refused(
            api.post(f"/v1/invoices/{draft['id']}", data={"discounts[0][coupon]": "nope"}),
            "discounts[0]", "resource_missing", 404,
        )  # fmt: skip


def test_lines_page_in_invoice_order(api):
    customer = new_customer(api)["id"]
    for amount in range(1, 15):
        new_item(api, customer, amount=str(amount))
    invoice = new_invoice(api, customer)
    assert len(invoice["lines"]["data"]) == 10 and invoice["lines"]["has_more"]
    path = f"/v1/invoices/{invoice['id']}/lines"
    first = ok(api.get(path, params={"limit": 5}))
    assert [line["amount"] for line in first["data"]] == [1, 2, 3, 4, 5] and first["has_more"]
    after = ok(api.get(path, params={"limit": 20, "starting_after": first["data"][-1]["id"]}))
    assert [line["amount"] for line in after["data"]] == list(range(6, 15))
    assert not after["has_more"]
    before = ok(api.get(path, params={"limit": 2, "ending_before": after["data"][0]["id"]}))
    assert [line["amount"] for line in before["data"]] == [4, 5] and before["has_more"]
    refused(api.get(path, params={"starting_after": "il_nope"}), "starting_after",
            "resource_missing", 404)  # fmt: skip


def test_an_invoice_on_a_test_clock_lives_on_its_time(api):
    clock = ok(api.post("/v1/test_helpers/test_clocks", data={"frozen_time": "1767225600"}))
    customer = new_customer(api, test_clock=clock["id"])["id"]
    item = new_item(api, customer, amount="500")
    assert item["date"] == 1767225600 and item["test_clock"] == clock["id"]
    invoice = new_invoice(api, customer, collection_method="send_invoice", days_until_due="3")
    assert (invoice["created"], invoice["test_clock"]) == (1767225600, clock["id"])
    final = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert final["status_transitions"]["finalized_at"] == 1767225600
    assert final["due_date"] == 1767225600 + 3 * 86400
    (event,) = events_of(api, "invoice.finalized")
    assert event["created"] == 1767225600
