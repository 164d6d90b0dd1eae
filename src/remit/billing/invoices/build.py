"""Writing invoices: drafts in, invoices with priced lines out, in batches.

The drafts themselves live in ``drafts``; they are named here too, where callers expect
them with ``create_many``.
"""

from __future__ import annotations

from remit.billing.invoices.drafts import InvoiceDraft, LineDraft

__all__ = ["InvoiceDraft", "LineDraft"]
