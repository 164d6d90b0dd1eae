"""The ledger's rejection: every finding about a batch, raised once, in Stripe's shape."""

from __future__ import annotations

from collections.abc import Sequence

from remit.ledger.domain.entries import Finding
from remit.primitives.errors import InvalidRequestError

MAX_LISTED = 5


class LedgerRejected(InvalidRequestError):
    def __init__(self, findings: Sequence[Finding]) -> None:
        if not findings:
            raise ValueError("a rejection states at least one finding")
        self.findings = tuple(findings)
        first = self.findings[0]
        shown = "; ".join(f.message for f in self.findings[:MAX_LISTED])
        more = len(self.findings) - MAX_LISTED
        message = shown + (f" (and {more} more)" if more > 0 else "")
        super().__init__(message, code=first.code, param=first.param)
