"""Customer balance transactions: every balance change is one, and the ledger's customer
credit balance always says what ``customers.balance`` says."""

from __future__ import annotations

from billing.balance.balance_support import balances, credit_held_in_ledger
from billing.invoices.invoice_support import (
    assert_ledger_clean,
    events_of,
    new_customer,
    ok,
    refused,
    unchanged,
)


def test_a_credit_granted_moves_the_balance_and_the_ledger(api, store, pm, account):
    customer = new_customer(api)
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    txn = ok(api.post(path, data={"amount": "-500", "currency": "usd", "description": "Sorry"}))
    assert (txn["type"], txn["amount"], txn["ending_balance"]) == ("adjustment", -500, -500)
    assert txn["object"] == "customer_balance_transaction" and txn["customer"] == customer["id"]
    again = ok(api.post(path, data={"amount": "200", "currency": "usd"}))
    assert again["ending_balance"] == -300
    refreshed = ok(api.get(f"/v1/customers/{customer['id']}"))
    assert (refreshed["balance"], refreshed["currency"]) == (-300, "usd")
    assert (
        credit_held_in_ledger(store, account.account.id)
        == 300
        == -balances(store, account.account.id)
    )
    listed = ok(api.get(path))
    assert [t["id"] for t in listed["data"]] == [again["id"], txn["id"]]
    assert ok(api.get(f"{path}/{txn['id']}")) == txn
    updated = ok(api.post(f"{path}/{txn['id']}", data={"metadata[ticket]": "42"}))
    assert (updated["metadata"], updated["amount"]) == ({"ticket": "42"}, -500)
    (event,) = events_of(api, "customer.updated")[-1:]
    assert event["data"]["previous_attributes"]["balance"] == 0
    assert_ledger_clean(store, pm, account.account.id)


def test_a_balance_in_another_currency_or_of_zero_is_refused(api, store):
    customer = new_customer(api)
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    ok(api.post(path, data={"amount": "-500", "currency": "usd"}))
    with unchanged(store):
        refused(api.post(path, data={"amount": "-500", "currency": "eur"}), "currency")
        refused(api.post(path, data={"amount": "0", "currency": "usd"}), "amount")
        refused(
            api.post(f"{path}/cbtxn_missing", data={"description": "x"}),
            "transaction", "resource_missing", 404,
        )  # fmt: skip
        refused(api.post(f"{path}/x", data={"amount": "5"}), "amount", "parameter_unknown")
        refused(
            api.post("/v1/customers/cus_missing/balance_transactions",
                     data={"amount": "-5", "currency": "usd"}),
            "customer", "resource_missing", 404,
        )  # fmt: skip


def test_the_customer_balance_param_is_a_balance_transaction(api, store, pm, account):
    customer = new_customer(api, balance="-700")
    assert (customer["balance"], customer["currency"]) == (-700, "usd")
    path = f"/v1/customers/{customer['id']}/balance_transactions"
    (initial,) = ok(api.get(path))["data"]
    assert (initial["type"], initial["amount"]) == ("initial", -700)
    updated = ok(api.post(f"/v1/customers/{customer['id']}", data={"balance": "250"}))
    assert updated["balance"] == 250
    latest = ok(api.get(path))["data"][0]
    assert (latest["type"], latest["amount"], latest["ending_balance"]) == ("adjustment", 950, 250)
    assert credit_held_in_ledger(store, account.account.id) == -250
    assert_ledger_clean(store, pm, account.account.id)
