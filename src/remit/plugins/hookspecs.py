"""The customization contract. Built-in features implement these same hooks.

A plugin is any object (or module) with ``@hookimpl`` functions, published under
the ``remit.plugins`` entry-point group and allowed by name in ``REMIT_PLUGINS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import sqlalchemy as sa

    from remit.context import CallContext

hookspec = pluggy.HookspecMarker("remit")
hookimpl = pluggy.HookimplMarker("remit")


class RemitSpec:
    @hookspec
    def remit_api_routes(self) -> list[Any]:
        """API routes (``remit.api.routing.Route``) this plugin serves."""
        raise NotImplementedError

    @hookspec
    def remit_object_loaders(self) -> dict[str, Any]:
        """Id prefix -> ``loader(conn, account_id, object_id) -> dict``, used by ``expand[]``.

        A key ``"object.field"`` (``"price.product"``) serves that field whatever its ids
        look like, for objects whose ids callers may choose.
        """
        raise NotImplementedError

    @hookspec
    def remit_job_handlers(self, pm: pluggy.PluginManager) -> dict[str, Any]:
        """Job kind -> ``handler(store, job, clock)``, run by the worker."""
        raise NotImplementedError

    @hookspec
    def remit_posting_rules(self) -> list[Any]:
        """Posting rules (``remit.ledger.domain.rules.PostingRule``) this plugin defines.

        A rule named like a built-in replaces it: tailored financial workflows post
        their own way without touching the callers.
        """
        raise NotImplementedError

    @hookspec
    def remit_ledger_verify(self, conn: sa.Connection, account_id: str) -> list[Any]:
        """Extra findings for ``remit ledger verify`` about one tenant.

        Billing implements it: receivables in the ledger equal the open invoices.
        Returns ``remit.ledger.verify.Discrepancy`` records; an empty list is clean.
        """
        raise NotImplementedError

    @hookspec
    def remit_test_clock_advance(
        self, conn: sa.Connection, ctx: CallContext, clock_id: str, from_ts: int, to_ts: int
    ) -> None:
        """Catch up everything living on ``clock_id`` from ``from_ts`` to ``to_ts``.

        Runs inside the advance job's transaction; raising marks the clock
        ``internal_failure`` and rolls back every implementation's work.
        """
        raise NotImplementedError

    @hookspec
    def remit_invoice_status_changed(
        self, conn: sa.Connection, ctx: CallContext, invoice: dict[str, Any], previous_status: str
    ) -> None:
        """An invoice moved from ``previous_status`` to ``invoice["status"]``.

        Called inside the transaction of the change (finalization, payment, void, marked
        uncollectible) with the rendered invoice. Subscriptions follow their invoices
        here (incomplete -> active when the first invoice is paid, past_due -> active, ...);
        raising refuses the change.
        """
        raise NotImplementedError

    @hookspec(firstresult=True)
    def remit_invoice_collect(
        self, conn: sa.Connection, ctx: CallContext, invoice: dict[str, Any], at_ts: int
    ) -> dict[str, Any] | None:
        """Collect payment of an open invoice (``POST /v1/invoices/{id}/pay``).

        The payments capability answers ``{"amount_paid": int}`` when it collected the
        amount remaining (posting its own ledger entries), or raises a Stripe error
        saying why not. None (no implementation) means no payment method can be charged.
        """
        raise NotImplementedError

    @hookspec
    def remit_pricing_models(self) -> list[Any]:
        """Pricing models (``remit.catalog.domain.models.PricingModel``) this plugin rates.

        A price names its model in ``billing_scheme``; ``per_unit`` and ``tiered`` are
        registered by the catalog through this same hook.
        """
        raise NotImplementedError

    @hookspec
    def remit_meter_aggregations(self) -> list[Any]:
        """Meter aggregation formulas (``remit.metering.domain.aggregations.Aggregation``).

        ``sum``, ``count`` and ``last`` are registered by metering through this hook.
        """
        raise NotImplementedError

    @hookspec
    def remit_background_tasks(self, pm: pluggy.PluginManager) -> list[Any]:
        """Recurring work the worker runs every loop: ``task(store, clock) -> int``.

        A task does one bounded round in its own transactions and returns how much it
        did (0: nothing pending); ``Worker.drain`` repeats until every task returns 0.
        Tasks must be safe when several workers run them at once. Metering's rollup
        applier is one.
        """
        raise NotImplementedError

    @hookspec
    def remit_reconciliation_sources(self) -> list[Any]:
        """Where reconciliation reads a side from (``remit.fde.reconcile.sources.SourceKind``).

        ``platform``, ``file`` (CSV, NDJSON, Parquet) and ``sql`` (any SQLAlchemy URL) are
        registered by reconciliation through this same hook; a plugin adds, say, an SFTP
        drop of a bank's files.
        """
        raise NotImplementedError
