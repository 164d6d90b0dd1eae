"""Meter event sessions: the short-lived credential of the v2 meter event stream.

A session is made with the account's secret key and returns a token valid for
``SESSION_TTL_S``. Only the token's SHA-256 is stored, like API keys. The stream
takes nothing else, so a leaked stream token can write usage for 15 minutes and
do nothing more.
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from remit.accounts.service import Account, get_account, hash_key
from remit.context import CallContext
from remit.metering.domain.timestamps import rfc3339
from remit.metering.tables import meter_event_sessions
from remit.primitives.errors import AuthenticationError, TemporarySessionExpired
from remit.primitives.ids import new_id, register_prefix

SESSION_TTL_S = 15 * 60
TOKEN_PREFIX = "mest_"

register_prefix("mes")


def create(conn: sa.Connection, ctx: CallContext) -> dict[str, Any]:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session_id, expires_at = new_id("mes"), ctx.now + SESSION_TTL_S
    conn.execute(
        meter_event_sessions.insert(),
        {
            "id": session_id,
            "account_id": ctx.account_id,
            "token_hash": hash_key(token),
            "created": ctx.now,
            "expires_at": expires_at,
        },
    )
    ctx.touch(session_id)
    return {
        "id": session_id,
        "object": "v2.billing.meter_event_session",
        "authentication_token": token,
        "created": rfc3339(ctx.now),
        "expires_at": rfc3339(expires_at),
        "livemode": False,
    }


_BY_TOKEN = sa.select(meter_event_sessions.c.account_id, meter_event_sessions.c.expires_at).where(
    meter_event_sessions.c.token_hash == sa.bindparam("token_hash")
)


def find(conn: sa.Connection, token: str) -> tuple[Account, int] | None:
    """The account a session token authenticates and when the token expires."""
    row = conn.execute(_BY_TOKEN, {"token_hash": hash_key(token)}).first()
    if row is None:
        return None
    account = get_account(conn, row.account_id)
    return None if account is None else (account, row.expires_at)


def check_unexpired(expires_at: int, now: int) -> None:
    if now >= expires_at:
        raise TemporarySessionExpired(
            "The meter event session has expired. Create a new session with "
            "POST /v2/billing/meter_event_session.",
            code="billing_meter_event_session_expired",
        )


def unknown_token() -> AuthenticationError:
    return AuthenticationError(
        "Invalid meter event session token. The meter event stream takes the "
        "authentication_token of a meter event session, not an API key."
    )
