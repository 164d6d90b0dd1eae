"""/v1/reconciliation: runs, what they found, and repair plans.

A run is created by ``POST /v1/reconciliation/runs`` and answered when it is done. It
is a slow route, not a write route: loading and matching run in a private DuckDB on
a worker thread while the state store is free, and the run writes its results in
one short transaction of its own (``runs.execute``). Repair plans are proposed and
applied here; approving one is a person's call and happens only at the CLI
(``remit reconcile approve``): no route approves a plan.

Breaks, matches and rejects are listed in their run's order (as an invoice's lines
are), with Stripe's cursors; runs and plans newest first.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from remit.api.listing import created_filter, page
from remit.api.params import Enum, RangeFilter, Schema, Str, Timestamp, list_schema
from remit.api.routing import Route
from remit.api.v1.reconciliation_pages import breaks_page, matches_page, rejects_page
from remit.context import CallContext
from remit.fde.reconcile import repair, runs
from remit.fde.reconcile.access import check_api_source
from remit.fde.reconcile.diff import diff
from remit.fde.reconcile.model import BREAK_TYPES, SourceSpec
from remit.fde.reconcile.render import run as render_run
from remit.fde.reconcile.sources import parse_source
from remit.fde.reconcile.tables import reconciliation_repair_plans, reconciliation_runs
from remit.primitives.errors import InvalidRequestError
from remit.settings import Settings
from remit.store.engine import Store

RUNS = "/v1/reconciliation/runs"
PLANS = "/v1/reconciliation/repair_plans"
ID = Str(max_length=255, blank_ok=False)
SOURCE = Str(max_length=2000, blank_ok=False)

CREATE_RUN = Schema(
    {"rules": Str(max_length=200_000, blank_ok=False), "left": SOURCE, "right": SOURCE,
     "cutoff": Timestamp()},
    required=("rules", "left", "right"),
)  # fmt: skip
LIST_RUNS = list_schema(
    {"created": RangeFilter(), "mode": Enum(("transaction", "state")),
     "status": Enum(("succeeded", "failed"))}
)  # fmt: skip
RETRIEVE = Schema({})
BREAKS = list_schema({"type": Enum(BREAK_TYPES)})
MATCHES = list_schema()
REJECTS = list_schema({"side": Enum(("left", "right"))})
DIFF = Schema({"against": ID}, required=("against",))
CREATE_PLAN = Schema({"run": ID}, required=("run",))
LIST_PLANS = list_schema({"created": RangeFilter(), "run": ID})
APPLY_PLAN = Schema({"approval_token": Str(max_length=500, blank_ok=False)},
                    required=("approval_token",))  # fmt: skip


def _create_run(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.from_env()
    left, right = _source(params["left"], "left"), _source(params["right"], "right")
    check_api_source(left, "left", settings.reconcile_roots, settings.reconcile_databases)
    check_api_source(right, "right", settings.reconcile_roots, settings.reconcile_databases)
    request = runs.RunRequest(
        rules_text=params["rules"], left=left, right=right, cutoff_ts=params.get("cutoff")
    )
    # The run writes in a transaction of its own once DuckDB is done: this call's
    # connection is a read that stays idle meanwhile.
    found = runs.execute(Store(conn.engine), ctx, request)
    ctx.touch(found["id"])
    return found


def _source(text: str, side: str) -> SourceSpec:
    try:
        return parse_source(text)
    except InvalidRequestError as error:
        raise InvalidRequestError(error.message, code=error.code, param=side) from None


def _list_runs(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    r = reconciliation_runs.c
    where = [r[key] == params[key] for key in ("mode", "status") if key in params]
    if "created" in params:
        where += created_filter(r.created, params["created"])
    return page(
        conn, ctx.account_id, reconciliation_runs, where, params, render_run, RUNS,
        runs.OBJECT_NAME,
    )  # fmt: skip


def _retrieve_run(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return runs.retrieve(conn, ctx.account_id, id)


def _breaks(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    runs.find(conn, ctx.account_id, id)
    return breaks_page(conn, ctx.account_id, id, params, f"{RUNS}/{id}/breaks")


def _matches(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    runs.find(conn, ctx.account_id, id)
    return matches_page(conn, ctx.account_id, id, params, f"{RUNS}/{id}/matches")


def _rejects(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    runs.find(conn, ctx.account_id, id)
    return rejects_page(conn, ctx.account_id, id, params, f"{RUNS}/{id}/rejects")


def _diff(conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str) -> dict[str, Any]:
    ctx.touch(id)
    return diff(conn, ctx.account_id, id, params["against"])


def _create_plan(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    plan = repair.propose(conn, ctx, params["run"])
    ctx.touch(plan["id"])
    return plan


def _list_plans(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    p = reconciliation_repair_plans.c
    where = [p.run_id == params["run"]] if "run" in params else []
    if "created" in params:
        where += created_filter(p.created, params["created"])
    return page(
        conn, ctx.account_id, reconciliation_repair_plans, where, params, repair.render, PLANS,
        "reconciliation.repair_plan",
    )  # fmt: skip


def _retrieve_plan(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return repair.retrieve(conn, ctx.account_id, id)


def _apply_plan(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    return repair.apply(conn, ctx, id, params["approval_token"])


def _audit(
    conn: sa.Connection, ctx: CallContext, params: dict[str, Any], id: str
) -> dict[str, Any]:
    ctx.touch(id)
    # One record per action of one plan: bounded by the plan, listed whole.
    records = repair.audit_records(conn, ctx.account_id, id)
    return {"object": "list", "data": records, "has_more": False, "url": f"{PLANS}/{id}/audit"}


ROUTES = [
    Route("POST", RUNS, _create_run, CREATE_RUN, slow=True),
    Route("GET", RUNS, _list_runs, LIST_RUNS),
    Route("GET", RUNS + "/{id}", _retrieve_run, RETRIEVE),
    Route("GET", RUNS + "/{id}/breaks", _breaks, BREAKS),
    Route("GET", RUNS + "/{id}/matches", _matches, MATCHES),
    Route("GET", RUNS + "/{id}/rejects", _rejects, REJECTS),
    Route("GET", RUNS + "/{id}/diff", _diff, DIFF, slow=True),
    Route("POST", PLANS, _create_plan, CREATE_PLAN, writes=True),
    Route("GET", PLANS, _list_plans, LIST_PLANS),
    Route("GET", PLANS + "/{id}", _retrieve_plan, RETRIEVE),
    Route("POST", PLANS + "/{id}/apply", _apply_plan, APPLY_PLAN, writes=True),
    Route("GET", PLANS + "/{id}/audit", _audit, RETRIEVE),
]
