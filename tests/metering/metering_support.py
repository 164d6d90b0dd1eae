"""Helpers for metering tests: meters and customers through the API, service contexts,
and the reference answer every summary must equal (a plain fold of the raw log)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa

from remit.accounts.service import create_account, get_account
from remit.billing import customers
from remit.context import CallContext
from remit.metering import formulas, meters
from remit.metering.domain.buckets import GRAINS_S, floor
from remit.metering.rollups import event_value
from remit.metering.tables import (
    billing_meters,
    meter_event_cancellations,
    meter_events,
    meter_rollup_watermarks,
    meter_rollups,
)
from remit.store.engine import Store


def decimal_json(response: httpx.Response) -> Any:
    """The body with JSON numbers as exact Decimals (aggregated values never pass a float)."""
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)


def make_meter(api: httpx.Client, event_name: str = "api_calls", **params: str) -> dict[str, Any]:
    body = {
        "display_name": params.pop("display_name", event_name.replace("_", " ").title()),
        "event_name": event_name,
        "default_aggregation[formula]": params.pop("formula", "sum"),
        **params,
    }
    response = api.post("/v1/billing/meters", data=body)
    assert response.status_code == 200, response.text
    return response.json()


def make_customer(api: httpx.Client, **params: str) -> str:
    response = api.post("/v1/customers", data=params)
    assert response.status_code == 200, response.text
    return str(response.json()["id"])


def context(store: Store, account_id: str, now: int, pm: Any = None) -> CallContext:
    with store.read() as conn:
        account = get_account(conn, account_id)
    assert account is not None
    return CallContext(account=account, now=now, pm=pm)


def raw_log(store: Store, account_id: str) -> list[Any]:
    e = meter_events.c
    with store.read() as conn:
        return list(
            conn.execute(sa.select(meter_events).where(e.account_id == account_id).order_by(e.seq))
        )


def canceled(store: Store, account_id: str) -> set[str]:
    c = meter_event_cancellations.c
    with store.read() as conn:
        rows = conn.execute(sa.select(c.identifier).where(c.account_id == account_id))
        return set(rows.scalars())


def expected_rollups(
    store: Store, account_id: str, pm: Any = None, max_seq: int | None = None
) -> dict[tuple, tuple]:
    """Every rollup the applier should have written (for events up to ``max_seq``),
    folded from scratch from the raw log in seq order, one event at a time (no merges):
    the applier's reference."""
    with store.read() as conn:
        m = billing_meters.c
        aggregation_of = {
            row.id: formulas.for_meter(pm, row.formula, row.event_time_window)
            for row in conn.execute(
                sa.select(m.id, m.formula, m.event_time_window).where(m.account_id == account_id)
            )
        }
    skip = canceled(store, account_id)
    found: dict[tuple, list[Any]] = {}
    for row in raw_log(store, account_id):
        if row.identifier in skip or (max_seq is not None and row.seq > max_seq):
            continue
        aggregation = aggregation_of[row.meter_id]
        value = event_value(aggregation, row.value)
        for grain_s in GRAINS_S:
            key = (row.meter_id, row.customer_id, grain_s, floor(row.timestamp, grain_s))
            state, count = found.get(key, [aggregation.initial(), 0])
            state = aggregation.fold(state, value, row.timestamp, row.seq, row.payload)
            found[key] = [state, count + 1]
    return {key: (json.dumps(state), count) for key, (state, count) in found.items()}


def stored_rollups(store: Store, account_id: str) -> dict[tuple, tuple]:
    r = meter_rollups.c
    with store.read() as conn:
        rows = conn.execute(sa.select(meter_rollups).where(r.account_id == account_id))
        return {
            (row.meter_id, row.customer_id, row.grain_s, row.bucket_start): (
                json.dumps(json.loads(row.state)),
                row.event_count,
            )
            for row in rows
        }


def watermark(store: Store, account_id: str) -> int:
    w = meter_rollup_watermarks.c
    with store.read() as conn:
        found = conn.execute(sa.select(w.applied_seq).where(w.account_id == account_id)).scalar()
    return int(found or 0)


def new_tenant(
    store: Store,
    now: int,
    pm: Any,
    formulas_: Iterable[str] | Mapping[str, tuple[str, str | None]],
    customers_n: int = 2,
):
    """An account with one meter per formula (event name = formula; or per event name
    -> (formula, event_time_window)) and some customers, made through the services:
    (ctx, {event name: meter id}, [customer ids])."""
    named = formulas_ if isinstance(formulas_, Mapping) else {f: (f, None) for f in formulas_}
    with store.write() as conn:
        account = create_account(conn, "Tenant", now).account
    ctx = CallContext(account=account, now=now, pm=pm)
    with store.write() as conn:
        meter_ids = {
            name: meters.create(
                conn,
                ctx,
                {
                    "display_name": name,
                    "event_name": name,
                    "default_aggregation": {"formula": formula},
                    **({"event_time_window": window} if window else {}),
                },
            )["id"]
            for name, (formula, window) in named.items()
        }
        customer_ids = [customers.create(conn, ctx, {})["id"] for _ in range(customers_n)]
    return ctx, meter_ids, customer_ids


def hand_sum(values: Iterable[str]) -> Decimal:
    total = Decimal(0)
    for value in values:
        total += Decimal(value)
    return total


def post_cancel(api: httpx.Client, identifier: str, event_name: str = "calls") -> httpx.Response:
    return api.post(
        "/v1/billing/meter_event_adjustments",
        data={"event_name": event_name, "type": "cancel", "cancel[identifier]": identifier},
    )
