"""The v2 API's time text: RFC 3339 with a zone, to and from Unix seconds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def rfc3339(timestamp_s: int) -> str:
    """UTC with milliseconds, as Stripe writes v2 timestamps."""
    return datetime.fromtimestamp(timestamp_s, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rfc3339_seconds(text: str) -> int | None:
    """Unix seconds of an RFC 3339 date-time with a zone (fractions cut); None otherwise."""
    if "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return (moment - EPOCH) // timedelta(seconds=1)
