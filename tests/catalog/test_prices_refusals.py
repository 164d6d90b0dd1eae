"""/v1/prices create refusals: every bad param, at its bracket path, and nothing written."""

from __future__ import annotations

import pytest
from catalog_support import GRADUATED, MONTHLY, new_product, refused, unchanged


def _tiered(**extra: str) -> dict[str, str]:
    return {**GRADUATED, **extra}


BAD_CREATES = [
    ({"unit_amount": "1"}, "currency", "parameter_missing"),
    (
        {"currency": "usd", "unit_amount": "1", "product": "prod_nope"},
        "product",
        "resource_missing",
    ),
    ({"currency": "usd", "unit_amount": "1"}, "product", "parameter_missing"),
    ({"currency": "zzz", "unit_amount": "1"}, "currency", None),
    ({"currency": "usd", "unit_amount": "-1"}, "unit_amount", "parameter_invalid_integer"),
    ({"currency": "usd", "unit_amount": "1.5"}, "unit_amount", "parameter_invalid_integer"),
    ({"currency": "usd", "unit_amount_decimal": "0.0000000000001"}, "unit_amount_decimal", None),
    ({"currency": "usd", "unit_amount_decimal": "-0.5"}, "unit_amount_decimal", None),
    ({"currency": "usd", "unit_amount_decimal": "1e400"}, "unit_amount_decimal", None),
    ({"currency": "usd", "unit_amount_decimal": "NaN"}, "unit_amount_decimal", None),
    ({"currency": "usd", "unit_amount_decimal": "1,5"}, "unit_amount_decimal", None),
    (
        {"currency": "usd", "unit_amount": "1", "unit_amount_decimal": "1"},
        "unit_amount_decimal",
        "parameters_exclusive",
    ),
    ({"currency": "usd"}, "unit_amount", "parameter_missing"),
    ({"currency": "usd", "unit_amount": "1", "billing_scheme": "matrix"}, "billing_scheme", None),
    ({"currency": "usd", "unit_amount": "1", "pricing_config[x]": "1"}, "pricing_config", None),
    ({"currency": "usd", "unit_amount": "1", "tiers_mode": "volume"}, "tiers_mode", None),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "tiers[0][up_to]": "inf",
            "tiers[0][unit_amount]": "1",
        },
        "tiers",
        None,
    ),
    ({"currency": "usd", **_tiered(unit_amount="5")}, "unit_amount", None),
    (
        {"currency": "usd", **{k: v for k, v in GRADUATED.items() if k != "tiers_mode"}},
        "tiers_mode",
        "parameter_missing",
    ),
    (
        {"currency": "usd", "billing_scheme": "tiered", "tiers_mode": "volume"},
        "tiers",
        "parameter_missing",
    ),
    ({"currency": "usd", **_tiered(**{"tiers[2][up_to]": "20"})}, "tiers[2][up_to]", None),
    ({"currency": "usd", **_tiered(**{"tiers[1][up_to]": "5"})}, "tiers[1][up_to]", None),
    (
        {"currency": "usd", **_tiered(**{"tiers[0][up_to]": "many"})},
        "tiers[0][up_to]",
        "parameter_invalid_integer",
    ),
    (
        {"currency": "usd", **_tiered(**{"tiers[0][unit_amount_decimal]": "1"})},
        "tiers[0][unit_amount_decimal]",
        "parameters_exclusive",
    ),
    (
        {
            "currency": "usd",
            "billing_scheme": "tiered",
            "tiers_mode": "graduated",
            "tiers[0][up_to]": "inf",
        },
        "tiers[0]",
        None,
    ),
    (
        {
            "currency": "usd",
            "tiers_mode": "stairs",
            **{k: v for k, v in GRADUATED.items() if k != "tiers_mode"},
        },
        "tiers_mode",
        None,
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "transform_quantity[divide_by]": "0",
            "transform_quantity[round]": "up",
        },
        "transform_quantity[divide_by]",
        "parameter_invalid_integer",
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "transform_quantity[divide_by]": "2",
            "transform_quantity[round]": "half",
        },
        "transform_quantity[round]",
        None,
    ),
    (
        {"currency": "usd", "unit_amount": "1", "transform_quantity[divide_by]": "2"},
        "transform_quantity[round]",
        "parameter_missing",
    ),
    (
        {"currency": "usd", "unit_amount": "1", "recurring[interval_count]": "2"},
        "recurring[interval]",
        "parameter_missing",
    ),
    (
        {"currency": "usd", "unit_amount": "1", "recurring[interval]": "fortnight"},
        "recurring[interval]",
        None,
    ),
    (
        {"currency": "usd", "unit_amount": "1", **MONTHLY, "recurring[interval_count]": "0"},
        "recurring[interval_count]",
        "parameter_invalid_integer",
    ),
    (
        {"currency": "usd", "unit_amount": "1", **MONTHLY, "recurring[usage_type]": "metered"},
        "recurring[meter]",
        "parameter_missing",
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            **MONTHLY,
            "recurring[usage_type]": "metered",
            "recurring[meter]": "mtr_nope",
        },
        "recurring[meter]",
        "resource_missing",
    ),
    (
        {"currency": "usd", "unit_amount": "1", **MONTHLY, "recurring[meter]": "mtr_nope"},
        "recurring[meter]",
        None,
    ),
    ({"currency": "usd", "unit_amount": "1", "tax_behavior": "sometimes"}, "tax_behavior", None),
    ({"currency": "usd", "unit_amount": "1", "lookup_key": "x" * 201}, "lookup_key", None),
    (
        {"currency": "usd", "unit_amount": "1", "currency_options[usd][unit_amount]": "1"},
        "currency_options[usd]",
        None,
    ),
    (
        {"currency": "usd", "unit_amount": "1", "currency_options[zzz][unit_amount]": "1"},
        "currency_options[zzz]",
        None,
    ),
    (
        {"currency": "usd", "unit_amount": "1", "currency_options[eur][tax_behavior]": "inclusive"},
        "currency_options[eur][unit_amount]",
        "parameter_missing",
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "currency_options[eur][unit_amount]": "1",
            "currency_options[EUR][unit_amount]": "2",
        },
        "currency_options[EUR]",
        None,
    ),
    (
        {"currency": "usd", **GRADUATED, "currency_options[eur][unit_amount]": "1"},
        "currency_options[eur][unit_amount]",
        None,
    ),
    (
        {
            "currency": "usd",
            **GRADUATED,
            "currency_options[eur][tiers][0][up_to]": "3",
            "currency_options[eur][tiers][0][unit_amount]": "1",
        },
        "currency_options[eur][tiers][0][up_to]",
        None,
    ),
    (
        {"currency": "usd", "custom_unit_amount[enabled]": "false"},
        "custom_unit_amount[enabled]",
        None,
    ),
    (
        {"currency": "usd", "custom_unit_amount[enabled]": "true", "unit_amount": "5"},
        "custom_unit_amount",
        "parameters_exclusive",
    ),
    (
        {"currency": "usd", "custom_unit_amount[enabled]": "true", **MONTHLY},
        "custom_unit_amount",
        None,
    ),
    (
        {
            "currency": "usd",
            "custom_unit_amount[enabled]": "true",
            "custom_unit_amount[minimum]": "9",
            "custom_unit_amount[maximum]": "1",
        },
        "custom_unit_amount[minimum]",
        None,
    ),
    (
        {
            "currency": "usd",
            "custom_unit_amount[enabled]": "true",
            "custom_unit_amount[maximum]": "10",
            "custom_unit_amount[preset]": "11",
        },
        "custom_unit_amount[preset]",
        None,
    ),
    (
        {"currency": "usd", "custom_unit_amount[maximum]": "10"},
        "custom_unit_amount[enabled]",
        "parameter_missing",
    ),
    ({"currency": "usd", "unit_amount": "1", "type": "one_time"}, "type", "parameter_unknown"),
    (
        {"currency": "usd", "unit_amount": "1", "product_data[id]": "x"},
        "product_data[name]",
        "parameter_missing",
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "product_data[name]": "P",
            "product_data[id]": "bad id",
        },
        "product_data[id]",
        None,
    ),
    (
        {
            "currency": "usd",
            "unit_amount": "1",
            "product_data[name]": "P",
            "product_data[statement_descriptor]": "1234",
        },
        "product_data[statement_descriptor]",
        None,
    ),
]


@pytest.mark.parametrize(("data", "param", "code"), BAD_CREATES)
def test_bad_create_params_are_refused_and_write_nothing(api, store, data, param, code):
    product = new_product(api)
    names_product = "product" in data or any(k.startswith("product_data") for k in data)
    if not names_product and param != "product":
        data = {**data, "product": product["id"]}
    status = 404 if code == "resource_missing" else 400
    with unchanged(store):
        refused(api.post("/v1/prices", data=data), param, code or "parameter_invalid", status)


def test_product_and_product_data_are_exclusive(api, store):
    product = new_product(api)
    with unchanged(store):
        refused(
            api.post(
                "/v1/prices",
                data={
                    "currency": "usd",
                    "unit_amount": "1",
                    "product": product["id"],
                    "product_data[name]": "P",
                },
            ),
            "product_data",
            "parameters_exclusive",
        )


def test_product_data_id_must_be_free(api, store):
    new_product(api, id="taken")
    with unchanged(store):
        refused(
            api.post(
                "/v1/prices",
                data={
                    "currency": "usd",
                    "unit_amount": "1",
                    "product_data[name]": "P",
                    "product_data[id]": "taken",
                },
            ),
            "product_data[id]",
            "resource_already_exists",
        )
