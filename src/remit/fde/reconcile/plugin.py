"""Reconciliation as a built-in plugin: its source kinds, registered like anyone's."""

from __future__ import annotations

from remit.fde.reconcile.sources import BUILTIN_KINDS, SourceKind
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_reconciliation_sources() -> list[SourceKind]:
    """``file`` (CSV, NDJSON, Parquet), ``sql`` (any SQLAlchemy URL) and ``platform``."""
    return list(BUILTIN_KINDS)
