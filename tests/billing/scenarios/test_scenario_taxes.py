"""A New York agency sells to a customer three things a month, with a 10% forever coupon:

- 3 seats at 19.99, under New York's combined sales tax (8.875%, exclusive);
- support at 123.45, a price that already holds 20% VAT (inclusive);
- storage at 7.77, under the state's 4% and the city's 4.875% as two exclusive rates.

Every amount below is worked by hand: the coupon per line (rounded half up), exclusive
taxes on what is left, inclusive tax extracted from what is left, then the invoice totals.
"""

from __future__ import annotations

from fractions import Fraction

import stripe
from scenario_support import (
    HOUR_S,
    advance,
    assert_books_clean,
    half_up,
    invoices_of,
    pay_out_of_band,
    sdk,
    ts,
)


def _rate(client: stripe.StripeClient, name: str, pct: str, inclusive: bool, where: str) -> str:
    return client.v1.tax_rates.create(
        params={"display_name": name, "percentage": pct, "inclusive": inclusive,
                "jurisdiction": where}
    ).id  # fmt: skip


def _price(client: stripe.StripeClient, name: str, unit_minor: int) -> str:
    return client.v1.prices.create(
        params={"currency": "usd", "unit_amount": unit_minor,
                "recurring": {"interval": "month"}, "product_data": {"name": name}}
    ).id  # fmt: skip


def test_inclusive_and_exclusive_taxes_with_a_coupon(server, account, store, pm):
    client = sdk(server, account)
    clock = client.v1.test_helpers.test_clocks.create(params={"frozen_time": ts(2024, 1, 1)})
    customer = client.v1.customers.create(params={"name": "Agency", "test_clock": clock.id})
    nyc_combined = _rate(client, "Sales tax", "8.875", False, "US-NY")
    vat = _rate(client, "VAT", "20", True, "FR")
    state, city = (
        _rate(client, "State tax", "4", False, "US-NY"),
        _rate(client, "City tax", "4.875", False, "US-NY"),
    )
    coupon = client.v1.coupons.create(params={"percent_off": 10, "duration": "forever"})
    sub = client.v1.subscriptions.create(
        params={
            "customer": customer.id,
            "items": [
                {"price": _price(client, "Seats", 1999), "quantity": 3,
                 "tax_rates": [nyc_combined]},
                {"price": _price(client, "Support", 12345), "tax_rates": [vat]},
                {"price": _price(client, "Storage", 777), "tax_rates": [state, city]},
            ],
            "discounts": [{"coupon": coupon.id}],
            "collection_method": "send_invoice",
            "days_until_due": 30,
        }
    )  # fmt: skip

    # Seats: 3 x 1999 = 5997; 10% off = 599.7 -> 600; 5397 left; 8.875% = 478.98375 -> 479.
    seats = {"amount": 5997, "off": 600, "taxes": {nyc_combined: 479}, "taxable": 5397}
    # Support: 12345; 10% off = 1234.5 -> 1235; 11110 left, tax inside it:
    # 11110 x 20 / 120 = 1851.66... -> 1852, so 9258 is what the VAT was levied on.
    support = {"amount": 12345, "off": 1235, "taxes": {vat: 1852}, "taxable": 11110 - 1852}
    # Storage: 777; 10% off = 77.7 -> 78; 699 left; 4% = 27.96 -> 28; 4.875% = 34.07625 -> 34.
    storage = {"amount": 777, "off": 78, "taxes": {state: 28, city: 34}, "taxable": 699}
    assert half_up(Fraction(5397 * 8875, 100_000)) == 479
    assert half_up(Fraction(11110 * 20, 120)) == 1852
    assert (half_up(Fraction(699 * 4, 100)), half_up(Fraction(699 * 4875, 100_000))) == (28, 34)

    subtotal = 5997 + 12345 + 777  # 19119
    discounts = 600 + 1235 + 78  # 1913
    exclusive = 479 + 28 + 34  # 541
    inclusive = 1852
    [first] = invoices_of(client, subscription=sub.id)
    _assert_totals(first, [seats, support, storage])
    assert (first.subtotal, first.total) == (subtotal, subtotal - discounts + exclusive)
    assert first.total == 17_747
    assert first.total_excluding_tax == subtotal - discounts - inclusive == 15_354
    assert first.subtotal_excluding_tax == subtotal - inclusive == 17_267
    assert first.amount_due == first.total
    expanded = client.v1.invoices.retrieve(first.id, params={"expand": ["discounts"]})
    assert [d.source.coupon for d in expanded.discounts] == [coupon.id]
    pay_out_of_band(client, first.id)

    # A month on, the renewal repeats every figure.
    advance(client, store, pm, clock.id, ts(2024, 2, 1) + 2 * HOUR_S)
    _, renewal = invoices_of(client, subscription=sub.id)
    _assert_totals(renewal, [seats, support, storage])
    assert (renewal.total, renewal.total_excluding_tax) == (17_747, 15_354)
    assert_books_clean(store, pm, account.account.id, open_amount=17_747)


def _assert_totals(invoice: stripe.Invoice, expected: list[dict]) -> None:
    """Each line's amount, discount and taxes, then the invoice's sums of them."""
    lines = sorted(invoice.lines.data, key=lambda line: -line.amount)
    assert [line.amount for line in lines] == sorted((e["amount"] for e in expected), reverse=True)
    by_amount = {e["amount"]: e for e in expected}
    for line in lines:
        wanted = by_amount[line.amount]
        assert [d.amount for d in line.discount_amounts] == [wanted["off"]]
        taxes = {t.tax_rate_details.tax_rate: t for t in line.taxes}
        assert {rate: t.amount for rate, t in taxes.items()} == wanted["taxes"]
        assert {t.taxable_amount for t in taxes.values()} == {wanted["taxable"]}
    [(_, off)] = [(d.discount, d.amount) for d in invoice.total_discount_amounts]
    assert off == sum(e["off"] for e in expected)
    summed: dict[str, int] = {}
    for e in expected:
        for rate, amount in e["taxes"].items():
            summed[rate] = summed.get(rate, 0) + amount
    total_taxes = {t.tax_rate_details.tax_rate: t for t in invoice.total_taxes}
    assert {rate: t.amount for rate, t in total_taxes.items()} == summed
    inclusive = {rate for rate, t in total_taxes.items() if t.tax_behavior == "inclusive"}
    assert len(inclusive) == 1
