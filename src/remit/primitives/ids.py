"""Stripe-style object ids: a prefix, then a creation-ordered, unguessable body.

The body is 9 base62 characters of milliseconds since the epoch followed by
15 characters (~89 bits) of randomness. Ids made by one generator are strictly
increasing even within one millisecond (the random part is bumped, as ULIDs do),
so ``ORDER BY id`` is creation order and list pagination can key on the id.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
TIME_CHARS = 9
RANDOM_CHARS = 15
_RANDOM_SPACE = 62**RANDOM_CHARS
# Fresh ids start in the lower half of the space, so bumps within a millisecond never overflow.
_HALF_SPACE_BITS = (_RANDOM_SPACE // 2).bit_length() - 1

PREFIXES = frozenset(
    {"acct", "cus", "evt", "we", "clock", "req", "key", "job", "whdel", "whatt", "idem"}
)


def _base62(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        chars.append(ALPHABET[digit])
    if value:
        raise ValueError("value does not fit in the requested width")
    return "".join(reversed(chars))


class _UrandomBits:
    """Cryptographic randomness read from the OS in blocks: one syscall per ~300 ids."""

    BLOCK_BYTES = 4096

    def __init__(self) -> None:
        self._buffer = b""
        self._offset = 0
        self._lock = threading.Lock()

    def take(self, bits: int) -> int:
        size = (bits + 7) // 8
        with self._lock:
            if self._offset + size > len(self._buffer):
                self._buffer, self._offset = os.urandom(self.BLOCK_BYTES), 0
            start, self._offset = self._offset, self._offset + size
        chunk = self._buffer[start : start + size]
        return int.from_bytes(chunk, "big") >> (size * 8 - bits)


class IdGenerator:
    """Makes ids; the time and randomness sources are injectable for determinism."""

    def __init__(
        self,
        millis: Callable[[], int] | None = None,
        randbits: Callable[[int], int] | None = None,
    ) -> None:
        self._millis = millis or (lambda: time.time_ns() // 1_000_000)
        self._randbits = randbits or _UrandomBits().take
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0
        self._time_text = ""

    def new(self, prefix: str) -> str:
        if prefix not in PREFIXES:
            raise ValueError(f"unregistered id prefix {prefix!r}")
        with self._lock:
            ms = self._millis()
            if ms <= self._last_ms:
                # Same (or a backwards) millisecond: stay ordered by bumping the random part.
                ms = self._last_ms
                rand = self._last_rand + 1 + self._randbits(16)
                if rand >= _RANDOM_SPACE:
                    ms, rand = ms + 1, self._randbits(_HALF_SPACE_BITS)
            else:
                rand = self._randbits(_HALF_SPACE_BITS)
            if ms != self._last_ms:
                self._time_text = _base62(ms, TIME_CHARS)
            self._last_ms, self._last_rand = ms, rand
            time_text = self._time_text
        return f"{prefix}_{time_text}{_base62(rand, RANDOM_CHARS)}"


_default = IdGenerator()


def new_id(prefix: str) -> str:
    return _default.new(prefix)


def prefix_of(object_id: str) -> str:
    head, sep, _ = object_id.partition("_")
    return head if sep else ""


def register_prefix(prefix: str) -> None:
    """Capabilities added later (and plugins) declare the prefixes they mint."""
    global PREFIXES
    PREFIXES = PREFIXES | {prefix}
