"""Review: random walks of invoice, balance and credit note operations through the API.

After every step the ledger verifies clean, receivables check included, and the ledger's
customer credit balance is exactly what the customers' balances say they hold.
"""

from __future__ import annotations

import random
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from invoice_support import assert_ledger_clean, new_coupon, new_customer, new_tax_rate, ok

from billing.balance.balance_support import credit_held_in_ledger
from remit.billing.tables import customers

STEPS = 60


class Walk:
    def __init__(self, api: httpx.Client, seed: int) -> None:
        self.api = api
        self.rng = random.Random(seed)
        self.customers: list[str] = []
        self.invoices: list[str] = []
        rates = [("10", False), ("0", False), ("20", True), ("7.5", True), ("0", True)]
        self.rates = [(new_tax_rate(api, p, i)["id"], i) for p, i in rates]
        self.coupons = [
            new_coupon(api, percent_off="100", duration="forever")["id"],
            new_coupon(api, percent_off="33.3333", duration="forever")["id"],
            new_coupon(api, amount_off="250", currency="usd", duration="forever")["id"],
            new_coupon(api, amount_off="100000", currency="usd", duration="forever")["id"],
        ]

    def step(self) -> str:
        moves = [self.customer, self.invoice, self.invoice, self.adjust]
        if self.invoices:
            moves += [self.pay, self.uncollectible, self.void, self.credit, self.credit]
        move = self.rng.choice(moves)
        move()
        return move.__name__

    def post(self, path: str, data: dict[str, Any]) -> httpx.Response:
        response = self.api.post(path, data=data)
        assert response.status_code in (200, 400), response.text
        return response

    def customer(self) -> None:
        balance = self.rng.choice([0, 0, 0, -300, -5000, 400, 6000])
        self.customers.append(new_customer(self.api, balance=str(balance))["id"])

    def adjust(self) -> None:
        if not self.customers:
            return self.customer()
        amount = self.rng.choice([-700, -1, 1, 250, -99999])
        customer = self.rng.choice(self.customers)
        self.post(
            f"/v1/customers/{customer}/balance_transactions",
            {"amount": str(amount), "currency": "usd"},
        )
        return None

    def invoice(self) -> None:
        if not self.customers:
            self.customer()
        customer = self.rng.choice(self.customers)
        # Now and then an invoice of credits only: a negative total.
        amounts = [-1, -400, -3000] if self.rng.random() < 0.2 else [0, 1, 999, 5000, 80000, -400]
        for _ in range(self.rng.randint(1, 4)):
            data = {"customer": customer, "currency": "usd"}
            data["amount"] = str(self.rng.choice(amounts))
            inclusive = self.rng.random() < 0.5
            pool = [rate for rate, inc in self.rates if inc == inclusive]
            for n, rate in enumerate(self.rng.sample(pool, self.rng.randint(0, len(pool)))):
                data[f"tax_rates[{n}]"] = rate
            self.post("/v1/invoiceitems", data)
        draft = {"customer": customer, "pending_invoice_items_behavior": "include"}
        for n, coupon in enumerate(self.rng.sample(self.coupons, self.rng.choice([0, 0, 0, 1, 2]))):
            draft[f"discounts[{n}][coupon]"] = coupon
        made = self.post("/v1/invoices", draft)
        if made.status_code == 200:
            invoice = made.json()["id"]
            if self.post(f"/v1/invoices/{invoice}/finalize", {}).status_code == 200:
                self.invoices.append(invoice)

    def pick(self, *statuses: str) -> str:
        """Mostly an invoice in one of ``statuses`` (when there is one), sometimes any."""
        found = [
            invoice["id"]
            for status in statuses
            for invoice in ok(
                self.api.get("/v1/invoices", params={"status": status, "limit": 100})
            )["data"]
        ]
        return self.rng.choice(found if found and self.rng.random() < 0.85 else self.invoices)

    def pay(self) -> None:
        invoice = self.pick("open", "uncollectible")
        self.post(f"/v1/invoices/{invoice}/pay", {"paid_out_of_band": "true"})

    def uncollectible(self) -> None:
        self.post(f"/v1/invoices/{self.pick('open')}/mark_uncollectible", {})

    def void(self) -> None:
        self.post(f"/v1/invoices/{self.pick('open', 'uncollectible')}/void", {})

    def credit(self) -> None:
        invoice = ok(self.api.get(f"/v1/invoices/{self.pick('open', 'paid')}"))
        if invoice["status"] not in ("open", "paid") or invoice["total"] <= 0:
            return
        notes = ok(self.api.get("/v1/credit_notes", params={"invoice": invoice["id"]}))
        left = invoice["total"] - sum(n["total"] for n in notes["data"])
        if left <= 0:
            return
        amount = self.rng.choice([1, left, self.rng.randint(1, left)])
        preview = self.api.get(
            "/v1/credit_notes/preview", params={"invoice": invoice["id"], "amount": amount}
        )
        if preview.status_code != 200:
            assert preview.status_code == 400, preview.text
            return
        post = preview.json()["post_payment_amount"]
        to_balance = self.rng.randint(0, post)
        data = {"invoice": invoice["id"], "amount": str(amount)}
        if post:
            data |= {"credit_amount": str(to_balance), "out_of_band_amount": str(post - to_balance)}
        self.post("/v1/credit_notes", data)


def balances_held(store, account_id: str) -> int:  # type: ignore[no-untyped-def]
    c = customers.c
    with store.read() as conn:
        query = sa.select(sa.func.coalesce(sa.func.sum(c.balance), 0)).where(
            c.account_id == account_id
        )
        return -int(conn.execute(query).scalar_one())


@pytest.mark.parametrize("seed", range(8))
def test_a_random_walk_keeps_the_books(api, store, pm, account, seed):
    walk = Walk(api, seed)
    done = []
    for _ in range(STEPS):
        done.append(walk.step())
        assert_ledger_clean(store, pm, account.account.id)
        held = credit_held_in_ledger(store, account.account.id)
        assert held == balances_held(store, account.account.id), done
