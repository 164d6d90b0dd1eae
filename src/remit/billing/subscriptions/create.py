"""Starting a subscription: checks, rows, and its first invoice, finalized at once.

Order of work: every check that can refuse the request runs before the first write;
discounts are attached (which checks and redeems them); the subscription and its items are
written; the first invoice (``subscription_create``) is built and the subscription is
announced; the invoice is finalized, and the status follows it through the
``remit_invoice_status_changed`` hook like any later invoice: a charge_automatically
subscription starts ``incomplete`` and turns ``active`` once its first invoice is paid
(at once when nothing is due).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import customers, test_clocks
from remit.billing.invoices import build, lifecycle
from remit.billing.invoices.drafts import InvoiceDraft, LineDraft
from remit.billing.subscriptions import changes, lines, records, render, validate
from remit.billing.subscriptions.cycle import FirstPeriod, first_period, trial_end_of
from remit.billing.subscriptions.validate import CheckedItem
from remit.billing.taxes import tax_rates
from remit.catalog.models import pricing_models
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError

PAYMENT_BEHAVIORS = ("allow_incomplete", "default_incomplete", "error_if_incomplete")


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    customer = customers.load_live(conn, ctx.account_id, params["customer"], "customer")
    now_ts = test_clocks.now_for(conn, ctx, customer.test_clock)
    checked = validate.check_items(conn, ctx.account_id, params["items"])
    pairs = [(f"{item.param}[price]", item.price_row) for item in checked]
    validate.distinct_prices(pairs)
    grid = validate.same_interval(pairs)
    currency = validate.choose_currency(
        conn, customer, params.get("currency"), checked[0].price_row
    )
    for param, price in pairs:
        validate.offered_in(price, currency, param)
    first = first_period(params, grid, now_ts, trial_end_of(params, [p for _, p in pairs], now_ts))
    method, days = validate.collection(
        params.get("collection_method", "charge_automatically"), params.get("days_until_due")
    )
    cancel_at, at_period_end = validate.cancel_terms(params, now_ts, now_ts)
    default_rates = tuple(params.get("default_tax_rates") or ())
    tax_rates.check_attachable(conn, ctx.account_id, default_rates, "default_tax_rates")
    sub_id = records.new_subscription_id()
    row = {
        "id": sub_id,
        "account_id": ctx.account_id,
        "customer": customer.id,
        "test_clock": customer.test_clock,
        "status": _initial_status(first, method),
        "currency": currency,
        "created": now_ts,
        "start_date": now_ts,
        "billing_cycle_anchor": first.anchor_ts,
        "billing_cycle_anchor_config": first.anchor_config,
        "current_period_start": first.start_ts,
        "current_period_end": first.end_ts,
        "trial_start": now_ts if first.trial_end_ts is not None else None,
        "trial_end": first.trial_end_ts,
        "trial_will_end_sent": False,
        "trial_settings": params.get("trial_settings"),
        "cancel_at": cancel_at,
        "cancel_at_period_end": at_period_end,
        "canceled_at": None,
        "ended_at": None,
        "cancellation_details": {},
        "collection_method": method,
        "days_until_due": days,
        "default_tax_rates": list(default_rates),
        "discounts": [],
        "pause_collection": None,
        "latest_invoice": None,
        "description": params.get("description") or None,
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
    }
    return _start(conn, ctx, row, checked, first, params)


def _initial_status(first: FirstPeriod, collection_method: str) -> str:
    """Trials and send_invoice subscriptions start at once; one charged automatically
    starts ``incomplete`` until its first invoice is paid."""
    if first.trial_end_ts is not None:
        return "trialing"
    return "active" if collection_method == "send_invoice" else "incomplete"


def _start(
    conn: sa.Connection,
    ctx: CallContext,
    row: dict[str, Any],
    checked: Sequence[CheckedItem],
    first: FirstPeriod,
    params: Mapping[str, Any],
) -> dict[str, Any]:
    sub = SimpleNamespace(**row)
    views = [item.view(records.new_item_id()) for item in checked]
    drafted = _first_lines(ctx, sub, views, first, params.get("proration_behavior"))
    order_amount = sum(line.amount for line in drafted)

    def attach(specs: Sequence[Mapping[str, str]], param: str, **scope: str) -> tuple[str, ...]:
        found = changes.attach_all(
            conn, ctx, sub, specs, param, row["created"], order_amount, **scope
        )
        return tuple(found)

    row["discounts"] = list(attach(params.get("discounts") or (), "discounts", subscription=sub.id))
    views = [
        dataclasses.replace(view, discounts=attach(item.discount_specs, f"{item.param}[discounts]",
                                                   subscription_item=view.id))
        for item, view in zip(checked, views, strict=True)
    ]  # fmt: skip
    by_item = {view.id: view for view in views}
    drafted = [
        dataclasses.replace(line, discounts=by_item[line.subscription_item or ""].discounts)
        for line in drafted
    ]
    records.insert(conn, row, [_item_row(row, view) for view in views])
    invoice_id = _first_invoice(conn, ctx, row, drafted)
    sub_row = render.load(conn, ctx.account_id, row["id"])
    records.write(conn, sub_row, {"latest_invoice": invoice_id})
    records.announce_created(conn, ctx, row["id"], row["created"])
    lifecycle.finalize_many(conn, ctx, [invoice_id], row["created"])
    final = render.load(conn, ctx.account_id, row["id"])
    if final.status == "incomplete" and params.get("payment_behavior") == "error_if_incomplete":
        # Raising undoes the whole request: nothing of the subscription remains.
        raise InvalidRequestError(
            "The subscription's first invoice could not be paid: this customer has no "
            "payment method that can be charged (payment_behavior=error_if_incomplete).",
            param="payment_behavior",
            http_status=402,
        )
    return render.render(conn, ctx.account_id, final)


def _first_lines(
    ctx: CallContext,
    sub: Any,
    views: Sequence[lines.ItemView],
    first: FirstPeriod,
    proration_behavior: str | None,
) -> list[LineDraft]:
    """The first invoice's lines: zero through a trial, the stub up to a later anchor
    (prorated, or free with ``proration_behavior=none``), else a whole period in advance.
    Metered items show at zero: their usage bills at the period's end."""
    period = (first.start_ts, first.end_ts)
    models = pricing_models(ctx.pm)
    rounding = ctx.account.rounding_mode
    if first.trial_end_ts is not None:
        drafted = lines.trial_lines(sub, views, *period)
    elif first.full_period is not None:
        drafted = lines.stub_lines(
            sub, views, period, first.full_period,
            prorated=proration_behavior != "none", rounding=rounding, models=models,
        )  # fmt: skip
    else:
        drafted = lines.licensed_lines(sub, views, *period, rounding=rounding, models=models)
    metered = [view for view in views if view.metered]
    zero_usage: dict[str, Any] = {}
    drafted += lines.metered_lines(sub, metered, zero_usage, *period, rounding, models)
    by_item = {view.id: index for index, view in enumerate(views)}
    return sorted(drafted, key=lambda line: by_item[line.subscription_item or ""])


def _item_row(row: Mapping[str, Any], view: lines.ItemView) -> dict[str, Any]:
    return {
        "id": view.id,
        "account_id": row["account_id"],
        "subscription": row["id"],
        "price": view.price_row.id,
        "quantity": view.quantity,
        "created": row["created"],
        "tax_rates": list(view.tax_rates),
        "discounts": list(view.discounts),
        "metadata": dict(view.metadata),
        "deleted": False,
    }


def _first_invoice(
    conn: sa.Connection, ctx: CallContext, row: Mapping[str, Any], drafted: Sequence[LineDraft]
) -> str:
    draft = InvoiceDraft(
        customer=row["customer"],
        currency=row["currency"],
        created=row["created"],
        period_start=row["created"],
        period_end=row["created"],
        billing_reason="subscription_create",
        collection_method=row["collection_method"],
        days_until_due=row["days_until_due"],
        subscription=row["id"],
        test_clock=row["test_clock"],
        default_tax_rates=tuple(row["default_tax_rates"]),
        discounts=tuple(row["discounts"]),
        lines=tuple(drafted),
    )
    [invoice_id] = build.create_many(conn, ctx, [draft])
    return invoice_id
