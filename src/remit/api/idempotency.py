"""Idempotency keys: the first response to a key is the response, for 24 hours and more.

A key is claimed in its own short transaction (``in_flight``), so a concurrent
duplicate sees the claim and gets 409 instead of running twice. The handler's
transaction stores the response together with its effects; a response that
reached the caller therefore always replays, byte for byte. A claim whose
request died (process killed) is taken over once it is ``STALE_AFTER_S`` old.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from remit.api.tables import idempotency_keys
from remit.primitives.clock import Clock
from remit.primitives.errors import IdempotencyError, InvalidRequestError
from remit.store.engine import Store
from remit.store.group_commit import Writer

MAX_KEY_CHARS = 255
RETENTION_S = 48 * 3600
STALE_AFTER_S = 120
KEYED_METHODS = frozenset({"POST", "DELETE"})


_BY_KEY = sa.select(idempotency_keys).where(
    idempotency_keys.c.account_id == sa.bindparam("account_id"),
    idempotency_keys.c.key == sa.bindparam("key"),
)

_DELETE_KEY = idempotency_keys.delete().where(
    idempotency_keys.c.account_id == sa.bindparam("account_id"),
    idempotency_keys.c.key == sa.bindparam("key"),
)
_INSERT_KEY = idempotency_keys.insert()


@dataclass(frozen=True, slots=True)
class Replay:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Claim:
    account_id: str
    key: str


def fingerprint(method: str, path: str, params: dict[str, Any]) -> str:
    canonical = json.dumps([method, path, params], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_CHARS:
        raise InvalidRequestError(
            f"Idempotency keys must be 1 to {MAX_KEY_CHARS} characters long.",
            param="Idempotency-Key",
        )
    return key


def begin(
    writer: Writer, account_id: str, key: str, print_: str, request_id: str, now: int
) -> Claim | Replay:
    for _ in range(2):  # a lost insert race on PostgreSQL is answered by re-reading
        try:
            return writer.run(lambda conn: claim(conn, account_id, key, print_, request_id, now))
        except IntegrityError:
            continue
    raise _in_use()


def claim(
    conn: sa.Connection, account_id: str, key: str, print_: str, request_id: str, now: int
) -> Claim | Replay:
    """Claim ``key`` in the caller's transaction, or find the answer already given."""
    where = (idempotency_keys.c.account_id == account_id, idempotency_keys.c.key == key)
    row = conn.execute(sa.select(idempotency_keys).where(*where)).first()
    if row is not None and row.created + RETENTION_S < now:
        conn.execute(idempotency_keys.delete().where(*where))
        row = None
    if row is None:
        conn.execute(
            idempotency_keys.insert().values(
                account_id=account_id,
                key=key,
                fingerprint=print_,
                status="in_flight",
                request_id=request_id,
                locked_at=now,
                created=now,
            )
        )
        return Claim(account_id, key)
    if row.fingerprint != print_:
        raise _mismatch(key)
    if row.status == "done":
        return Replay(row.response_status, bytes(row.response_body))
    if row.locked_at + STALE_AFTER_S > now:
        raise _in_use()
    conn.execute(
        idempotency_keys.update().where(*where).values(locked_at=now, request_id=request_id)
    )
    return Claim(account_id, key)


def lookup(conn: sa.Connection, account_id: str, key: str, print_: str, now: int) -> Replay | None:
    """The saved answer to ``key``, if any, for callers whose writes are serialised.

    Under a single writer no other request can hold the key while we run, so the
    claim and its answer are written in one go by ``record`` after the handler.
    """
    row = conn.execute(_BY_KEY, {"account_id": account_id, "key": key}).first()
    if row is None:
        return None
    if row.created + RETENTION_S < now:
        conn.execute(_DELETE_KEY, {"account_id": account_id, "key": key})
        return None
    if row.fingerprint != print_:
        raise _mismatch(key)
    if row.status != "done":
        raise _in_use()  # a crashed request's claim, not yet stale: as if still running
    return Replay(row.response_status, bytes(row.response_body))


def record(
    conn: sa.Connection,
    account_id: str,
    key: str,
    print_: str,
    request_id: str,
    now: int,
    status: int,
    body: bytes,
) -> None:
    """Save the answer to a key that ``lookup`` found free, in the same transaction."""
    conn.execute(
        _INSERT_KEY,
        {
            "account_id": account_id,
            "key": key,
            "fingerprint": print_,
            "status": "done",
            "request_id": request_id,
            "response_status": status,
            "response_body": body,
            "locked_at": now,
            "created": now,
        },
    )


def _mismatch(key: str) -> IdempotencyError:
    return IdempotencyError(
        "Keys for idempotent requests can only be used with the same parameters they "
        f"were first used with. Try using a key other than '{key}' if you meant to "
        "execute a different request."
    )


def _in_use() -> IdempotencyError:
    return IdempotencyError(
        "There is currently another in-progress request using this idempotency key. "
        "Retry this request later.",
        code="idempotency_key_in_use",
        http_status=409,
    )


def finish(conn: sa.Connection, claim: Claim, status: int, body: bytes) -> None:
    """Store the response; call inside the transaction that made the request's effects."""
    conn.execute(
        idempotency_keys.update()
        .where(
            idempotency_keys.c.account_id == claim.account_id,
            idempotency_keys.c.key == claim.key,
        )
        .values(status="done", response_status=status, response_body=body)
    )


def release(conn: sa.Connection, claim: Claim) -> None:
    """Forget a claim whose request failed without effects, so a retry may run."""
    conn.execute(
        idempotency_keys.delete().where(
            idempotency_keys.c.account_id == claim.account_id,
            idempotency_keys.c.key == claim.key,
            idempotency_keys.c.status == "in_flight",
        )
    )


PURGE_BATCH = 1000


def purge(store: Store, now: int, batch: int = PURGE_BATCH) -> int:
    """Delete up to ``batch`` keys past retention; how many went.

    Run by the worker as a background task every loop, so it first looks with a read
    (an index probe) and takes the write lock only when something is due.
    """
    cutoff = now - RETENTION_S
    t = idempotency_keys.c
    with store.read() as conn:
        due = conn.execute(sa.select(t.key).where(t.created < cutoff).limit(1)).first()
    if due is None:
        return 0
    with store.write() as conn:
        doomed = sa.select(t.account_id, t.key).where(t.created < cutoff).limit(batch)
        key = sa.tuple_(t.account_id, t.key)
        result = conn.execute(idempotency_keys.delete().where(key.in_(doomed)))
    return result.rowcount


def purge_task(store: Store, clock: Clock) -> int:
    return purge(store, clock.now())
