"""What a service needs to know about the call it serves."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from remit.accounts.service import Account

if TYPE_CHECKING:
    import pluggy


@dataclass
class CallContext:
    """One API call (or CLI/worker action): who, when, and what it touched.

    ``now`` is the account's clock reading for this call; objects governed by a
    test clock use that clock's time instead (see ``billing.test_clocks.now_for``).
    """

    account: Account
    now: int
    request_id: str | None = None
    idempotency_key: str | None = None
    api_version: str | None = None
    touched: list[str] = field(default_factory=list)
    # The plugin manager serving this call: pricing models, meter aggregations and
    # other registries come from it. None where no plugin-provided behaviour is needed.
    pm: pluggy.PluginManager | None = None

    @property
    def account_id(self) -> str:
        return self.account.id

    def touch(self, object_id: str) -> None:
        if object_id not in self.touched and len(self.touched) < 100:
            self.touched.append(object_id)
