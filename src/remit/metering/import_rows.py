"""The checks every imported row goes through before attribution, column-wise.

Each is the rule the API applies to one event, applied to a whole chunk with Arrow
kernels: ``event_name`` and ``identifier`` of 1 to 100 characters (blank is refused;
an empty identifier means none: one is derived from the file's fingerprint and the row
number, so a re-import names the row the same way), at most 50 payload keys of 1 to
100 characters with values of at most 500, and a timestamp in Unix seconds or RFC 3339
with a time zone (fractions of a second are floored, as the v2 stream does). A row
failing one is refused with ``invalid_event`` or ``invalid_timestamp`` and never
reaches attribution. The payload's JSON text is built column-wise too, byte for byte
what ``ingest`` stores for the same dict (``orjson.dumps``: compact, UTF-8 as is); rows
with characters JSON escapes go through ``orjson.dumps`` itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc

from remit.metering.domain.timestamps import rfc3339_seconds
from remit.metering.import_payloads import Payload, RawChunk

MAX_NAME_CHARS = 100
MAX_KEY_CHARS = 100
MAX_VALUE_CHARS = 500
MAX_KEYS = 50
MAX_UNIX_DIGITS = 15
_UNIX = f"^[0-9]{{1,{MAX_UNIX_DIGITS}}}$"
# What Arrow's parser reads exactly as datetime.fromisoformat does; anything else that
# may still be RFC 3339 is parsed by fromisoformat itself.
_RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,6})?"
    r"(?:Z|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])$"
)
_JSON_PLAIN = r'^[^"\\\x00-\x1f]*$'  # nothing JSON escapes: no quote, backslash, control
NULL_TEXT = pa.scalar(None, pa.string())
# PostgreSQL's text cannot hold NUL: a row holding one is refused, and what is recorded of it
# carries U+FFFD instead (as the v2 stream does).
NUL = "\x00"


def storable(text: str) -> str:
    return text.replace(NUL, "\ufffd")


@dataclass(frozen=True, slots=True)
class Checked:
    """A chunk after the shape checks. ``payload``: present values only (null: absent).
    ``problem_code``/``problem_message``: null for rows that go on to attribution."""

    row: pa.Array
    event_name: pa.Array
    identifier: pa.Array
    timestamp_s: pa.Array
    payload: Payload
    payload_json: pa.Array
    problem_code: pa.Array
    problem_message: pa.Array

    def __len__(self) -> int:
        return len(self.row)


def generated_prefix(fingerprint: str) -> str:
    return f"import_{fingerprint[:32]}_"


def check(chunk: RawChunk, fingerprint: str) -> Checked:
    size = len(chunk)
    payload = tuple((key, _present(values)) for key, values in chunk.payload)
    identifier = pc.if_else(
        _present(chunk.identifier).is_null(),
        pc.binary_join_element_wise(generated_prefix(fingerprint), chunk.row.cast(pa.string()), ""),
        chunk.identifier,
    )
    timestamp_s, timestamp_problem = parse_timestamps(chunk.timestamp)
    event_problem = pc.coalesce(
        chunk.problem if chunk.problem is not None else pa.nulls(size, pa.string()),
        _name_problem(chunk.event_name),
        _identifier_problem(chunk.identifier),
        _payload_problem(payload, size),
    )
    code = pc.if_else(
        event_problem.is_valid(), "invalid_event",
        pc.if_else(timestamp_problem.is_valid(), "invalid_timestamp", NULL_TEXT),
    )  # fmt: skip
    return Checked(
        chunk.row, chunk.event_name, identifier, timestamp_s, payload,
        payload_json(payload, size), code, pc.coalesce(event_problem, timestamp_problem),
    )  # fmt: skip


def _present(values: pa.Array) -> pa.Array:
    """Empty text is an absent value (CSV cannot tell them apart)."""
    return pc.if_else(pc.equal(values, ""), NULL_TEXT, values)


def _when(mask: pa.Array, message: str) -> pa.Array:
    return pc.if_else(mask.fill_null(False), pa.scalar(message), NULL_TEXT)


def _name_problem(names: pa.Array) -> pa.Array:
    blank = pc.or_kleene(names.is_null(), pc.equal(pc.utf8_trim_whitespace(names), ""))
    return pc.coalesce(
        _when(blank, "event_name is required and must be a non-empty string"),
        _when(pc.greater(pc.utf8_length(names), MAX_NAME_CHARS),
              f"event_name can have at most {MAX_NAME_CHARS} characters"),
        _when(pc.match_substring(names, NUL), "event_name must not contain NUL characters"),
    )  # fmt: skip


def _identifier_problem(identifiers: pa.Array) -> pa.Array:
    given = _present(identifiers)
    blank = pc.equal(pc.utf8_trim_whitespace(given), "")
    return pc.coalesce(
        _when(blank, "identifier must be a non-empty string"),
        _when(pc.greater(pc.utf8_length(given), MAX_NAME_CHARS),
              f"identifier can have at most {MAX_NAME_CHARS} characters"),
        _when(pc.match_substring(given, NUL), "identifier must not contain NUL characters"),
    )  # fmt: skip


def _payload_problem(payload: Payload, size: int) -> pa.Array:
    found = [pa.nulls(size, pa.string())]
    counts = np.zeros(size, dtype=np.int64)
    for key, values in payload:
        present = values.is_valid()
        counts += present.to_numpy(zero_copy_only=False)
        if not key or len(key) > MAX_KEY_CHARS or NUL in key:
            found.append(_when(present, f"Payload keys must be 1 to {MAX_KEY_CHARS} characters, "
                                        "without NUL."))  # fmt: skip
        long_value = pc.greater(pc.utf8_length(values), MAX_VALUE_CHARS)
        found.append(_when(long_value, f"Payload values can have at most {MAX_VALUE_CHARS} "
                                       "characters."))  # fmt: skip
        found.append(_when(pc.match_substring(values, NUL),
                           "Payload values must not contain NUL characters."))  # fmt: skip
    found.append(_when(pa.array(counts > MAX_KEYS), f"payload can have at most {MAX_KEYS} keys"))
    return pc.coalesce(*found)


def parse_timestamps(texts: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Unix seconds (null where unusable) and the problem of each unusable one."""
    size = len(texts)
    unix = pc.match_substring_regex(texts, _UNIX).fill_null(False)
    seconds = pc.if_else(unix, texts, NULL_TEXT).cast(pa.int64())
    rfc = pc.and_(pc.match_substring_regex(texts, _RFC3339).fill_null(False), pc.invert(unix))
    rest = pc.and_(texts.is_valid(), pc.invert(pc.or_(unix, rfc)))
    if pc.any(rfc).as_py():
        try:
            moments = pc.if_else(rfc, texts, NULL_TEXT).cast(pa.timestamp("ns", "UTC"))
        except pa.ArrowInvalid:  # a date that does not exist: every such text goes below
            rest = pc.or_(rest, rfc)
        else:
            nanos = moments.cast(pa.int64()).fill_null(0).to_numpy()
            floored = pa.array(np.floor_divide(nanos, 1_000_000_000), mask=~np.asarray(rfc))
            seconds = pc.coalesce(seconds, floored)
    if pc.any(rest).as_py():
        seconds = pc.coalesce(seconds, _iso_seconds(texts, rest))
    problem = pc.if_else(
        seconds.is_valid(), NULL_TEXT,
        pc.if_else(
            texts.is_null(),
            "timestamp is required: Unix seconds or an RFC 3339 date-time with a time zone",
            pc.binary_join_element_wise(
                "timestamp must be Unix seconds or an RFC 3339 date-time with a time zone, "
                "got '", pc.utf8_slice_codeunits(texts, 0, 40), "'", "",
            ),
        ),
    )  # fmt: skip
    assert len(seconds) == size
    return seconds, problem


def _iso_seconds(texts: pa.Array, mask: pa.Array) -> pa.Array:
    """The v2 stream's rule, for the texts Arrow's parser was not trusted with."""
    found: list[int | None] = []
    for text, wanted in zip(texts.to_pylist(), mask.to_pylist(), strict=True):
        found.append(rfc3339_seconds(text) if wanted else None)
    return pa.array(found, pa.int64())


def payload_json(payload: Payload, size: int) -> pa.Array:
    """Each row's payload as ``orjson.dumps`` writes it (keys in column order)."""
    # Each present value becomes '"key":"value",' and an absent one '': joined, less the
    # last separator. (Arrow's join with null_handling="skip" drops all-null rows.)
    pieces, plain = [], pa.array(np.ones(size, dtype=bool))
    for key, values in payload:
        piece = pc.binary_join_element_wise(_json(key) + ':"', values, '",', "")
        pieces.append(piece.fill_null(""))
        plain = pc.and_(plain, pc.match_substring_regex(values, _JSON_PLAIN).fill_null(True))
    joined = pc.binary_join_element_wise(*pieces, "") if pieces else pa.array([""] * size)
    texts = pc.binary_join_element_wise("{", pc.utf8_slice_codeunits(joined, 0, -1), "}", "")
    assert len(texts) == size
    if pc.all(plain).as_py():
        return texts
    escaped = np.flatnonzero(~np.asarray(plain))
    replaced = texts.to_pylist()
    for index in escaped:
        replaced[index] = _json(dict_of(payload, int(index)))
    return pa.array(replaced, pa.string())


def _json(value: object) -> str:
    return orjson.dumps(value).decode()


def dict_of(payload: Payload, index: int) -> dict[str, str]:
    """One row's payload as a dict of its present values."""
    found = {}
    for key, values in payload:
        value = values[index].as_py()
        if value is not None:
            found[key] = value
    return found
