"""/v1/products refusals at create and list: each at its bracket path, nothing written."""

from __future__ import annotations

import pytest
from catalog_support import refused, unchanged


@pytest.mark.parametrize(
    ("data", "param", "code"),
    [
        ({}, "name", "parameter_missing"),
        ({"name": "  "}, "name", "parameter_invalid_string_blank"),
        ({"name": "W", "statement_descriptor": "BAD<CHAR"}, "statement_descriptor", None),
        ({"name": "W", "statement_descriptor": "12345"}, "statement_descriptor", None),
        ({"name": "W", "statement_descriptor": "X" * 23}, "statement_descriptor", None),
        ({"name": "W", "unit_label": "x" * 13}, "unit_label", None),
        ({"name": "W", "type": "gadget"}, "type", None),
        ({"name": "W", "active": "yes"}, "active", None),
        ({"name": "W", "color": "red"}, "color", "parameter_unknown"),
        (
            {"name": "W", **{f"images[{n}]": f"https://e.com/{n}" for n in range(9)}},
            "images",
            None,
        ),
        (
            {"name": "W", **{f"marketing_features[{n}][name]": "f" for n in range(16)}},
            "marketing_features",
            None,
        ),
        (
            {"name": "W", "marketing_features[0][name]": "f" * 81},
            "marketing_features[0][name]",
            None,
        ),
        (
            {"name": "W", "package_dimensions[height]": "1"},
            "package_dimensions[length]",
            "parameter_missing",
        ),
        (
            {
                "name": "W",
                "package_dimensions[height]": "1.005",
                "package_dimensions[length]": "1",
                "package_dimensions[weight]": "1",
                "package_dimensions[width]": "1",
            },
            "package_dimensions[height]",
            None,
        ),
        (
            {
                "name": "W",
                "package_dimensions[height]": "0",
                "package_dimensions[length]": "1",
                "package_dimensions[weight]": "-1",
                "package_dimensions[width]": "1",
            },
            "package_dimensions[height]",
            None,
        ),
        (
            {"name": "W", "default_price_data[unit_amount]": "100"},
            "default_price_data[currency]",
            "parameter_missing",
        ),
        (
            {"name": "W", "default_price_data[currency]": "usd"},
            "default_price_data[unit_amount]",
            "parameter_missing",
        ),
        (
            {
                "name": "W",
                "default_price_data[currency]": "zzz",
                "default_price_data[unit_amount]": "1",
            },
            "default_price_data[currency]",
            None,
        ),
        (
            {
                "name": "W",
                "default_price_data[currency]": "usd",
                "default_price_data[unit_amount]": "1",
                "default_price_data[unit_amount_decimal]": "1",
            },
            "default_price_data[unit_amount_decimal]",
            "parameters_exclusive",
        ),
        (
            {
                "name": "W",
                "default_price_data[currency]": "usd",
                "default_price_data[unit_amount]": "1",
                "default_price_data[recurring][interval]": "month",
                "default_price_data[recurring][interval_count]": "37",
            },
            "default_price_data[recurring][interval_count]",
            None,
        ),
        (
            {
                "name": "W",
                "default_price_data[currency]": "usd",
                "default_price_data[unit_amount]": "1",
                "default_price_data[currency_options][usd][unit_amount]": "1",
            },
            "default_price_data[currency_options][usd]",
            None,
        ),
    ],
)
def test_bad_create_params_are_refused_and_write_nothing(api, store, data, param, code):
    with unchanged(store):
        refused(api.post("/v1/products", data=data), param, code or "parameter_invalid")


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ({"shippable": "yes"}, "shippable"),
        ({"type": "gadget"}, "type"),
        ({f"ids[{n}]": f"p{n}" for n in range(101)}, "ids"),
        ({"created[gte]": "soon"}, "created[gte]"),
        ({"ending_before": "nope", "starting_after": "nope"}, "ending_before"),
    ],
)
def test_bad_list_params_are_refused(api, query, param):
    response = api.get("/v1/products", params=query)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param
