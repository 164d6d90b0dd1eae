"""What billing reads of tax rates: their terms, and which may be newly attached."""

from __future__ import annotations

from decimal import Decimal

import pytest

from remit.accounts.service import create_account
from remit.billing.domain.totals import TaxTerms
from remit.billing.taxes import tax_rates
from remit.context import CallContext
from remit.primitives.errors import InvalidRequestError, ResourceMissing

NOW = 1_700_000_000


def _rate(conn, ctx, percentage: str, inclusive: bool = False, **more):  # type: ignore[no-untyped-def]
    params = {"display_name": "Tax", "percentage": Decimal(percentage), "inclusive": inclusive}
    return tax_rates.create(conn, ctx, {**params, **more})["id"]


@pytest.fixture
def ctx(account) -> CallContext:  # type: ignore[no-untyped-def]
    return CallContext(account=account.account, now=NOW)


def test_terms_keep_the_order_named_and_the_exact_percentage(store, ctx):
    with store.write() as conn:
        vat = _rate(conn, ctx, "19", jurisdiction="DE")
        ny = _rate(conn, ctx, "8.875", state="NY")
        got = tax_rates.terms(conn, ctx.account_id, [ny, vat], "tax_rates")
    assert got == (
        TaxTerms(ny, Decimal("8.875"), False, None, "Tax"),
        TaxTerms(vat, Decimal("19"), False, "DE", "Tax"),
    )


def test_an_archived_rate_keeps_applying_but_cannot_be_newly_attached(store, ctx):
    with store.write() as conn:
        rate = _rate(conn, ctx, "7")
        tax_rates.update(conn, ctx, rate, {"active": False})
        assert tax_rates.terms(conn, ctx.account_id, [rate], "p")[0].id == rate
        with pytest.raises(InvalidRequestError) as refused:
            tax_rates.check_attachable(conn, ctx.account_id, [rate], "default_tax_rates")
    assert refused.value.param == "default_tax_rates"
    assert "archived" in refused.value.message


def test_check_attachable_refuses_unknown_repeated_and_mixed_rates(store, ctx, account):
    with store.write() as conn:
        exclusive = _rate(conn, ctx, "5")
        inclusive = _rate(conn, ctx, "20", inclusive=True)
        other = _rate(conn, ctx, "3", inclusive=True)
        ok = tax_rates.check_attachable(conn, ctx.account_id, [inclusive, other], "p")
        assert [t.id for t in ok] == [inclusive, other]
        with pytest.raises(ResourceMissing) as missing:
            tax_rates.check_attachable(conn, ctx.account_id, [exclusive, "txr_nope"], "items[0]")
        assert (missing.value.param, missing.value.http_status) == ("items[0]", 404)
        with pytest.raises(InvalidRequestError, match="more than once"):
            tax_rates.check_attachable(conn, ctx.account_id, [exclusive, exclusive], "p")
        with pytest.raises(InvalidRequestError, match="Inclusive and exclusive"):
            tax_rates.check_attachable(conn, ctx.account_id, [exclusive, inclusive], "p")


def test_another_accounts_rate_is_missing(store, ctx):
    with store.write() as conn:
        other = CallContext(account=create_account(conn, "Other", NOW).account, now=NOW)
        theirs = _rate(conn, other, "10")
        with pytest.raises(ResourceMissing):
            tax_rates.terms(conn, ctx.account_id, [theirs], "p")
