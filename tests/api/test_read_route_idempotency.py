"""A read route called with an Idempotency-Key (the official SDKs send one on every POST,
``create_preview`` included) answers and saves its answer even when another writer, such
as the request log after the previous request, commits while the read runs."""

from __future__ import annotations

import sqlalchemy as sa

from remit.accounts.tables import accounts
from remit.api import dispatch
from remit.api.params import Schema
from remit.api.routing import Route
from remit.api.tables import idempotency_keys
from remit.context import CallContext
from remit.primitives.clock import WallClock
from remit.store.group_commit import DirectWriter


def test_a_read_with_a_key_survives_a_commit_between_its_snapshot_and_its_answer(store, account):
    def preview(conn: sa.Connection, ctx: CallContext, values: dict) -> dict:
        name = conn.execute(sa.select(accounts.c.name).where(accounts.c.id == ctx.account_id))
        with store.write() as other:  # another writer commits after this read's snapshot
            other.execute(
                accounts.update().where(accounts.c.id == ctx.account_id).values(name="Renamed")
            )
        return {"object": "preview", "name": name.scalar_one()}

    route = Route("POST", "/v1/previews", preview, Schema({}))
    assert not route.writes and route.replays
    ctx = CallContext(account=account.account, now=WallClock().now(), idempotency_key="k-1")
    now = WallClock().now()
    result = dispatch.execute(store, DirectWriter(store), {}, route, ctx, {}, {}, now)

    assert result.status == 200, result.body
    with store.read() as conn:
        saved = conn.execute(
            sa.select(idempotency_keys.c.status, idempotency_keys.c.response_body).where(
                idempotency_keys.c.account_id == account.account.id,
                idempotency_keys.c.key == "k-1",
            )
        ).one()
    assert (saved.status, bytes(saved.response_body)) == ("done", result.body)
    again = dispatch.execute(store, DirectWriter(store), {}, route, ctx, {}, {}, now)
    assert (again.replayed, again.body) == (True, result.body)
