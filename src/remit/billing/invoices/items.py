"""Invoice items (``ii_...``): one-off charges and credits waiting for an invoice.

An item is pending until an invoice sweeps it in (``pending_items`` of a draft), or it is
created straight onto a draft invoice (``invoice``). It may be changed or deleted while
pending or on a draft; the draft is priced again each time. Events: invoiceitem.created,
invoiceitem.updated, invoiceitem.deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa

from remit.billing import customers as customer_service
from remit.billing import test_clocks
from remit.billing.discounts import discounts as discount_service
from remit.billing.invoices import drafting, item_amounts, reads
from remit.billing.invoices.tables import invoice_items
from remit.billing.subscriptions.tables import subscriptions
from remit.billing.taxes import tax_rates as tax_rate_service
from remit.catalog import prices
from remit.context import CallContext
from remit.events import service as events
from remit.events import types as event_types
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id, register_prefix

register_prefix("ii")
event_types.register("invoiceitem.created", "invoiceitem.updated", "invoiceitem.deleted")


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    customer = customer_service.load_live(conn, ctx.account_id, params["customer"], "customer")
    invoice = _draft(conn, ctx, params["invoice"], customer.id) if "invoice" in params else None
    price_id = item_amounts.price_param(params)
    currency = _currency(conn, ctx, params, customer, invoice, price_id)
    source = {**params, "price": price_id}
    derived = item_amounts.derive(conn, ctx, source, currency, params.get("quantity"))
    date = test_clocks.now_for(conn, ctx, customer.test_clock)
    subscription = params.get("subscription")
    if subscription is not None:
        check_subscription(conn, ctx.account_id, subscription, customer.id)
    tax_rates = _attachable_rates(conn, ctx, params.get("tax_rates") or [])
    period = params.get("period") or {"start": date, "end": date}
    _check_period(period)
    item_id = new_id("ii")
    row = {
        "id": item_id,
        "account_id": ctx.account_id,
        "customer": customer.id,
        "invoice": None if invoice is None else invoice.id,
        "subscription": subscription,
        "subscription_item": None,
        "test_clock": customer.test_clock,
        "currency": currency,
        "amount": derived.amount,
        "quantity": derived.quantity,
        "price": derived.price,
        "unit_amount_decimal": derived.unit_amount_decimal,
        "description": params.get("description") or None,
        "date": date,
        "period_start": period["start"],
        "period_end": period["end"],
        "proration": False,
        # Stripe's default: credits (negative items) are not discounted.
        "discountable": params.get("discountable", derived.amount >= 0),
        "discounts": [],
        "tax_rates": tax_rates,
        "metadata": params["metadata"].apply({}) if "metadata" in params else {},
        "explain": derived.explain,
        "deleted": False,
    }
    if params.get("discounts"):
        row["discounts"] = redeem_discounts(
            conn, ctx, params["discounts"], customer.id, date, invoice_item=item_id
        )
    conn.execute(invoice_items.insert(), row)
    ctx.touch(item_id)
    item = SimpleNamespace(**row)
    obj = reads.render_items(conn, ctx.account_id, [item])[0]
    events.emit(conn, ctx, "invoiceitem.created", obj, created=date)
    if invoice is not None:
        line = item_amounts.line_drafts(conn, ctx.account_id, [item])
        drafting.edit(
            conn, ctx, invoice.id, lambda draft: _then(drafting.add_lines, conn, ctx, draft, line)
        )
    return obj


def _then(action: Any, *args: Any) -> dict[str, Any]:
    """Run an edit's line change; it changes no invoice columns itself."""
    action(*args)
    return {}


def _draft(conn: sa.Connection, ctx: CallContext, invoice_id: str, customer_id: str) -> Any:
    invoice = reads.load_invoice(conn, ctx.account_id, invoice_id, "invoice")
    if invoice.status != "draft":
        raise drafting.not_editable(invoice, "invoice")
    if invoice.customer != customer_id:
        raise invalid_parameter(
            "invoice", f"The invoice {invoice_id} belongs to another customer than {customer_id}."
        )
    return invoice


def _currency(
    conn: sa.Connection,
    ctx: CallContext,
    params: Mapping[str, Any],
    customer: Any,
    invoice: Any,
    price_id: str | None,
) -> str:
    """The item's currency: as given, else its invoice's, its price's or its customer's."""
    if params.get("currency"):
        currency = str(params["currency"])
    elif invoice is not None:
        currency = str(invoice.currency)
    elif price_id is not None:
        currency = str(prices.load(conn, ctx.account_id, price_id, "pricing[price]").currency)
    elif "price_data" in params:
        currency = str(params["price_data"]["currency"])
    elif customer.currency is not None:
        currency = str(customer.currency)
    else:
        raise InvalidRequestError(
            "Missing required param: currency.", code="parameter_missing", param="currency"
        )
    if invoice is not None and currency != invoice.currency:
        raise invalid_parameter(
            "currency", f"The invoice {invoice.id} is in {invoice.currency}, not {currency}."
        )
    return currency


def check_subscription(
    conn: sa.Connection, account_id: str, subscription_id: str, customer_id: str
) -> None:
    s = subscriptions.c
    owner = conn.execute(
        sa.select(s.customer).where(s.account_id == account_id, s.id == subscription_id)
    ).scalar()
    if owner is None:
        raise ResourceMissing("subscription", subscription_id, param="subscription")
    if owner != customer_id:
        raise invalid_parameter(
            "subscription", f"The subscription {subscription_id} is another customer's."
        )


def _attachable_rates(conn: sa.Connection, ctx: CallContext, ids: Sequence[str]) -> list[str]:
    tax_rate_service.check_attachable(conn, ctx.account_id, ids, "tax_rates")
    return list(ids)


def _check_period(period: Mapping[str, int]) -> None:
    if period["end"] < period["start"]:
        raise invalid_parameter("period[end]", "The period must not end before it starts.")


def redeem_discounts(
    conn: sa.Connection,
    ctx: CallContext,
    given: Sequence[Mapping[str, str]],
    customer_id: str,
    at_ts: int,
    *,
    invoice: str | None = None,
    invoice_item: str | None = None,
) -> list[str]:
    """``discounts[]`` of an invoice or an invoice item: coupons and promotion codes
    redeemed onto it, or the customer's existing discounts named by id."""
    ids: list[str] = []
    for index, entry in enumerate(given):
        param = f"discounts[{index}]"
        if "discount" in entry:
            ids.append(
                existing_discount(conn, ctx.account_id, entry["discount"], customer_id, param)
            )
            continue
        ids.append(
            discount_service.attach(
                conn,
                ctx,
                coupon=entry.get("coupon"),
                promotion_code=entry.get("promotion_code"),
                customer=customer_id,
                invoice=invoice,
                invoice_item=invoice_item,
                start_ts=at_ts,
                param=param,
            )  # fmt: skip
        )
    if len(set(ids)) != len(ids):
        raise invalid_parameter("discounts", "The same discount is named twice.")
    return ids


def existing_discount(
    conn: sa.Connection, account_id: str, discount_id: str, customer_id: str, param: str
) -> str:
    row = discount_service.load(conn, account_id, discount_id, param=f"{param}[discount]")
    if row.deleted or row.customer != customer_id:
        raise ResourceMissing("discount", discount_id, param=f"{param}[discount]")
    return str(row.id)


def retrieve(conn: sa.Connection, account_id: str, item_id: str) -> dict[str, Any]:
    row = reads.load_item(conn, account_id, item_id)
    return reads.render_items(conn, account_id, [row])[0]


SOURCE_PARAMS = ("amount", "pricing", "price", "price_data", "unit_amount_decimal")


def _editable(conn: sa.Connection, ctx: CallContext, row: Any) -> Any:
    """The draft invoice the item is on (None while pending); finalized ones refuse."""
    if row.invoice is None:
        return None
    invoice = reads.load_invoice(conn, ctx.account_id, row.invoice, "invoice")
    if invoice.status != "draft":
        raise drafting.not_editable(invoice, "invoice")
    return invoice


def _amount_values(
    conn: sa.Connection, ctx: CallContext, row: Any, params: Mapping[str, Any]
) -> dict[str, Any]:
    if not any(key in params for key in (*SOURCE_PARAMS, "quantity")):
        return {}
    if any(key in params for key in SOURCE_PARAMS):
        source = {**params, "price": item_amounts.price_param(params)}
        quantity = params.get("quantity")
    else:  # a new quantity of what the item already bills
        source = item_amounts.stored_source(row)
        quantity = params["quantity"]
    derived = item_amounts.derive(conn, ctx, source, row.currency, quantity)
    return {
        "amount": derived.amount,
        "quantity": derived.quantity,
        "price": derived.price,
        "unit_amount_decimal": derived.unit_amount_decimal,
        "explain": derived.explain,
    }


def update(
    conn: sa.Connection, ctx: CallContext, item_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = reads.load_item(conn, ctx.account_id, item_id)
    invoice = _editable(conn, ctx, row)
    ctx.touch(row.id)
    values = _amount_values(conn, ctx, row, params)
    if "description" in params:
        values["description"] = params["description"] or None
    if "discountable" in params:
        values["discountable"] = params["discountable"]
    if "period" in params:
        _check_period(params["period"])
        values["period_start"], values["period_end"] = (
            params["period"]["start"],
            params["period"]["end"],
        )
    if "tax_rates" in params:
        values["tax_rates"] = _attachable_rates(conn, ctx, params["tax_rates"] or [])
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    at = test_clocks.now_for(conn, ctx, row.test_clock)
    if "discounts" in params:
        values["discounts"] = _replaced_discounts(conn, ctx, row, params["discounts"] or [], at)
    before = reads.render_items(conn, ctx.account_id, [row])[0]
    item = SimpleNamespace(**{**row._asdict(), **values})
    after = reads.render_items(conn, ctx.account_id, [item])[0]
    changed = events.previous_attributes(before, after)
    if not values:
        return before
    t = invoice_items.c
    conn.execute(
        invoice_items.update()
        .where(t.account_id == ctx.account_id, t.id == row.id)
        .values(**values)
    )
    if changed:
        events.emit(
            conn, ctx, "invoiceitem.updated", after, previous_attributes=changed, created=at
        )
    if invoice is not None:
        (line,) = item_amounts.line_drafts(conn, ctx.account_id, [item])
        drafting.edit(
            conn, ctx, invoice.id,
            lambda draft: _then(drafting.replace_item_line, conn, ctx, draft, row.id, line),
        )  # fmt: skip
    return after


def _replaced_discounts(
    conn: sa.Connection, ctx: CallContext, row: Any, given: Sequence[Mapping[str, str]], at: int
) -> list[str]:
    """The item's discounts become ``given``; its own ones no longer named are removed."""
    kept = redeem_discounts(conn, ctx, given, row.customer, at, invoice_item=row.id)
    for discount_id in row.discounts:
        if discount_id not in kept:
            own = discount_service.load(conn, ctx.account_id, discount_id)
            if own.invoice_item == row.id and not own.deleted:
                discount_service.remove(conn, ctx, discount_id, at)
    return kept


def delete(conn: sa.Connection, ctx: CallContext, item_id: str) -> dict[str, Any]:
    row = reads.load_item(conn, ctx.account_id, item_id)
    invoice = _editable(conn, ctx, row)
    t = invoice_items.c
    conn.execute(
        invoice_items.update()
        .where(t.account_id == ctx.account_id, t.id == row.id)
        .values(deleted=True)
    )
    ctx.touch(row.id)
    at = test_clocks.now_for(conn, ctx, row.test_clock)
    events.emit(
        conn,
        ctx,
        "invoiceitem.deleted",
        reads.render_items(conn, ctx.account_id, [row])[0],
        created=at,
    )
    if invoice is not None:
        drafting.edit(
            conn,
            ctx,
            invoice.id,
            lambda draft: _then(drafting.drop_item_line, conn, ctx, draft, row.id),
        )
    return {"id": row.id, "object": "invoiceitem", "deleted": True}
