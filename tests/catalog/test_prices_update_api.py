"""Prices after creation: what may change (and what never does), lookup keys, metered
prices and their meters, plugin pricing models, and the terms the billing engine reads."""

from __future__ import annotations

import httpx
import pytest
from catalog_support import TIERED, events_of, new_price, ok, refused, unchanged

from api.test_contract import assert_event_matches, assert_matches
from conftest import new_account

MONTHLY = {"recurring[interval]": "month"}


def make_meter(api: httpx.Client, event_name: str = "api_calls") -> str:
    body = {
        "display_name": "API calls",
        "event_name": event_name,
        "default_aggregation[formula]": "sum",
    }
    return str(ok(api.post("/v1/billing/meters", data=body))["id"])


# -- metered prices ---------------------------------------------------------------------------
def test_a_metered_price_names_its_meter(api):
    meter = make_meter(api)
    metered = new_price(
        api, unit_amount_decimal="0.5", **MONTHLY, **{"recurring[usage_type]": "metered"},
        **{"recurring[meter]": meter},
    )  # fmt: skip
    assert_matches(metered, "price")
    assert (metered["recurring"]["usage_type"], metered["recurring"]["meter"]) == (
        "metered",
        meter,
    )
    new_price(api, unit_amount="1", **MONTHLY)
    listed = ok(api.get("/v1/prices", params={"recurring[meter]": meter}))["data"]
    assert [p["id"] for p in listed] == [metered["id"]]
    usage = ok(api.get("/v1/prices", params={"recurring[usage_type]": "metered"}))["data"]
    assert [p["id"] for p in usage] == [metered["id"]]


def test_another_accounts_meter_is_missing(api, server, store):
    meter = make_meter(api)
    intruder = new_account(store, "Intruder")
    headers = {"Authorization": f"Bearer {intruder.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        product = ok(client.post("/v1/products", data={"name": "Mine"}))
        data = {
            "product": product["id"],
            "currency": "usd",
            "unit_amount": "1",
            **MONTHLY,
            "recurring[usage_type]": "metered",
            "recurring[meter]": meter,
        }
        with unchanged(store):
            refused(
                client.post("/v1/prices", data=data), "recurring[meter]", "resource_missing", 404
            )


# -- updates ----------------------------------------------------------------------------------
def test_update_changes_names_and_status_and_reports_previous_attributes(api):
    price = new_price(api, unit_amount="500", nickname="Old", **{"metadata[a]": "1"})
    updated = ok(
        api.post(
            f"/v1/prices/{price['id']}",
            data={"active": "false", "nickname": "", "metadata[a]": "", "metadata[b]": "2"},
        )
    )
    assert_matches(updated, "price")
    assert (updated["active"], updated["nickname"], updated["metadata"]) == (
        False,
        None,
        {"b": "2"},
    )
    assert ok(api.get(f"/v1/prices/{price['id']}")) == updated
    (event,) = events_of(api, "price.updated")
    assert_event_matches(event)
    assert event["data"]["object"] == updated
    assert event["data"]["previous_attributes"] == {
        "active": True,
        "nickname": "Old",
        "metadata": {"a": "1", "b": None},
    }


def test_an_update_that_changes_nothing_emits_nothing(api):
    price = new_price(api, unit_amount="500", nickname="Same")
    assert ok(api.post(f"/v1/prices/{price['id']}", data={"nickname": "Same"})) == price
    assert events_of(api, "price.updated") == []


@pytest.mark.parametrize(
    "data",
    [
        {"unit_amount": "1"},
        {"unit_amount_decimal": "1"},
        {"currency": "eur"},
        {"tiers[0][up_to]": "inf"},
        {"tiers_mode": "volume"},
        {"billing_scheme": "tiered"},
        {"recurring[interval]": "year"},
        {"transform_quantity[divide_by]": "2"},
        {"product": "prod_other"},
        {"custom_unit_amount[enabled]": "true"},
    ],
)
def test_amounts_and_terms_never_change(api, store, data):
    price = new_price(api, **TIERED, **MONTHLY)
    with unchanged(store):
        refused(
            api.post(f"/v1/prices/{price['id']}", data=data),
            next(iter(data)).split("[")[0],
            "parameter_unknown",
        )
    assert ok(api.get(f"/v1/prices/{price['id']}")) == price


def test_tax_behavior_is_settled_once(api, store):
    price = new_price(api, unit_amount="1")
    url = f"/v1/prices/{price['id']}"
    assert ok(api.post(url, data={"tax_behavior": "unspecified"}))["tax_behavior"] == "unspecified"
    assert ok(api.post(url, data={"tax_behavior": "inclusive"}))["tax_behavior"] == "inclusive"
    assert ok(api.post(url, data={"tax_behavior": "inclusive"}))["tax_behavior"] == "inclusive"
    with unchanged(store):
        refused(api.post(url, data={"tax_behavior": "exclusive"}), "tax_behavior")
        refused(api.post(url, data={"tax_behavior": "unspecified"}), "tax_behavior")


def test_currency_options_may_be_added_but_never_repriced(api, store):
    price = new_price(api, unit_amount="1000", **{"currency_options[eur][unit_amount]": "900"})
    url = f"/v1/prices/{price['id']}"
    added = ok(
        api.post(
            url,
            data={
                "currency_options[gbp][unit_amount]": "800",
                "currency_options[eur][unit_amount]": "900",
                "currency_options[eur][tax_behavior]": "exclusive",
                "expand[]": "currency_options",
            },
        )
    )
    options = added["currency_options"]
    assert sorted(options) == ["eur", "gbp", "usd"]
    assert (options["gbp"]["unit_amount"], options["eur"]["tax_behavior"]) == (800, "exclusive")
    (event,) = events_of(api, "price.updated")
    # As for any hash, only what changed (Stripe, changelog 2015-01-26): eur's tax behavior
    # was unspecified, gbp was absent.
    assert event["data"]["previous_attributes"] == {
        "currency_options": {"eur": {"tax_behavior": "unspecified"}, "gbp": None}
    }
    with unchanged(store):
        refused(
            api.post(url, data={"currency_options[eur][unit_amount]": "950"}),
            "currency_options[eur]",
        )
        refused(
            api.post(url, data={"currency_options[eur][tax_behavior]": "inclusive"}),
            "currency_options[eur][tax_behavior]",
        )
        refused(api.post(url, data={"currency_options": ""}), "currency_options")
        refused(
            api.post(url, data={"currency_options[usd][unit_amount]": "1"}), "currency_options[usd]"
        )
        refused(
            api.post(url, data={"currency_options[chf][tax_behavior]": "inclusive"}),
            "currency_options[chf][unit_amount]",
            "parameter_missing",
        )


# -- lookup keys ------------------------------------------------------------------------------
def test_a_lookup_key_names_one_price_per_account(api, server, store):
    first = new_price(api, unit_amount="1", lookup_key="standard")
    product = first["product"]
    with unchanged(store):
        error = refused(
            api.post(
                "/v1/prices",
                data={
                    "product": product,
                    "currency": "usd",
                    "unit_amount": "2",
                    "lookup_key": "standard",
                },
            ),
            "lookup_key",
        )
    assert first["id"] in error["message"]
    second = new_price(api, product, unit_amount="3")
    with unchanged(store):
        refused(
            api.post(f"/v1/prices/{second['id']}", data={"lookup_key": "standard"}), "lookup_key"
        )
    # Another account has its own lookup keys.
    other = new_account(store, "Other")
    headers = {"Authorization": f"Bearer {other.secret_key}"}
    with httpx.Client(base_url=server.url, headers=headers) as client:
        theirs = ok(
            client.post(
                "/v1/prices",
                data={
                    "currency": "usd",
                    "unit_amount": "9",
                    "lookup_key": "standard",
                    "product_data[name]": "Theirs",
                },
            )
        )
        assert [p["id"] for p in ok(client.get("/v1/prices?lookup_keys[]=standard"))["data"]] == [
            theirs["id"]
        ]
    assert [p["id"] for p in ok(api.get("/v1/prices?lookup_keys[]=standard"))["data"]] == [
        first["id"]
    ]


def test_transfer_lookup_key_moves_it_atomically(api):
    old = new_price(api, unit_amount="1000", lookup_key="pro_monthly")
    new = new_price(
        api,
        old["product"],
        unit_amount="1200",
        lookup_key="pro_monthly",
        transfer_lookup_key="true",
    )
    assert new["lookup_key"] == "pro_monthly"
    assert ok(api.get(f"/v1/prices/{old['id']}"))["lookup_key"] is None
    (moved,) = events_of(api, "price.updated")
    assert moved["data"]["object"]["id"] == old["id"]
    assert moved["data"]["previous_attributes"] == {"lookup_key": "pro_monthly"}
    # And back again, by update.
    back = ok(
        api.post(
            f"/v1/prices/{old['id']}",
            data={"lookup_key": "pro_monthly", "transfer_lookup_key": "true"},
        )
    )
    assert back["lookup_key"] == "pro_monthly"
    assert ok(api.get(f"/v1/prices/{new['id']}"))["lookup_key"] is None
    listed = ok(api.get("/v1/prices?lookup_keys[0]=pro_monthly"))["data"]
    assert [p["id"] for p in listed] == [old["id"]]
    assert ok(api.post(f"/v1/prices/{old['id']}", data={"lookup_key": ""}))["lookup_key"] is None


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"active": "maybe"}, "active", None),
        ({"nickname": "n" * 5001}, "nickname", None),
        ({"lookup_key": "k" * 201}, "lookup_key", None),
        ({"transfer_lookup_key": "2"}, "transfer_lookup_key", None),
        ({"tax_behavior": "both"}, "tax_behavior", None),
        ({"metadata[k]": "v" * 501}, "metadata[k]", None),
        ({f"metadata[k{n}]": "v" for n in range(51)}, "metadata", None),
        (
            {"currency_options[eur][unit_amount]": "-1"},
            "currency_options[eur][unit_amount]",
            "parameter_invalid_integer",
        ),
        (
            {
                "currency_options[eur][unit_amount]": "1",
                "currency_options[eur][tiers][0][up_to]": "inf",
                "currency_options[eur][tiers][0][unit_amount]": "1",
            },
            "currency_options[eur][tiers]",
            None,
        ),
        ({"expand[]": "nothing"}, "expand", None),
    ],
)
def test_bad_update_params_are_refused_and_write_nothing(api, store, data, param, code):
    price = new_price(api, unit_amount="100")
    with unchanged(store):
        refused(
            api.post(f"/v1/prices/{price['id']}", data=data), param, code or "parameter_invalid"
        )


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"currency": "zzz"}, "currency"),
        ({"active": "1"}, "active"),
        ({"recurring[interval]": "hourly"}, "recurring[interval]"),
        ({"recurring[aggregate_usage]": "sum"}, "recurring[aggregate_usage]"),
        ({"created[after]": "1"}, "created[after]"),
        ({"limit": "101"}, "limit"),
        ({"starting_after": "price_nope"}, "starting_after"),
    ],
)
def test_bad_list_params_are_refused(api, query, param):
    response = api.get("/v1/prices", params=query)
    assert response.status_code in (400, 404), response.text
    assert response.json()["error"]["param"] == param
