"""Invoice items: pending until swept, or straight onto a draft; changed or deleted while
pending or on a draft (which is priced again each time), never once finalized."""

from __future__ import annotations

from decimal import Decimal

from invoice_support import (
    events_of,
    new_customer,
    new_invoice,
    new_item,
    new_price,
    new_tax_rate,
    ok,
    refused,
    unchanged,
)


def test_an_item_is_priced_from_its_source(api):
    customer = new_customer(api)["id"]
    price = new_price(api, unit_amount_decimal="12.345")["id"]
    rated = new_item(api, customer, **{"pricing[price]": price, "quantity": "4"})
    # 4 x 12.345 = 49.38 cents, rounded once (half up): 49.
    assert (rated["amount"], rated["quantity"], rated["quantity_decimal"]) == (49, 4, "4")
    assert rated["pricing"] == {"type": "price_details", "unit_amount_decimal": "12.345"}
    by_unit = new_item(api, customer, unit_amount_decimal="0.5", quantity="3")
    assert by_unit["amount"] == 2  # 1.5 rounds half up
    flat = new_item(api, customer, amount="-250")
    assert (flat["discountable"], flat["net_amount"], flat["parent"]) == (False, -250, None)
    assert rated["net_amount"] is None  # Stripe leaves it null for discountable items
    assert rated["period"]["start"] == rated["period"]["end"] == rated["date"]
    assert [e["data"]["object"]["id"] for e in events_of(api, "invoiceitem.created")] == [
        flat["id"], by_unit["id"], rated["id"],
    ]  # fmt: skip


def test_pending_items_change_and_go(api, store):
    customer = new_customer(api)["id"]
    tax = new_tax_rate(api, "8.875")
    item = new_item(api, customer, unit_amount_decimal="100", quantity="2", description="Seats")
    changed = ok(api.post(f"/v1/invoiceitems/{item['id']}",
                          data={"quantity": "5", "tax_rates[0]": tax["id"]}))  # fmt: skip
    assert (changed["amount"], changed["quantity"]) == (500, 5)
    assert changed["tax_rates"] == [tax]
    (event,) = events_of(api, "invoiceitem.updated")
    assert event["data"]["previous_attributes"]["amount"] == 200
    gone = ok(api.delete(f"/v1/invoiceitems/{item['id']}"))
    assert gone == {"id": item["id"], "object": "invoiceitem", "deleted": True}
    with unchanged(store):
        refused(api.get(f"/v1/invoiceitems/{item['id']}"), "id", "resource_missing", 404)
    assert ok(api.get("/v1/invoiceitems", params={"customer": customer}))["data"] == []


def test_items_on_a_draft_reprice_it(api):
    customer = new_customer(api)["id"]
    draft = new_invoice(api, customer)
    assert draft["total"] == 0 and draft["lines"]["data"] == []
    item = new_item(api, customer, amount="1000", invoice=draft["id"])
    assert item["invoice"] == draft["id"]
    assert ok(api.get(f"/v1/invoices/{draft['id']}"))["total"] == 1000
    ok(api.post(f"/v1/invoiceitems/{item['id']}", data={"amount": "1500"}))
    invoice = ok(api.get(f"/v1/invoices/{draft['id']}"))
    assert (invoice["total"], invoice["lines"]["data"][0]["amount"]) == (1500, 1500)
    updates = events_of(api, "invoice.updated")
    assert [e["data"]["previous_attributes"]["total"] for e in updates] == [1000, 0]
    ok(api.delete(f"/v1/invoiceitems/{item['id']}"))
    emptied = ok(api.get(f"/v1/invoices/{draft['id']}"))
    assert (emptied["total"], emptied["lines"]["data"]) == (0, [])


def test_deleting_a_draft_returns_its_items_to_pending(api):
    customer = new_customer(api)["id"]
    item = new_item(api, customer, amount="700")
    draft = new_invoice(api, customer)
    assert ok(api.get(f"/v1/invoiceitems/{item['id']}"))["invoice"] == draft["id"]
    listed = ok(api.get("/v1/invoiceitems", params={"invoice": draft["id"]}))
    assert [i["id"] for i in listed["data"]] == [item["id"]]
    gone = ok(api.delete(f"/v1/invoices/{draft['id']}"))
    assert gone == {"id": draft["id"], "object": "invoice", "deleted": True}
    pending = ok(api.get("/v1/invoiceitems", params={"pending": "true"}))
    assert [i["id"] for i in pending["data"]] == [item["id"]]
    assert len(events_of(api, "invoice.deleted")) == 1


def test_items_of_a_finalized_invoice_cannot_change(api, store):
    customer = new_customer(api)["id"]
    item = new_item(api, customer, amount="700")
    ok(api.post(f"/v1/invoices/{new_invoice(api, customer)['id']}/finalize"))
    with unchanged(store):
        refused(api.post(f"/v1/invoiceitems/{item['id']}", data={"amount": "1"}),
                "invoice", "invoice_not_editable")  # fmt: skip
        refused(api.delete(f"/v1/invoiceitems/{item['id']}"), "invoice", "invoice_not_editable")


def test_only_items_of_the_invoice_currency_and_subscription_are_swept(api):
    customer = new_customer(api)["id"]
    usd = new_item(api, customer, amount="100")
    eur = new_item(api, customer, amount="100", currency="eur")
    invoice = new_invoice(api, customer, currency="usd")
    assert [line["parent"]["invoice_item_details"]["invoice_item"]
            for line in invoice["lines"]["data"]] == [usd["id"]]  # fmt: skip
    assert ok(api.get(f"/v1/invoiceitems/{eur['id']}"))["invoice"] is None
    excluded = ok(api.post("/v1/invoices", data={"customer": customer, "currency": "eur"}))
    assert excluded["lines"]["data"] == []  # Stripe's default today: pending items excluded
    assert Decimal(usd["pricing"]["unit_amount_decimal"]) == 100


def test_price_data_prices_a_product_in_place(api):
    customer = new_customer(api)["id"]
    product = ok(api.post("/v1/products", data={"name": "Consulting"}))["id"]
    other = ok(api.post("/v1/products", data={"name": "Other"}))["id"]
    inline = {"price_data[currency]": "usd", "price_data[product]": product,
              "price_data[unit_amount_decimal]": "2500.5", "quantity": "2"}  # fmt: skip
    item = new_item(api, customer, **inline)
    assert (item["amount"], item["pricing"]["unit_amount_decimal"]) == (5001, "2500.5")
    more = ok(api.post(f"/v1/invoiceitems/{item['id']}", data={"quantity": "4"}))
    assert more["amount"] == 10002
    only_product = {"percent_off": "10", "duration": "once", "applies_to[products][0]": product}
    coupon = ok(api.post("/v1/coupons", data=only_product))["id"]
    new_item(api, customer, **{**inline, "price_data[product]": other})
    invoice = new_invoice(api, customer, **{"discounts[0][coupon]": coupon})
    (discount,) = invoice["discounts"]
    assert [line["discount_amounts"] for line in invoice["lines"]["data"]] == [
        [{"amount": 1000, "discount": discount}], [],
    ]  # fmt: skip
    refused(
        api.post("/v1/invoiceitems", data={**inline, "customer": customer, "currency": "eur"}),
        "price_data[currency]",
    )
