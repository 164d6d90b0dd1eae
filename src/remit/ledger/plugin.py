"""The ledger as a built-in plugin: its posting rules, registered like anyone's."""

from __future__ import annotations

from remit.ledger.domain.rules import PostingRule
from remit.ledger.rules import BUILTIN_RULES
from remit.plugins.hookspecs import hookimpl


@hookimpl
def remit_posting_rules() -> list[PostingRule]:
    return list(BUILTIN_RULES)
