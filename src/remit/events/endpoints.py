"""Webhook endpoints: where an account wants its events sent."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from remit.context import CallContext
from remit.events import types
from remit.events.signing import new_secret
from remit.events.tables import webhook_endpoints
from remit.primitives.errors import InvalidRequestError, ResourceMissing, invalid_parameter
from remit.primitives.ids import new_id

MAX_ENDPOINTS_PER_ACCOUNT = 16


def render(row: Any, *, with_secret: bool = False) -> dict[str, Any]:
    obj = {
        "id": row.id,
        "object": "webhook_endpoint",
        "api_version": row.api_version,
        "application": None,
        "created": row.created,
        "description": row.description,
        "enabled_events": list(row.enabled_events),
        "livemode": False,
        "metadata": dict(row.metadata),
        "status": row.status,
        "url": row.url,
    }
    if with_secret:
        obj["secret"] = row.secret
    return obj


def check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise invalid_parameter(
            "url", f"Invalid URL: {url}. URLs must use http or https.", "url_invalid"
        )
    return url


def check_events(enabled_events: list[str]) -> list[str]:
    if not enabled_events:
        raise invalid_parameter("enabled_events", "enabled_events must name at least one event.")
    known = types.known()
    for index, name in enumerate(enabled_events):
        if name != "*" and name not in known:
            raise invalid_parameter(
                f"enabled_events[{index}]",
                f"Invalid enabled_events[{index}]: unknown event type {name!r}.",
            )
    return sorted(set(enabled_events), key=enabled_events.index)


def load(conn: sa.Connection, account_id: str, endpoint_id: str) -> Any:
    row = conn.execute(
        sa.select(webhook_endpoints).where(
            webhook_endpoints.c.id == endpoint_id,
            webhook_endpoints.c.account_id == account_id,
            webhook_endpoints.c.deleted.is_(False),
        )
    ).first()
    if row is None:
        raise ResourceMissing("webhook_endpoint", endpoint_id)
    return row


def create(conn: sa.Connection, ctx: CallContext, params: dict[str, Any]) -> dict[str, Any]:
    live = conn.execute(
        sa.select(sa.func.count()).where(
            webhook_endpoints.c.account_id == ctx.account_id, webhook_endpoints.c.deleted.is_(False)
        )
    ).scalar_one()
    if live >= MAX_ENDPOINTS_PER_ACCOUNT:
        raise InvalidRequestError(
            f"You have reached the maximum of {MAX_ENDPOINTS_PER_ACCOUNT} webhook endpoints."
        )
    endpoint_id = new_id("we")
    conn.execute(
        webhook_endpoints.insert().values(
            id=endpoint_id,
            account_id=ctx.account_id,
            url=check_url(params["url"]),
            description=params.get("description"),
            enabled_events=check_events(params["enabled_events"]),
            secret=new_secret(),
            status="enabled",
            api_version=params.get("api_version"),
            metadata=params["metadata"].apply({}) if "metadata" in params else {},
            created=ctx.now,
        )
    )
    ctx.touch(endpoint_id)
    return render(load(conn, ctx.account_id, endpoint_id), with_secret=True)


def update(
    conn: sa.Connection, ctx: CallContext, endpoint_id: str, params: dict[str, Any]
) -> dict[str, Any]:
    row = load(conn, ctx.account_id, endpoint_id)
    values: dict[str, Any] = {}
    if "url" in params:
        values["url"] = check_url(params["url"])
    if "enabled_events" in params:
        values["enabled_events"] = check_events(params["enabled_events"])
    if "description" in params:
        values["description"] = params["description"] or None
    if "disabled" in params:
        values["status"] = "disabled" if params["disabled"] else "enabled"
    if "metadata" in params:
        values["metadata"] = params["metadata"].apply(dict(row.metadata))
    if values:
        conn.execute(
            webhook_endpoints.update().where(webhook_endpoints.c.id == row.id).values(**values)
        )
    ctx.touch(endpoint_id)
    return render(load(conn, ctx.account_id, endpoint_id))


def delete(conn: sa.Connection, ctx: CallContext, endpoint_id: str) -> dict[str, Any]:
    row = load(conn, ctx.account_id, endpoint_id)
    conn.execute(
        webhook_endpoints.update().where(webhook_endpoints.c.id == row.id).values(deleted=True)
    )
    ctx.touch(endpoint_id)
    return {"id": row.id, "object": "webhook_endpoint", "deleted": True}
