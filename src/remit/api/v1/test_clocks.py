"""/v1/test_helpers/test_clocks"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import page
from remit.api.params import Expand, Schema, Str, Timestamp, list_schema
from remit.api.routing import Route
from remit.billing import test_clocks
from remit.billing.tables import test_clocks as clocks_table
from remit.context import CallContext

BASE = "/v1/test_helpers/test_clocks"
CREATE = Schema(
    {"frozen_time": Timestamp(), "name": Str(max_length=300), "expand": Expand()},
    required=("frozen_time",),
)
ADVANCE = Schema({"frozen_time": Timestamp(), "expand": Expand()}, required=("frozen_time",))
RETRIEVE = Schema({"expand": Expand()})
LIST = list_schema()


def _create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    return test_clocks.create(conn, ctx, params)


def _retrieve(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return test_clocks.render(test_clocks.load(conn, ctx.account_id, id))


def _advance(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return test_clocks.advance(conn, ctx, id, params["frozen_time"])


def _delete(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    return test_clocks.delete(conn, ctx, id)


def _list(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    where = [clocks_table.c.deleted.is_(False)]
    return page(
        conn, ctx.account_id, clocks_table, where, params, test_clocks.render, BASE, "test_clock"
    )


ROUTES = [
    Route("POST", BASE, _create, CREATE, writes=True),
    Route("GET", BASE, _list, LIST),
    Route("GET", BASE + "/{id}", _retrieve, RETRIEVE),
    Route("DELETE", BASE + "/{id}", _delete, Schema({}), writes=True),
    Route("POST", BASE + "/{id}/advance", _advance, ADVANCE, writes=True),
]
