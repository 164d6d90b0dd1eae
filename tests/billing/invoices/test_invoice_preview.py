"""create_preview prices the invoice a customer or a subscription would get next, with the
customer's balance applied, and writes nothing."""

from __future__ import annotations

from invoice_support import (
    new_coupon,
    new_customer,
    new_item,
    new_price,
    ok,
    refused,
    unchanged,
)


def test_a_customer_preview_prices_pending_items_and_leaves_them_pending(api, store):
    customer = new_customer(api, balance="-200")["id"]
    coupon = new_coupon(api, percent_off="10")["id"]
    item = new_item(api, customer, amount="1000", **{"discounts[0][coupon]": coupon})
    with unchanged(store):
        preview = ok(api.post("/v1/invoices/create_preview", data={"customer": customer}))
    assert preview["id"].startswith("upcoming_in_")
    (line,) = preview["lines"]["data"]
    assert line["id"].startswith("il_tmp_")
    assert line["parent"]["invoice_item_details"]["invoice_item"] == item["id"]
    assert (preview["subtotal"], preview["total"], preview["amount_due"]) == (1000, 900, 700)
    assert ok(api.get(f"/v1/invoiceitems/{item['id']}"))["invoice"] is None


def test_nothing_pending_is_no_upcoming_invoice(api, store):
    customer = new_customer(api)["id"]
    with unchanged(store):
        refused(
            api.post("/v1/invoices/create_preview", data={"customer": customer}),
            None, "invoice_upcoming_none",
        )  # fmt: skip
        refused(api.post("/v1/invoices/create_preview"), "customer", "parameter_missing")


def test_a_subscription_preview_is_its_next_renewal(api, store):
    customer = new_customer(api)["id"]
    price = new_price(api, **{"recurring[interval]": "month", "unit_amount": "2000"})["id"]
    subscription = ok(
        api.post(
            "/v1/subscriptions",
            data={
                "customer": customer,
                "items[0][price]": price,
                "collection_method": "send_invoice",
                "days_until_due": "7",
            },
        )  # fmt: skip
    )
    with unchanged(store):
        preview = ok(
            api.post("/v1/invoices/create_preview", data={"subscription": subscription["id"]})
        )
    assert (preview["billing_reason"], preview["subscription"]) == ("upcoming", subscription["id"])
    assert [line["amount"] for line in preview["lines"]["data"]] == [2000]
    assert preview["total"] == 2000
