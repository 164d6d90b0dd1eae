"""Property: whatever the catalog, quantities, coupons, tax rates and customer balance, a
finalized invoice as stored and served holds Stripe's identities:

- subtotal = the sum of its lines' amounts;
- total = subtotal - discounts + exclusive taxes;
- total_excluding_tax = subtotal - discounts - inclusive taxes;
- each line: its discounts and taxes add up, inclusive taxes are extracted so that what is
  left plus the tax is exactly the discounted amount, exclusive taxes sit on top of it;
- the invoice's discounts and taxes are the sums of its lines', per discount and per rate;
- amount_due = total moved by the balance: max(0, total + starting balance), the rest
  staying with the customer as ending balance; paid exactly when nothing is due;
- the ledger verifies clean, receivables included.

Invoices are made through the API from pending invoice items (amounts, unit prices with
decimals, one-time prices) or from subscriptions (per-unit and tiered prices, quantities).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scenario_support import books_findings

PERCENT = st.decimals(min_value=Decimal("0.0001"), max_value=Decimal("40"), places=4)
RATE = st.tuples(PERCENT, st.booleans())  # (percentage, inclusive)
COUPON = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100"), places=2).map(
        lambda pct: {"percent_off": str(pct)}
    ),
    st.integers(1, 30_000).map(lambda off: {"amount_off": str(off), "currency": "usd"}),
)
UNIT = st.decimals(min_value=Decimal("0"), max_value=Decimal("5000"), places=3)
ITEM = st.one_of(
    st.builds(lambda a: {"amount": str(a)}, st.integers(-3_000, 40_000)),
    st.builds(
        lambda u, q: {"unit_amount_decimal": str(u), "quantity": str(q)}, UNIT, st.integers(0, 30)
    ),
    st.builds(
        lambda u, q: {"one_time_price": str(u), "quantity": str(q)}, UNIT, st.integers(1, 30)
    ),  # fmt: skip
)
TIERS = st.lists(st.integers(0, 900), min_size=2, max_size=3)  # unit amounts per tier
SUB_ITEM = st.tuples(
    st.sampled_from(["per_unit", "graduated", "volume"]), TIERS, st.integers(1, 60)
)
RATES_PICK = st.lists(st.integers(0, 3), max_size=2, unique=True)  # indexes into the rates


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def _form(prefix: str, values: dict[str, Any]) -> dict[str, str]:
    return {f"{prefix}[{key}]": str(value) for key, value in values.items()}


def _rates(api: httpx.Client, rates: list[tuple[Decimal, bool]]) -> list[tuple[str, bool]]:
    return [
        (ok(api.post("/v1/tax_rates", data={"display_name": f"T{n}", "percentage": str(pct),
                                            "inclusive": str(inclusive).lower()}))["id"],
         inclusive)
        for n, (pct, inclusive) in enumerate(rates)
    ]  # fmt: skip


def _pick(rates: list[tuple[str, bool]], picked: list[int]) -> list[str]:
    """The picked rates, kept to one kind: a line may not mix inclusive and exclusive."""
    chosen = [rates[i] for i in picked if i < len(rates)]
    if not chosen:
        return []
    kind = chosen[0][1]
    return [rate for rate, inclusive in chosen if inclusive == kind]


def _rate_params(rates: list[str], prefix: str) -> dict[str, str]:
    return {f"{prefix}[{n}]": rate for n, rate in enumerate(rates)}


def _coupon(api: httpx.Client, coupon: dict[str, str] | None) -> dict[str, str]:
    if coupon is None:
        return {}
    made = ok(api.post("/v1/coupons", data={**coupon, "duration": "forever"}))
    return {"discounts[0][coupon]": made["id"]}


def _item_params(api: httpx.Client, item: dict[str, str]) -> dict[str, str]:
    if "one_time_price" not in item:
        return item
    product = ok(api.post("/v1/products", data={"name": "Part"}))["id"]
    price = ok(
        api.post(
            "/v1/prices",
            data={
                "product": product,
                "currency": "usd",
                "unit_amount_decimal": item["one_time_price"],
            },
        )
    )
    return {"price": price["id"], "quantity": item["quantity"]}  # fmt: skip


def _from_items(api, customer, rates, items, coupon) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for item, picked in items:
        params = {"customer": customer, "currency": "usd", **_item_params(api, item)}
        ok(api.post("/v1/invoiceitems", data={**params, **_rate_params(_pick(rates, picked),
                                                                       "tax_rates")}))  # fmt: skip
    invoice = ok(
        api.post("/v1/invoices", data={"customer": customer, "collection_method": "send_invoice",
                                       "days_until_due": "30", **_coupon(api, coupon),
                                       "pending_invoice_items_behavior": "include"})
    )  # fmt: skip
    return dict(ok(api.post(f"/v1/invoices/{invoice['id']}/finalize")))


def _price(api: httpx.Client, model: str, tiers: list[int]) -> str:
    product = ok(api.post("/v1/products", data={"name": "Plan"}))["id"]
    data = {"product": product, "currency": "usd", "recurring[interval]": "month"}
    if model == "per_unit":
        data["unit_amount"] = str(tiers[0])
    else:
        data |= {"billing_scheme": "tiered", "tiers_mode": model}
        for n, unit in enumerate(tiers):
            up_to = "inf" if n == len(tiers) - 1 else str(5 * (n + 1))
            data |= _form(f"tiers[{n}]", {"up_to": up_to, "unit_amount": unit})
    return str(ok(api.post("/v1/prices", data=data))["id"])


def _from_subscription(api, customer, rates, items, coupon, defaults) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    data = {
        "customer": customer,
        "collection_method": "send_invoice",
        "days_until_due": "30",
        **_coupon(api, coupon),
        **_rate_params(_pick(rates, defaults), "default_tax_rates"),
    }
    for n, ((model, tiers, quantity), picked) in enumerate(items):
        data |= {f"items[{n}][price]": _price(api, model, tiers),
                 f"items[{n}][quantity]": str(quantity),
                 **_rate_params(_pick(rates, picked), f"items[{n}][tax_rates]")}  # fmt: skip
    sub = ok(api.post("/v1/subscriptions", data=data))
    return dict(ok(api.get(f"/v1/invoices/{sub['latest_invoice']}")))


def _lines(api: httpx.Client, invoice: dict[str, Any]) -> list[dict[str, Any]]:
    found = ok(api.get(f"/v1/invoices/{invoice['id']}/lines", params={"limit": 100}))
    assert not found["has_more"]
    return list(found["data"])


def _taxes(entries: list[dict[str, Any]], inclusive: bool) -> int:
    behavior = "inclusive" if inclusive else "exclusive"
    return sum(t["amount"] for t in entries if t["tax_behavior"] == behavior)


def _assert_line(line: dict[str, Any]) -> None:
    off = sum(d["amount"] for d in line["discount_amounts"])
    left = line["amount"] - off
    inclusive = _taxes(line["taxes"], inclusive=True)
    assert not (inclusive and _taxes(line["taxes"], inclusive=False)), line
    if line["amount"] <= 0:
        assert off == 0, "credits are not discounted"
    for tax in line["taxes"]:
        # Every rate of a line is levied on the same amount: what is left without the tax.
        assert tax["taxable_amount"] == left - inclusive, line


def _assert_identities(invoice: dict[str, Any], lines: list[dict[str, Any]]) -> None:
    discounts = sum(d["amount"] for d in invoice["total_discount_amounts"])
    inclusive = _taxes(invoice["total_taxes"], inclusive=True)
    exclusive = _taxes(invoice["total_taxes"], inclusive=False)
    assert invoice["subtotal"] == sum(line["amount"] for line in lines)
    assert invoice["total"] == invoice["subtotal"] - discounts + exclusive
    assert invoice["total_excluding_tax"] == invoice["subtotal"] - discounts - inclusive
    assert invoice["subtotal_excluding_tax"] == invoice["subtotal"] - inclusive
    per_discount: dict[str, int] = defaultdict(int)
    per_rate: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for line in lines:
        _assert_line(line)
        for d in line["discount_amounts"]:
            per_discount[d["discount"]] += d["amount"]
        for t in line["taxes"]:
            summed = per_rate[t["tax_rate_details"]["tax_rate"]]
            summed[0], summed[1] = summed[0] + t["amount"], summed[1] + t["taxable_amount"]
    # A discount that found nothing to take off may be listed at zero.
    listed = {d["discount"]: d["amount"] for d in invoice["total_discount_amounts"]}
    assert {k: v for k, v in listed.items() if v} == {k: v for k, v in per_discount.items() if v}
    assert {
        t["tax_rate_details"]["tax_rate"]: [t["amount"], t["taxable_amount"]]
        for t in invoice["total_taxes"]
    } == dict(per_rate)


def _assert_balance(invoice: dict[str, Any], balance_after: int) -> None:
    owed = invoice["total"] + invoice["starting_balance"]
    assert invoice["amount_due"] == max(0, owed)
    assert invoice["ending_balance"] == min(0, owed) == balance_after
    assert invoice["amount_remaining"] == invoice["amount_due"]
    assert invoice["status"] == ("paid" if invoice["amount_due"] == 0 else "open")


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rates=st.lists(RATE, max_size=4),
    coupon=COUPON,
    balance=st.one_of(st.just(0), st.integers(-20_000, 20_000)),
    source=st.one_of(
        st.tuples(st.just("items"), st.lists(st.tuples(ITEM, RATES_PICK), min_size=1, max_size=5)),
        st.tuples(
            st.just("subscription"),
            st.lists(st.tuples(SUB_ITEM, RATES_PICK), min_size=1, max_size=3),
        ),
    ),  # fmt: skip
    defaults=RATES_PICK,
)
def test_invoice_totals_identities_hold(api, store, pm, account, rates, coupon, balance, source,
                                        defaults):  # fmt: skip
    customer = ok(api.post("/v1/customers", data={"name": "Prop"}))["id"]
    if balance:
        ok(api.post(f"/v1/customers/{customer}/balance_transactions",
                    data={"amount": str(balance), "currency": "usd"}))  # fmt: skip
    made = _rates(api, rates)
    kind, items = source
    if kind == "items":
        invoice = _from_items(api, customer, made, items, coupon)
    else:
        invoice = _from_subscription(api, customer, made, items, coupon, defaults)
    stored = ok(api.get(f"/v1/invoices/{invoice['id']}"))
    assert stored == invoice
    assert stored["starting_balance"] == balance
    _assert_identities(stored, _lines(api, stored))
    _assert_balance(stored, ok(api.get(f"/v1/customers/{customer}"))["balance"])
    assert books_findings(store, pm, account.account.id) == []
