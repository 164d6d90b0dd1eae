"""Runs one authenticated, decoded call: idempotency, transaction, handler, expansion.

Everything here is synchronous and runs on a worker thread; the ASGI edge in
``remit.api.app`` does the socket work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from remit.api import idempotency
from remit.api.expand import Loader, expand
from remit.api.routing import Route
from remit.context import CallContext
from remit.primitives.errors import APIError, StripeError
from remit.store.engine import Store
from remit.store.group_commit import Writer

log = logging.getLogger("remit.api")


@dataclass(frozen=True, slots=True)
class Result:
    status: int
    body: bytes
    replayed: bool = False
    error_type: str | None = None


def dumps(obj: Mapping[str, Any]) -> bytes:
    # Stripe answers pretty-printed JSON; SDKs and people reading curl output expect it.
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2)


def error_result(error: StripeError) -> Result:
    return Result(error.http_status, dumps(error.to_dict()), error_type=error.type)


def _run_handler(
    conn: sa.Connection,
    loaders: Mapping[str, Loader],
    route: Route,
    ctx: CallContext,
    params: dict[str, Any],
    path_params: dict[str, str],
) -> bytes:
    values = route.schema.validate(params)
    obj = route.handler(conn, ctx, values, **path_params)
    if values.get("expand"):
        expand(conn, ctx.account_id, obj, values["expand"], loaders)
    return dumps(obj)


def _fingerprint(route: Route, params: dict[str, Any], path_params: dict[str, str]) -> str:
    return idempotency.fingerprint(route.method, route.path, {**params, **path_params})


def write_unit(
    loaders: Mapping[str, Loader],
    route: Route,
    ctx: CallContext,
    params: dict[str, Any],
    path_params: dict[str, str],
    wall_now: int,
) -> Callable[[sa.Connection], Result]:
    """A whole write request as one unit of work inside the writer's transaction.

    Used where writes are serialised (SQLite's single writer): the handler's
    effects and the key's saved answer commit together, and a duplicate can only
    ever find the finished answer. A handler error rolls back to its own
    savepoint and is saved as the key's answer; anything unexpected propagates
    and saves nothing.
    """

    def unit(conn: sa.Connection) -> Result:
        key = ctx.idempotency_key if route.replays else None
        if key is None:
            # No answer to save: an error propagates and the writer's savepoint undoes us.
            return Result(200, _run_handler(conn, loaders, route, ctx, params, path_params))
        print_ = _fingerprint(route, params, path_params)
        replay = idempotency.lookup(conn, ctx.account_id, key, print_, wall_now)
        if replay is not None:
            return Result(replay.status, replay.body, replayed=True)
        savepoint = conn.begin_nested()
        try:
            result = Result(200, _run_handler(conn, loaders, route, ctx, params, path_params))
        except StripeError as error:
            savepoint.rollback()
            result = error_result(error)
        else:
            savepoint.commit()
        idempotency.record(
            conn, ctx.account_id, key, print_, ctx.request_id or "", wall_now,
            result.status, result.body,
        )  # fmt: skip
        return result

    return unit


def execute(
    store: Store,
    writer: Writer,
    loaders: Mapping[str, Loader],
    route: Route,
    ctx: CallContext,
    params: dict[str, Any],
    path_params: dict[str, str],
    wall_now: int,
) -> Result:
    """Run a call on the calling thread: reads, and writes where transactions run concurrently.

    On PostgreSQL a key is claimed in its own short transaction first, so a
    duplicate arriving while the first request runs is told 409 at once.
    """
    claim = None
    if ctx.idempotency_key is not None and route.replays:
        outcome = idempotency.begin(
            writer, ctx.account_id, ctx.idempotency_key, _fingerprint(route, params, path_params),
            ctx.request_id or "", wall_now,
        )  # fmt: skip
        if isinstance(outcome, idempotency.Replay):
            return Result(outcome.status, outcome.body, replayed=True)
        claim = outcome

    def handle(conn: sa.Connection) -> bytes:
        body = _run_handler(conn, loaders, route, ctx, params, path_params)
        if claim is not None:
            idempotency.finish(conn, claim, 200, body)
        return body

    try:
        if route.writes:
            return Result(200, writer.run(handle))
        with store.read() as conn:
            body = _run_handler(conn, loaders, route, ctx, params, path_params)
        if claim is not None:
            # Not inside the read: on SQLite a read turned writer fails at once when anything
            # committed after its snapshot (the request log does after every request).
            writer.run(lambda conn: idempotency.finish(conn, claim, 200, body))
        return Result(200, body)
    except StripeError as error:
        # The request's effects rolled back; its answer is still the answer to this key.
        result = error_result(error)
        if claim is not None:
            writer.run(lambda conn: idempotency.finish(conn, claim, result.status, result.body))
        return result
    except Exception:
        log.exception("unhandled error in %s %s", route.method, route.path)
        if claim is not None:
            writer.run(lambda conn: idempotency.release(conn, claim))
        return internal_error()


def internal_error() -> Result:
    return error_result(APIError("An unexpected error occurred on our side."))
