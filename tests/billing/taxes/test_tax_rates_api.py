"""/v1/tax_rates: create, retrieve, update and list; refusals write nothing."""

from __future__ import annotations

import pytest

from billing.discounts.discounts_support import events_of, ok, refused, unchanged

VAT = {
    "display_name": "VAT",
    "percentage": "19",
    "inclusive": "false",
    "country": "de",
    "jurisdiction": "DE",
    "description": "VAT Germany",
    "tax_type": "vat",
}


def _rate(api, **params: str):  # type: ignore[no-untyped-def]
    return ok(api.post("/v1/tax_rates", data={**VAT, **params}))


def test_a_rate_is_created_with_stripes_shape(api):
    rate = _rate(api, **{"metadata[code]": "DE-19"})
    assert rate["id"].startswith("txr_")
    assert rate["percentage"] == 19 and isinstance(rate["percentage"], int)
    assert (rate["country"], rate["jurisdiction"], rate["tax_type"]) == ("DE", "DE", "vat")
    assert (rate["active"], rate["inclusive"], rate["metadata"]) == (True, False, {"code": "DE-19"})
    assert (rate["effective_percentage"], rate["flat_amount"], rate["rate_type"]) == (None,) * 3
    assert rate["jurisdiction_level"] is None and rate["state"] is None
    (event,) = events_of(api, "tax_rate.created")
    assert event["data"]["object"] == rate
    assert ok(api.get(f"/v1/tax_rates/{rate['id']}")) == rate


def test_fractional_percentages_are_exact_json_numbers(api):
    rate = _rate(api, percentage="8.875", inclusive="true", state="ny", country="US")
    assert rate["percentage"] == 8.875 and rate["state"] == "NY"
    assert _rate(api, percentage="0.0001")["percentage"] == 0.0001
    assert _rate(api, percentage="100.0")["percentage"] == 100


def test_update_changes_what_stripe_lets_change(api):
    rate = _rate(api)
    updated = ok(
        api.post(
            f"/v1/tax_rates/{rate['id']}",
            data={"active": "false", "display_name": "MwSt", "description": "", "state": "BY"},
        )
    )
    assert (updated["active"], updated["display_name"]) == (False, "MwSt")
    assert (updated["description"], updated["state"]) == (None, "BY")
    (event,) = events_of(api, "tax_rate.updated")
    assert event["data"]["previous_attributes"] == {
        "active": True,
        "display_name": "VAT",
        "description": "VAT Germany",
        "state": None,
    }
    assert ok(api.post(f"/v1/tax_rates/{rate['id']}", data={"active": "false"})) == updated
    assert len(events_of(api, "tax_rate.updated")) == 1


@pytest.mark.parametrize("field", ["percentage", "inclusive"])
def test_percentage_and_inclusive_are_fixed(api, store, field):
    rate = _rate(api)
    with unchanged(store):
        response = api.post(f"/v1/tax_rates/{rate['id']}", data={field: "true"})
    refused(response, field, "parameter_unknown")


def test_list_filters_active_inclusive_and_created(api):
    a = _rate(api)
    b = _rate(api, inclusive="true")
    c = ok(api.post(f"/v1/tax_rates/{_rate(api)['id']}", data={"active": "false"}))

    def ids(**params: str) -> list[str]:
        return [r["id"] for r in ok(api.get("/v1/tax_rates", params=params))["data"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(active="true") == [b["id"], a["id"]]
    assert ids(inclusive="true") == [b["id"]]
    assert ids(**{"created[lt]": str(a["created"])}) == []
    assert ids(limit="1", starting_after=b["id"]) == [a["id"]]


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({"display_name": "VAT", "inclusive": "false"}, "percentage", "parameter_missing"),
        ({"percentage": "5", "inclusive": "false"}, "display_name", "parameter_missing"),
        ({"display_name": "VAT", "percentage": "5"}, "inclusive", "parameter_missing"),
        ({**VAT, "percentage": "100.01"}, "percentage", "parameter_invalid"),
        ({**VAT, "percentage": "-1"}, "percentage", "parameter_invalid"),
        ({**VAT, "percentage": "1.23456"}, "percentage", "parameter_invalid"),
        ({**VAT, "percentage": "abc"}, "percentage", "parameter_invalid"),
        ({**VAT, "display_name": "x" * 51}, "display_name", "parameter_invalid"),
        ({**VAT, "display_name": " "}, "display_name", "parameter_invalid_string_blank"),
        ({**VAT, "country": "DEU"}, "country", "parameter_invalid"),
        ({**VAT, "country": "1A"}, "country", "parameter_invalid"),
        ({**VAT, "state": "N-Y"}, "state", "parameter_invalid"),
        ({**VAT, "tax_type": "poll_tax"}, "tax_type", "parameter_invalid"),
        ({**VAT, "inclusive": "maybe"}, "inclusive", "parameter_invalid"),
        ({**VAT, "rate": "5"}, "rate", "parameter_unknown"),
    ],
)
def test_bad_rates_are_refused_and_write_nothing(api, store, data, param, code):
    with unchanged(store):
        response = api.post("/v1/tax_rates", data=data)
    refused(response, param, code)


def test_an_unknown_rate_is_missing(api):
    refused(api.get("/v1/tax_rates/txr_nope"), "id", "resource_missing", 404)
    refused(
        api.post("/v1/tax_rates/txr_nope", data={"active": "false"}), "id", "resource_missing", 404
    )
