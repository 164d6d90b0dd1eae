"""The matrix pricing plugin: loaded only when allowed, configured from a form-encoded
``pricing_config``, rated by the same engine as the built-ins (transform, exact sum, one
rounding)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pluggy
import pytest

from remit.api.forms import decode_form, encode_form
from remit.catalog.domain.models import BUILTIN_MODELS
from remit.catalog.domain.rating import RatingError, check_terms, rate
from remit.catalog.domain.terms import PriceTerms, Tier, TransformQuantity
from remit.catalog.models import PricingModelConflict, pricing_models
from remit.contrib import matrix_pricing
from remit.contrib.matrix_pricing import MatrixModel
from remit.plugins.hookspecs import RemitSpec, hookimpl
from remit.plugins.manager import make_manager
from remit.primitives.errors import InvalidRequestError
from remit.primitives.money import RoundingMode

MATRIX = MatrixModel()
MODELS = {model.name: model for model in (*BUILTIN_MODELS, MATRIX)}
HALF_UP = RoundingMode.HALF_UP
D = Decimal

# GPU hours priced by region and instance type, in cents.
CONFIG = {
    "dimensions": ["region", "instance"],
    "cells": [
        {"match": {"region": "eu", "instance": "gpu"}, "unit_amount_decimal": "250"},
        {
            "match": {"region": "us", "instance": "gpu"},
            "unit_amount_decimal": "199.5",
            "flat_amount_decimal": "1000",
        },
        {"match": {"region": "eu", "instance": "cpu"}, "unit_amount_decimal": "0.000000000001"},
    ],
    "default_unit_amount_decimal": "300",
}


def from_form(config: dict[str, Any]) -> Any:
    """``config`` as the API hands it over: form-encoded, then decoded (strings, lists)."""
    return decode_form(encode_form({"pricing_config": config}).encode())["pricing_config"]


def matrix_terms(config: dict[str, Any] = CONFIG, **extra: Any) -> PriceTerms:
    parsed = MATRIX.parse_config(from_form(config), "pricing_config")
    return PriceTerms("usd", "matrix", config=parsed, **extra)


# -- loading ---------------------------------------------------------------------------------


def test_matrix_model_loads_only_through_the_allow_list() -> None:
    allowed = pricing_models(make_manager(frozenset({"matrix_pricing"})))
    assert sorted(allowed) == ["matrix", "per_unit", "tiered"]
    assert isinstance(allowed["matrix"], MatrixModel)
    # The built-ins come through the same hook, from the catalog's own plugin.
    assert sorted(pricing_models(make_manager())) == ["per_unit", "tiered"]
    assert "matrix" not in pricing_models(None)


def test_pricing_models_are_cached_per_manager() -> None:
    pm = make_manager(frozenset({"matrix_pricing"}))
    assert pricing_models(pm) is pricing_models(pm)
    assert pricing_models(pm) is not pricing_models(make_manager(frozenset({"matrix_pricing"})))


def test_without_a_manager_only_the_builtins_exist() -> None:
    assert sorted(pricing_models(None)) == ["per_unit", "tiered"]


def test_two_models_with_one_name_are_an_error_at_load() -> None:
    class Twin:
        @hookimpl
        def remit_pricing_models(self) -> list[Any]:
            return [MatrixModel()]

    pm = pluggy.PluginManager("remit")
    pm.add_hookspecs(RemitSpec)
    pm.register(matrix_pricing, name="matrix_pricing")
    pm.register(Twin(), name="twin")
    with pytest.raises(PricingModelConflict, match="two pricing models are named 'matrix'"):
        pricing_models(pm)


def test_a_hook_returning_something_else_is_an_error_at_load() -> None:
    class Broken:
        @hookimpl
        def remit_pricing_models(self) -> list[Any]:
            return ["matrix"]

    pm = pluggy.PluginManager("remit")
    pm.add_hookspecs(RemitSpec)
    pm.register(Broken(), name="broken")
    with pytest.raises(PricingModelConflict, match="not a PricingModel"):
        pricing_models(pm)


# -- configuration ---------------------------------------------------------------------------


def test_form_config_parses_to_canonical_json() -> None:
    parsed = MATRIX.parse_config(from_form(CONFIG), "pricing_config")
    assert json.loads(json.dumps(parsed)) == parsed
    assert parsed == {
        "dimensions": ["region", "instance"],
        "cells": [
            {
                "match": {"region": "eu", "instance": "gpu"},
                "unit_amount_decimal": "250",
                "flat_amount_decimal": None,
            },
            {
                "match": {"region": "us", "instance": "gpu"},
                "unit_amount_decimal": "199.5",
                "flat_amount_decimal": "1000",
            },
            {
                "match": {"region": "eu", "instance": "cpu"},
                "unit_amount_decimal": "0.000000000001",
                "flat_amount_decimal": None,
            },
        ],
        "default_unit_amount_decimal": "300",
    }
    # A stored config reads back to itself, so check() can re-validate what was saved.
    assert MATRIX.parse_config(parsed, "pricing_config") == parsed


def test_json_config_with_decimal_numbers_parses_like_the_form() -> None:
    as_json = json.loads(json.dumps(CONFIG), parse_float=Decimal)
    as_json["cells"][1]["unit_amount_decimal"] = Decimal("199.50")
    assert MATRIX.parse_config(as_json, "pricing_config") == MATRIX.parse_config(
        from_form(CONFIG), "pricing_config"
    )


def cell(**match: str) -> dict[str, Any]:
    return {"match": match, "unit_amount_decimal": "1"}


@pytest.mark.parametrize(
    ("config", "param"),
    [
        ({"cells": [cell(a="x")]}, "pricing_config[dimensions]"),
        (
            {"dimensions": ["a", "b", "c", "d", "e"], "cells": [cell(a="x")]},
            "pricing_config[dimensions]",
        ),
        ({"dimensions": ["a", "a"], "cells": [cell(a="x")]}, "pricing_config[dimensions][1]"),
        ({"dimensions": ["a"]}, "pricing_config[cells]"),
        ({"dimensions": ["a"], "cells": [cell(b="x")]}, "pricing_config[cells][0][match]"),
        ({"dimensions": ["a"], "cells": [cell(a="x", b="y")]}, "pricing_config[cells][0][match]"),
        ({"dimensions": ["a"], "cells": [cell(a="")]}, "pricing_config[cells][0][match][a]"),
        (
            {"dimensions": ["a"], "cells": [{"match": {"a": "x"}}]},
            "pricing_config[cells][0][unit_amount_decimal]",
        ),
        (
            {"dimensions": ["a"], "cells": [{"match": {"a": "x"}, "unit_amount_decimal": "-1"}]},
            "pricing_config[cells][0][unit_amount_decimal]",
        ),
        (
            {
                "dimensions": ["a"],
                "cells": [{"match": {"a": "x"}, "unit_amount_decimal": "0.0000000000001"}],
            },
            "pricing_config[cells][0][unit_amount_decimal]",
        ),
        (
            {
                "dimensions": ["a"],
                "cells": [
                    {"match": {"a": "x"}, "unit_amount_decimal": "1", "flat_amount_decimal": "x"}
                ],
            },
            "pricing_config[cells][0][flat_amount_decimal]",
        ),
        (
            {"dimensions": ["a"], "cells": [cell(a="x"), cell(a="x")]},
            "pricing_config[cells][1][match]",
        ),
        (
            {"dimensions": ["a"], "cells": [{**cell(a="x"), "colour": "red"}]},
            "pricing_config[cells][0][colour]",
        ),
        ({"dimensions": ["a"], "cells": [cell(a="x")], "tiers": "1"}, "pricing_config[tiers]"),
        (
            {"dimensions": ["a"], "cells": [cell(a="x")], "default_unit_amount_decimal": "1.5.1"},
            "pricing_config[default_unit_amount_decimal]",
        ),
    ],
)
def test_bad_config_is_refused_with_the_bracket_path(config: dict[str, Any], param: str) -> None:
    with pytest.raises(InvalidRequestError) as raised:
        MATRIX.parse_config(from_form(config), "pricing_config")
    assert raised.value.param == param
    assert raised.value.http_status == 400


def test_a_float_amount_is_refused() -> None:
    config = {"dimensions": ["a"], "cells": [{"match": {"a": "x"}, "unit_amount_decimal": 1.5}]}
    with pytest.raises(InvalidRequestError) as raised:
        MATRIX.parse_config(config, "pricing_config")
    assert raised.value.param == "pricing_config[cells][0][unit_amount_decimal]"


def test_too_many_cells_are_refused() -> None:
    config = {
        "dimensions": ["a"],
        "cells": [cell(a=str(n)) for n in range(matrix_pricing.MAX_CELLS + 1)],
    }
    with pytest.raises(InvalidRequestError, match="a list of 1 to 500 cells"):
        MATRIX.parse_config(config, "pricing_config")


def test_check_refuses_amounts_outside_the_cells() -> None:
    terms = matrix_terms(unit_amount=D(5), tiers_mode="volume", tiers=(Tier(None, D(1), None),))
    assert [f.param for f in check_terms(terms, MODELS)] == ["unit_amount", "tiers_mode", "tiers"]
    broken = PriceTerms("usd", "matrix", config={"dimensions": []})
    assert [f.param for f in check_terms(broken, MODELS)] == [
        "pricing_config[dimensions]",
        "pricing_config[cells]",
    ]


# -- rating ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dimensions", "quantity", "expected", "label"),
    [
        ({"region": "eu", "instance": "gpu"}, "10", 2500, "region=eu, instance=gpu"),
        ({"region": "us", "instance": "gpu"}, "3", 1599, "region=us, instance=gpu"),  # 1598.5
        ({"region": "us", "instance": "gpu"}, "0", 1000, "region=us, instance=gpu"),
        ({"region": "eu", "instance": "cpu"}, "1000000000000", 1, "region=eu, instance=cpu"),
        ({"region": "ap", "instance": "gpu"}, "2", 600, "default (region=ap, instance=gpu)"),
        ({"region": "eu"}, "1", 300, "default (region=eu, instance missing)"),
    ],
)
def test_rating_picks_the_cell_of_the_usage_dimensions(
    dimensions: dict[str, str], quantity: str, expected: int, label: str
) -> None:
    rating = rate(matrix_terms(), D(quantity), HALF_UP, MODELS, {**dimensions, "extra": "x"})
    assert rating.amount_minor == expected
    assert [component.label for component in rating.components] == [label]
    assert rating.explain()["model"] == "matrix"


def test_unmatched_combination_without_default_is_a_clear_error() -> None:
    config = {key: value for key, value in CONFIG.items() if key != "default_unit_amount_decimal"}
    with pytest.raises(RatingError, match="No matrix cell matches region=ap, instance=gpu") as e:
        rate(matrix_terms(config), D(1), HALF_UP, MODELS, {"region": "ap", "instance": "gpu"})
    assert e.value.param == "dimensions"


def test_matrix_goes_through_transform_and_rounds_once() -> None:
    terms = matrix_terms(transform_quantity=TransformQuantity(60, "up"))
    rating = rate(terms, D(61), RoundingMode.DOWN, MODELS, {"region": "us", "instance": "gpu"})
    assert rating.rated_quantity == 2
    assert rating.exact_amount == D("1399")  # 2 x 199.5 + 1000
    rating = rate(
        matrix_terms(), D(1), RoundingMode.DOWN, MODELS, {"region": "us", "instance": "gpu"}
    )
    assert (rating.exact_amount, rating.amount_minor) == (D("1199.5"), 1199)


def test_rating_with_models_from_the_allowed_manager() -> None:
    models = pricing_models(make_manager(frozenset({"matrix_pricing"})))
    rating = rate(matrix_terms(), D(4), HALF_UP, models, {"region": "eu", "instance": "gpu"})
    assert rating.amount_minor == 1000
