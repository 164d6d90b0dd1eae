"""A one-off invoice through the API: items swept in, priced, finalized, paid out of band."""

from __future__ import annotations

from invoice_support import (
    assert_ledger_clean,
    events_of,
    new_coupon,
    new_customer,
    new_invoice,
    new_item,
    new_price,
    new_tax_rate,
    ok,
)


def test_items_become_lines_and_the_totals_add_up(api, store, pm, account):
    customer = new_customer(api)["id"]
    price = new_price(api, unit_amount="1500")["id"]
    tax = new_tax_rate(api, "10")["id"]
    new_item(api, customer, **{"pricing[price]": price, "quantity": "3"})
    new_item(api, customer, amount="-500", description="Goodwill")
    invoice = new_invoice(api, customer, **{"default_tax_rates[0]": tax})
    assert invoice["status"] == "draft"
    lines = invoice["lines"]["data"]
    assert [line["amount"] for line in lines] == [4500, -500]
    assert [line["discountable"] for line in lines] == [True, False]
    # 10% of each line, rounded per line: 450 and -50.
    assert invoice["subtotal"] == 4000
    assert invoice["total_taxes"][0]["amount"] == 400
    assert invoice["total"] == 4400 == invoice["amount_due"]
    pending = ok(api.get("/v1/invoiceitems", params={"pending": "true", "customer": customer}))
    assert pending["data"] == []
    assert len(events_of(api, "invoice.created")) == 1
    assert_ledger_clean(store, pm, account.account.id)


def test_finalize_numbers_books_and_pay_out_of_band_settles(api, store, pm, account):
    customer = new_customer(api)
    new_item(api, customer["id"], amount="2500")
    invoice = new_invoice(api, customer["id"], collection_method="send_invoice",
                          days_until_due="14")  # fmt: skip
    final = ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert final["status"] == "open"
    assert final["number"] == f"{customer['invoice_prefix']}-0001"
    assert final["due_date"] == final["status_transitions"]["finalized_at"] + 14 * 86400
    assert (final["amount_due"], final["amount_remaining"]) == (2500, 2500)
    assert_ledger_clean(store, pm, account.account.id)
    paid = ok(api.post(f"/v1/invoices/{invoice['id']}/pay", data={"paid_out_of_band": "true"}))
    assert (paid["status"], paid["amount_paid"], paid["amount_remaining"]) == ("paid", 2500, 0)
    assert paid["status_transitions"]["paid_at"] is not None
    assert len(events_of(api, "invoice.finalized")) == len(events_of(api, "invoice.paid")) == 1
    assert_ledger_clean(store, pm, account.account.id)
    second = new_invoice(api, customer["id"], pending_invoice_items_behavior="exclude")
    again = ok(api.post(f"/v1/invoices/{second['id']}/finalize"))
    assert again["number"] == f"{customer['invoice_prefix']}-0002"
    # Nothing was due: a zero invoice is paid as it is finalized.
    assert again["status"] == "paid"


def test_a_coupon_on_the_invoice_is_spread_over_its_lines(api, store, pm, account):
    customer = new_customer(api)["id"]
    new_item(api, customer, amount="3000")
    new_item(api, customer, amount="1000")
    coupon = new_coupon(api, amount_off="1000", currency="usd")["id"]
    invoice = new_invoice(api, customer, **{"discounts[0][coupon]": coupon})
    (discount,) = invoice["discounts"]
    assert invoice["total_discount_amounts"] == [{"amount": 1000, "discount": discount}]
    offs = [line["discount_amounts"][0]["amount"] for line in invoice["lines"]["data"]]
    assert offs == [750, 250]
    assert invoice["total"] == 3000
    ok(api.post(f"/v1/invoices/{invoice['id']}/finalize"))
    assert_ledger_clean(store, pm, account.account.id)


def test_a_once_coupon_is_spent_by_the_invoice_that_used_it(api, store, pm, account):
    customer = new_customer(api)["id"]
    coupon = new_coupon(api, percent_off="20", duration="once")["id"]
    new_item(api, customer, amount="1000")
    first = new_invoice(api, customer, **{"discounts[0][coupon]": coupon})
    (discount,) = first["discounts"]
    assert first["total"] == 800
    ok(api.post(f"/v1/invoices/{first['id']}/finalize"))
    new_item(api, customer, amount="1000")
    second = new_invoice(api, customer, **{"discounts[0][discount]": discount})
    assert second["discounts"] == [discount]
    assert (second["total"], second["total_discount_amounts"]) == (1000, [])
    assert_ledger_clean(store, pm, account.account.id)
