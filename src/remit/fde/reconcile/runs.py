"""Reconciliation runs: load both sides, match, and keep what was found.

A run is reproducible from what it stores: the rules' text and digest, each side's
source and fingerprint (a file's bytes, or the rows a batch source streamed), and
``results_digest`` over every match and break in one total order. Running the same
rules over the same inputs again gives the same fingerprints and the same digest,
which is how two runs are known to have seen the same thing.

The work happens in a private DuckDB first; only then is the state store written,
in one short transaction. Bad rules or sources raise before anything is written. A
run DuckDB itself cannot finish (memory, spill space) is kept as ``failed`` with
what went wrong, so the attempt and its inputs stay on record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import duckdb

from remit.analytics.engine import connect
from remit.context import CallContext
from remit.fde.reconcile import load, matching, state
from remit.fde.reconcile.model import (
    BREAK_TYPES,
    Rules,
    Side,
    SideLoad,
    SourceSpec,
    StateRules,
    Summary,
)
from remit.fde.reconcile.rules import parse_rules
from remit.fde.reconcile.runs_persist import OBJECT_NAME, Progress, find, persist, retrieve
from remit.fde.reconcile.runs_results import OUTPUT_FORMATS, results_digest, write_outputs
from remit.fde.reconcile.sources import SourceContext
from remit.fde.reconcile.tables import reconciliation_runs
from remit.primitives.errors import InvalidRequestError
from remit.primitives.ids import new_id, register_prefix
from remit.store.engine import Store

__all__ = ["OBJECT_NAME", "RunRequest", "execute", "find", "retrieve", "source_text"]

register_prefix("recrun")

# What DuckDB cannot finish for want of memory or spill space: the run is recorded as
# failed. Anything else is a bad input (raised by the loaders before this) or a bug.
_RESOURCE_ERRORS = (duckdb.OutOfMemoryException, duckdb.IOException, duckdb.InterruptException)
_PASSWORD = re.compile(r"(://[^/:@]*):[^/@]*@")


@dataclass(frozen=True)
class RunRequest:
    """What to reconcile, and how much of the machine the run may use."""

    rules_text: str
    left: SourceSpec
    right: SourceSpec
    cutoff_ts: int | None = None
    memory_limit: str | None = None  # DuckDB's, e.g. "1GB": past it, work spills to temp_dir
    temp_dir: Path | None = None
    outputs_dir: Path | None = None  # matches, breaks and rejects written here as files
    output_format: str = "csv"


@dataclass(frozen=True)
class _Found:
    """What loading and matching found, before anything is written."""

    left: SideLoad | None
    right: SideLoad | None
    summary: Summary | None
    failure: dict[str, Any] | None = None


def execute(
    store: Store, ctx: CallContext, request: RunRequest, progress: Progress | None = None
) -> dict[str, Any]:
    """Run ``request`` for ``ctx``'s account and return the persisted ``reconciliation.run``."""
    rules = parse_rules(request.rules_text)
    _check(request, rules)
    report = progress or _quiet
    sctx = SourceContext(store=store, account_id=ctx.account_id, pm=ctx.pm, now=ctx.now)
    run_id = new_id("recrun")
    duck = connect(memory_limit=request.memory_limit, temp_dir=request.temp_dir)
    try:
        found = _reconcile(duck, rules, request, sctx, report)
        digest = ""
        if found.summary is not None:
            _check_summary(duck, found.summary)
            digest = results_digest(duck)
            if request.outputs_dir is not None:
                write_outputs(duck, run_id, request.outputs_dir, request.output_format)
        row = _run_row(run_id, ctx, rules, request, found, digest, _rejected(duck))
        with store.write() as conn:
            if found.failure is None:
                persist(conn, row, duck, report)
            else:
                conn.execute(reconciliation_runs.insert(), row)
    finally:
        duck.close()
    with store.read() as conn:
        return retrieve(conn, ctx.account_id, run_id)


def _check(request: RunRequest, rules: Rules) -> None:
    """Refuse a request whose parts cannot go together, before any source is read."""
    if request.output_format not in OUTPUT_FORMATS:
        raise InvalidRequestError(
            f"Unknown output format {request.output_format!r}: use csv or parquet.",
            code="parameter_invalid", param="format",
        )  # fmt: skip
    if isinstance(rules, StateRules):
        if request.cutoff_ts is not None:
            raise InvalidRequestError(
                "A cutoff applies to transaction balances; state-mode rules compare objects "
                "as they are now.",
                code="parameter_invalid", param="cutoff",
            )  # fmt: skip
        expected = f"{rules.object}s"
        if request.left.kind == "platform" and request.left.location != expected:
            raise InvalidRequestError(
                f"These rules compare {rules.object} objects: the left side must be "
                f"platform:{expected}, not platform:{request.left.location}.",
                code="parameter_invalid", param="left",
            )  # fmt: skip
    if request.outputs_dir is not None:
        try:
            request.outputs_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidRequestError(
                f"The output directory cannot be created: {exc.strerror}.",
                code="parameter_invalid", param="out",
            ) from None  # fmt: skip


def _reconcile(
    duck: duckdb.DuckDBPyConnection,
    rules: Rules,
    request: RunRequest,
    sctx: SourceContext,
    report: Progress,
) -> _Found:
    """Load both sides, then match or compare; running out of resources is the run's failure."""
    load.create_rejects(duck)
    loaded: dict[str, SideLoad] = {}
    sides: tuple[tuple[Side, SourceSpec], ...] = (("left", request.left), ("right", request.right))
    try:
        for side, spec in sides:
            loaded[side] = _load_side(duck, rules, side, spec, sctx, report)
        if isinstance(rules, StateRules):
            summary = state.run_state(duck, rules, progress=report)
        else:
            summary = matching.run_transactions(
                duck, rules, cutoff_ts=request.cutoff_ts, progress=report
            )
    except _RESOURCE_ERRORS as exc:
        # DuckDB's first line says what ran out; the rest is tuning advice for its own SQL.
        message = str(exc).strip().splitlines()[0]
        failure = {"type": "api_error", "code": "reconciliation_failed", "message": message}
        return _Found(loaded.get("left"), loaded.get("right"), None, failure)
    return _Found(loaded["left"], loaded["right"], summary)


def _load_side(
    duck: duckdb.DuckDBPyConnection,
    rules: Rules,
    side: Side,
    spec: SourceSpec,
    sctx: SourceContext,
    report: Progress,
) -> SideLoad:
    """One side into DuckDB: raw rows in state mode (the comparison parses them), parsed
    records in transaction mode. Its progress shows as one stage, ``load <side>``."""
    stage = f"load {side}"
    report(stage, 0, None)

    def progress(_: str, done: int, total: int | None) -> None:
        report(stage, done, total)

    try:
        if isinstance(rules, StateRules):
            table = rules.table if side == "right" else None
            found = load.load_raw(duck, side, spec, sctx, table=table, progress=progress)
        else:
            mapping = rules.left if side == "left" else rules.right
            found = load.load_records(duck, side, spec, mapping, sctx, progress=progress)
    except InvalidRequestError as error:
        if error.param is not None:
            raise
        # A problem with the source as a whole (an unknown kind): the side is the param.
        raise InvalidRequestError(error.message, code=error.code, param=side) from None
    report(stage, found.rows, found.rows)
    return found


def _check_summary(duck: duckdb.DuckDBPyConnection, summary: Summary) -> None:
    """The summary the engine returned counts the breaks it wrote: what a run shows and
    what it keeps must not disagree (checked in pairs, as money is)."""
    written = dict(duck.execute("SELECT type, COUNT(*) FROM breaks GROUP BY type").fetchall())
    reported = {kind: count for kind, count in summary.breaks_by_type.items() if count}
    assert written == reported, f"breaks written {written} but summarized {reported}"


def _rejected(duck: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows each side could not read (a row counts once however many of its fields failed)."""
    found = duck.execute(
        "SELECT side, COUNT(DISTINCT line_no) FROM rejects GROUP BY side ORDER BY side"
    ).fetchall()
    return {side: count for side, count in found}


def _run_row(
    run_id: str,
    ctx: CallContext,
    rules: Rules,
    request: RunRequest,
    found: _Found,
    digest: str,
    rejected: Mapping[str, int],
) -> dict[str, Any]:
    if isinstance(rules, StateRules):
        labels = ("platform", rules.external_label)
    else:
        labels = (rules.left.label, rules.right.label)
    return {
        "id": run_id,
        "account_id": ctx.account_id,
        "mode": rules.mode,
        "status": "succeeded" if found.failure is None else "failed",
        "rules_name": rules.name,
        "rules_version": rules.version,
        "rules_digest": rules.digest,
        "rules_text": request.rules_text,
        "left_source": _side(request.left, labels[0], found.left, rejected.get("left", 0)),
        "right_source": _side(request.right, labels[1], found.right, rejected.get("right", 0)),
        "cutoff_ts": request.cutoff_ts,
        "summary": {} if found.summary is None else summary_json(found.summary),
        "results_digest": digest,
        "failure": found.failure,
        "created": ctx.now,
    }


def _side(spec: SourceSpec, label: str, loaded: SideLoad | None, rejected: int) -> dict[str, Any]:
    return {
        "source": source_text(spec),
        "kind": spec.kind,
        "label": label,
        "rows": None if loaded is None else loaded.rows,
        "rejected": rejected,
        "fingerprint": None if loaded is None else loaded.fingerprint,
    }


def summary_json(summary: Summary) -> dict[str, Any]:
    """The engine's summary as stored and shown: every break type listed, zeros included."""
    return {
        "matched_pairs": summary.matched_pairs,
        "matched_left": summary.matched_left,
        "matched_right": summary.matched_right,
        "records_left": summary.records_left,
        "records_right": summary.records_right,
        "match_rate_bp": summary.match_rate_bp,
        "ties": summary.ties,
        "breaks_by_type": {kind: summary.breaks_by_type.get(kind, 0) for kind in BREAK_TYPES},
        "currencies": [asdict(currency) for currency in summary.currencies],
    }


def source_text(spec: SourceSpec) -> str:
    """How a source is shown and stored: its text form, any password in a URL masked
    (runs are listed over the API; a customer's database password must not be)."""
    text = f"{spec.kind}:{spec.location}"
    options = dict(spec.options)
    if spec.kind == "sql" and "table" in options:
        text += "#" + options.pop("table")  # the URL's own query belongs to its driver
    if options:
        text += "?" + urlencode(sorted(options.items()))
    return _PASSWORD.sub(r"\1:***@", text)


def _quiet(stage: str, done: int, total: int | None) -> None:
    """No one is watching: the run reports its progress to nobody."""
