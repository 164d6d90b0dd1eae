"""Where a reconciliation side comes from: the text a user writes (``platform:invoices``,
``/x/bank.csv``, ``sql:postgresql://u@h/db#payments``) and the kinds that open it.

Kinds are plugins: the three built-in ones are registered through the same
``remit_reconciliation_sources`` hook a third party would use (``remit.fde.reconcile
.plugin``), so the loader never names a kind itself.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import pluggy

from remit.fde.reconcile.model import SourceSpec
from remit.fde.reconcile.sources import files, platform, sql
from remit.fde.reconcile.sources.base import (
    RawSource,
    RowDigest,
    SourceContext,
    SourceKind,
    invalid_source,
)
from remit.primitives.errors import InvalidRequestError

__all__ = [
    "BUILTIN_KINDS",
    "RawSource",
    "RowDigest",
    "SourceContext",
    "SourceKind",
    "parse_source",
    "source_kinds",
]

BUILTIN_KINDS: tuple[SourceKind, ...] = (files.FileKind(), sql.SqlKind(), platform.PlatformKind())

# A kind is a lower-case word before the first colon; anything else is a file path.
_KIND = re.compile(r"^([a-z][a-z0-9_]*):(.*)$", re.DOTALL)


def parse_source(text: str) -> SourceSpec:
    """The spec a source text names.

    ``sql:URL#table`` keeps the URL whole (its own ``?`` query belongs to the driver)
    and puts the table in ``options["table"]``; every other kind takes a trailing
    ``?key=value&...`` as options (``platform:ledger_entries?code=1100``,
    ``/x/export.txt?format=csv``). Text without a kind is a file path.
    """
    text = text.strip()
    if not text:
        raise invalid_source("A source is needed: platform:OBJECT, a file path or sql:URL.")
    found = _KIND.match(text)
    kind, rest = (found.group(1), found.group(2)) if found else ("file", text)
    if kind == "sql":
        url, _, table = rest.rpartition("#") if "#" in rest else (rest, "", "")
        return SourceSpec("sql", url, {"table": table} if table else {})
    location, _, query = rest.partition("?")
    if kind == "file" and location.startswith("//"):
        location = location[2:]  # file:///x/bank.csv, the URI form
    if not location:
        raise invalid_source(f"The source {text!r} names no {kind} location.")
    return SourceSpec(kind, location, _options(query, text))


def _options(query: str, text: str) -> dict[str, str]:
    if not query:
        return {}
    try:
        return dict(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
    except ValueError:
        raise invalid_source(
            f"The options of {text!r} are not key=value pairs joined by '&'."
        ) from None


def source_kinds(pm: pluggy.PluginManager | None) -> dict[str, SourceKind]:
    """Kind name -> kind, from every registered plugin (the built-ins without a manager).

    A name registered twice keeps its first registration: pluggy returns the latest
    plugin's results first, so the built-ins, registered first, are applied last.
    """
    if pm is None:
        return {kind.name: kind for kind in BUILTIN_KINDS}
    return {kind.name: kind for group in pm.hook.remit_reconciliation_sources() for kind in group}


def kind_of(spec: SourceSpec, pm: pluggy.PluginManager | None) -> SourceKind:
    """The kind that opens ``spec``, or ``unknown_source`` naming the kinds there are."""
    kinds = source_kinds(pm)
    if spec.kind not in kinds:
        raise InvalidRequestError(
            f"Unknown source kind {spec.kind!r}; known kinds: {', '.join(sorted(kinds))}.",
            code="unknown_source",
        )
    return kinds[spec.kind]
