"""What a run created through the API may read.

The CLI runs as a person on the machine and reads whatever they can. The API answers any
holder of an account's key, and a source's rows come back in breaks and rejects: without a
bound, one tenant's key could read the server's files or reach any database it can route
to. So over the API, files (and SQLite databases, which are files) must lie under one of
``REMIT_RECONCILE_ROOTS`` (default ``$REMIT_DATA_DIR/reconcile``), and other databases must
have a URL starting with one of ``REMIT_RECONCILE_DATABASES`` (none by default). The
platform's own objects are always the caller's own tenant's, and plugin kinds decide for
themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

from remit.fde.reconcile.model import Side, SourceSpec
from remit.primitives.errors import PermissionDenied


def check_api_source(
    spec: SourceSpec, side: Side, roots: Sequence[Path], databases: Sequence[str]
) -> None:
    """Refuse (403, ``source_not_allowed``) a source the API may not read."""
    if spec.kind == "file":
        _check_path(Path(spec.location), side, roots)
    elif spec.kind == "sql":
        _check_database(spec.location, side, roots, databases)


def _check_path(path: Path, side: Side, roots: Sequence[Path]) -> None:
    resolved = path.expanduser().resolve()
    if any(resolved.is_relative_to(root.expanduser().resolve()) for root in roots):
        return
    where = ", ".join(str(root) for root in roots) or "no folder"
    raise PermissionDenied(
        f"A run created through the API reads files only under REMIT_RECONCILE_ROOTS "
        f"({where}); {path} is not. `remit reconcile run` reads any file.",
        code="source_not_allowed",
        param=side,
    )


def _check_database(url: str, side: Side, roots: Sequence[Path], databases: Sequence[str]) -> None:
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        return  # the sql source itself answers an unparseable URL
    if parsed.get_backend_name() == "sqlite":
        _check_path(Path(parsed.database or ":memory:"), side, roots)
        return
    if any(url.startswith(prefix) for prefix in databases):
        return
    raise PermissionDenied(
        "A run created through the API reaches only the databases REMIT_RECONCILE_DATABASES "
        "lists (URL prefixes); this one is not among them. `remit reconcile run` reaches any.",
        code="source_not_allowed",
        param=side,
    )
