"""Accounts (tenants) and their secret keys.

A secret key is 32 random bytes: far too much entropy to guess, so a plain
SHA-256 is the right stored form (a slow password hash would buy nothing and
would cost every request). The key itself is shown once, at creation.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Generic, TypeVar

import sqlalchemy as sa

from remit.accounts.tables import accounts, api_keys
from remit.primitives.ids import new_id
from remit.primitives.money import DEFAULT_ROUNDING, RoundingMode

KEY_PREFIX = "sk_test_"
AUTH_CACHE_TTL_S = 30
AUTH_CACHE_MAX = 10_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    name: str
    rounding_mode: RoundingMode
    created: int


@dataclass(frozen=True, slots=True)
class NewAccount:
    account: Account
    secret_key: str


def hash_key(secret_key: str) -> str:
    return hashlib.sha256(secret_key.encode()).hexdigest()


def create_account(
    conn: sa.Connection, name: str, now: int, rounding_mode: RoundingMode = DEFAULT_ROUNDING
) -> NewAccount:
    name = name.strip()
    if not name or len(name) > 200:
        raise ValueError("an account name is 1 to 200 characters")
    account = Account(new_id("acct"), name, rounding_mode, now)
    conn.execute(
        accounts.insert().values(
            id=account.id, name=name, rounding_mode=rounding_mode.value, created=now
        )
    )
    return NewAccount(account, create_key(conn, account.id, now))


def create_key(conn: sa.Connection, account_id: str, now: int) -> str:
    secret_key = KEY_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        api_keys.insert().values(
            id=new_id("key"),
            account_id=account_id,
            key_hash=hash_key(secret_key),
            last4=secret_key[-4:],
            created=now,
        )
    )
    return secret_key


def find_account_by_key(conn: sa.Connection, secret_key: str) -> Account | None:
    row = conn.execute(
        sa.select(accounts)
        .join(api_keys, api_keys.c.account_id == accounts.c.id)
        .where(api_keys.c.key_hash == hash_key(secret_key), api_keys.c.revoked_at.is_(None))
    ).first()
    if row is None:
        return None
    return Account(row.id, row.name, RoundingMode(row.rounding_mode), row.created)


def get_account(conn: sa.Connection, account_id: str) -> Account | None:
    row = conn.execute(sa.select(accounts).where(accounts.c.id == account_id)).first()
    if row is None:
        return None
    return Account(row.id, row.name, RoundingMode(row.rounding_mode), row.created)


class KeyCache(Generic[T]):
    """Short-lived memo of key hash -> what the key authenticates, so authentication is
    not a query per request.

    Entries live ``AUTH_CACHE_TTL_S`` seconds, which bounds how long a revoked key
    keeps working on a replica. The TTL is an operational bound measured on the
    process's monotonic clock, not business time.
    """

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, T]] = {}
        self._lock = threading.Lock()

    def get(self, secret_key: str) -> T | None:
        with self._lock:
            hit = self._entries.get(hash_key(secret_key))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, secret_key: str, value: T) -> None:
        with self._lock:
            if len(self._entries) >= AUTH_CACHE_MAX:
                self._entries.clear()
            self._entries[hash_key(secret_key)] = (time.monotonic() + AUTH_CACHE_TTL_S, value)
