"""The ASGI application: the HTTP edge of the Stripe-compatible API.

Plain Starlette request/response objects and our own small router: every
concern Stripe defines at the edge (auth, form decoding, idempotency, error
shapes, request ids, the request log) happens here exactly once per request.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import threading
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pluggy
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from remit.accounts.service import Account, KeyCache, find_account_by_key
from remit.api import forms, idempotency
from remit.api.dispatch import Result, error_result, execute, internal_error, write_unit
from remit.api.request_log import RequestLogWriter, redact
from remit.api.routing import Route, Router
from remit.context import CallContext
from remit.jobs.worker import Worker, background_tasks
from remit.metering import sessions
from remit.plugins.manager import job_handlers
from remit.primitives.clock import Clock, WallClock
from remit.primitives.errors import AuthenticationError, InvalidRequestError, StripeError
from remit.primitives.ids import new_id
from remit.store.engine import Store
from remit.store.group_commit import GroupCommitWriter, make_writer

log = logging.getLogger("remit.api")

API_VERSION = "2026-10-28.endive"
MAX_BODY_BYTES = 1024 * 1024
FORM_TYPE = "application/x-www-form-urlencoded"
JSON_TYPE = "application/json"


class RemitApp:
    def __init__(
        self,
        store: Store,
        pm: pluggy.PluginManager,
        clock: Clock | None = None,
        *,
        run_worker: bool = False,
        worker_lease_s: int = 60,
    ) -> None:
        self.store = store
        self.pm = pm
        self.clock = clock or WallClock()
        self.router = Router(route for group in pm.hook.remit_api_routes() for route in group)
        self.loaders: dict[str, Any] = {}
        for group in pm.hook.remit_object_loaders():
            self.loaders.update(group)
        self.log_writer = RequestLogWriter(store)
        self.writer = make_writer(store)
        self.keys: KeyCache[Account] = KeyCache()
        self.sessions: KeyCache[tuple[Account, int]] = KeyCache()
        self.run_worker = run_worker
        self.worker_lease_s = worker_lease_s
        self._stop = threading.Event()
        self._worker_thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def startup(self) -> None:
        self.log_writer.start()
        if self.run_worker and self._worker_thread is None:
            handlers = job_handlers(self.pm)
            worker = Worker(
                self.store, handlers, self.clock, lease_s=self.worker_lease_s,
                tasks=background_tasks(self.pm),
            )  # fmt: skip
            self._stop.clear()
            self._worker_thread = threading.Thread(
                target=worker.run_forever, args=(self._stop,), name="worker", daemon=True
            )
            self._worker_thread.start()

    def shutdown(self) -> None:
        self._stop.set()
        if self._worker_thread is not None:
            self._worker_thread.join(timeout=15)
            self._worker_thread = None
        self.log_writer.close()
        self.writer.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        response = await self.handle(request)
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await run_in_threadpool(self.startup)
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await run_in_threadpool(self.shutdown)
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- one request -----------------------------------------------------------------------
    async def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        request_id = new_id("req")
        method, path = request.method, request.url.path
        api_version = request.headers.get("stripe-version") or API_VERSION
        idem_key = request.headers.get("idempotency-key")
        account: Account | None = None
        route: Route | None = None
        params: dict[str, Any] = {}
        ctx: CallContext | None = None
        try:
            try:
                route, path_params = self.router.match(method, path)
            except InvalidRequestError:
                # An unknown URL still answers 401 to a caller without a valid key first.
                await self._authenticate(request, "secret_key")
                raise
            account = await self._authenticate(request, route.auth)
            params = await self._params(request, path)
            if method not in idempotency.KEYED_METHODS:
                idem_key = None
            elif idem_key is not None:
                idempotency.check_key(idem_key)
            ctx = CallContext(
                account, self.clock.now(), request_id, idem_key, api_version, pm=self.pm
            )
            result = await self._dispatch(route, ctx, params, path_params)
        except StripeError as error:
            result = error_result(error)
        headers = {"Request-Id": request_id, "Stripe-Version": api_version}
        if idem_key is not None:
            headers["Idempotency-Key"] = idem_key
        if result.replayed:
            headers["Idempotent-Replayed"] = "true"
        logged = _logged_params(route, params)
        self._log(request, request_id, account, logged, result, ctx, idem_key, api_version, started)
        return Response(result.body, result.status, headers, media_type=JSON_TYPE)

    async def _dispatch(
        self, route: Route, ctx: CallContext, params: dict[str, Any], path_params: dict[str, str]
    ) -> Result:
        writer = self.writer
        # SQLite (one writer, group commit) and PostgreSQL take different paths.
        if isinstance(writer, GroupCommitWriter) and route.writes:
            # The whole write is one unit for the group-commit thread, awaited here.
            unit = write_unit(self.loaders, route, ctx, params, path_params, self.clock.now())
            try:
                return await asyncio.wrap_future(writer.submit(unit))
            except StripeError as error:
                return error_result(error)
            except Exception:
                log.exception("unhandled error in %s %s", route.method, route.path)
                return internal_error()
        if isinstance(writer, GroupCommitWriter) and not route.slow:
            # A SQLite read takes tens of microseconds: cheaper inline than a thread hop.
            return execute(
                self.store, self.writer, self.loaders, route, ctx, params, path_params,
                self.clock.now(),
            )  # fmt: skip
        return await run_in_threadpool(
            execute, self.store, self.writer, self.loaders, route, ctx, params, path_params,
            self.clock.now(),
        )  # fmt: skip

    def _log(
        self,
        request: Request,
        request_id: str,
        account: Account | None,
        logged_params: Any,
        result: Result,
        ctx: CallContext | None,
        idem_key: str | None,
        api_version: str,
        started: float,
    ) -> None:
        self.log_writer.submit(
            {
                "id": request_id,
                "account_id": account.id if account else None,
                "method": request.method,
                "path": request.url.path[:500],
                "status": result.status,
                "latency_us": int((time.perf_counter() - started) * 1_000_000),
                "idempotency_key": idem_key,
                "api_version": api_version[:60],
                "user_agent": (request.headers.get("user-agent") or "")[:500] or None,
                "params": logged_params,
                "object_ids": list(ctx.touched) if ctx else [],
                "error_type": result.error_type,
                "created": self.clock.now(),
            }
        )

    async def _authenticate(self, request: Request, kind: str) -> Account:
        secret_key = _secret_key(request.headers.get("authorization", ""))
        if kind == "meter_event_session":
            return await self._authenticate_session(secret_key)
        account = self.keys.get(secret_key)
        if account is None:
            account = await run_in_threadpool(self._lookup_key, secret_key)
            if account is None:
                shown = secret_key[:8] + "*" * 8 + secret_key[-4:]
                raise AuthenticationError(f"Invalid API Key provided: {shown}")
            self.keys.put(secret_key, account)
        return account

    async def _authenticate_session(self, token: str) -> Account:
        found = self.sessions.get(token)
        if found is None:
            found = await run_in_threadpool(self._lookup_session, token)
            if found is None:
                raise sessions.unknown_token()
            self.sessions.put(token, found)
        account, expires_at = found
        sessions.check_unexpired(expires_at, self.clock.now())
        return account

    def _lookup_session(self, token: str) -> tuple[Account, int] | None:
        with self.store.read() as conn:
            return sessions.find(conn, token)

    def _lookup_key(self, secret_key: str) -> Account | None:
        with self.store.read() as conn:
            return find_account_by_key(conn, secret_key)

    async def _params(self, request: Request, path: str) -> dict[str, Any]:
        params = forms.decode_query(request.url.query)
        if request.method not in ("POST", "PUT", "PATCH"):
            return params
        body = await _read_body(request)
        if not body:
            return params
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        expected = JSON_TYPE if path.startswith("/v2/") else FORM_TYPE
        if content_type != expected:
            raise InvalidRequestError(
                f"Invalid request: unsupported Content-Type {content_type or '(none)'}. "
                f"This endpoint expects {expected}."
            )
        decoded = _decode_json(body) if expected == JSON_TYPE else forms.decode_form(body)
        for key in decoded.keys() & params.keys():
            raise InvalidRequestError(
                f"Parameter {key} was given in both the query string and the body.", param=key
            )
        return {**params, **decoded}


def _logged_params(route: Route | None, params: Mapping[str, Any]) -> Any:
    """What the request log keeps of a call's params: the shape of the call, secrets out.

    The meter event stream (the one route a meter event session authenticates) is the
    exception: its events are in the raw event log already, under their identifiers, and
    redacting and storing up to 100 of them again took about a tenth of the stream's
    server CPU. Its row keeps how many events came and their identifiers."""
    events = params.get("events")
    if route is None or route.auth != "meter_event_session" or not isinstance(events, list):
        return redact(params)
    identifiers = [event.get("identifier") if isinstance(event, dict) else None for event in events]
    return {"events": len(events), "identifiers": redact(identifiers)}


def _secret_key(header: str) -> str:
    scheme, _, credentials = header.strip().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            user = base64.b64decode(credentials, validate=True).decode("utf-8").split(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            user = ""
        if user:
            return user
    raise AuthenticationError(
        "You did not provide an API key. You need to provide your API key in the Authorization "
        "header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY')."
    )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _too_large()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _decode_json(body: bytes) -> dict[str, Any]:
    """v2 bodies: one JSON object. Numbers with a fraction stay Decimal, never float."""
    try:
        decoded = json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequestError(f"Invalid request: the body is not valid JSON ({exc}).") from exc
    if not isinstance(decoded, dict):
        raise InvalidRequestError("Invalid request: the body must be a JSON object.")
    return decoded


def _too_large() -> InvalidRequestError:
    return InvalidRequestError(
        f"Request bodies are limited to {MAX_BODY_BYTES} bytes.", http_status=413
    )
