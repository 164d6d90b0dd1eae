"""Reconciliation rules: YAML in, frozen model.TransactionRules / model.StateRules out.

Rules are written by people and agents and then trusted by every run, so parsing is
strict: unknown keys (a typo such as ``amout``), duplicate keys, settings that would be
ignored (``many`` on a reference pass) and impossible combinations are refused. Every
problem is collected and reported in one ``invalid_reconciliation_rules`` error, with
the YAML path of each (``passes[2].match``), so one round trip fixes a whole file.

The digest identifies what the rules *mean*: sha256 of the canonical JSON of the
parsed rules, so comments, whitespace, key order, spelled-out defaults and the order
of an allow-list do not change it, and any change of behaviour does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any, cast, get_args

from remit.fde.reconcile import model
from remit.fde.reconcile.rules_reader import (
    Problems,
    Reader,
    date_format,
    field_path,
    load_mapping,
)
from remit.fde.reconcile.transforms import THOUSANDS_SEPARATORS

__all__ = [
    "MAX_FIELDS",
    "MAX_PASSES",
    "MAX_RULES_BYTES",
    "canonical_rules",
    "parse_rules",
    "rules_digest",
]

ERROR_CODE = "invalid_reconciliation_rules"
# Rules are a page of YAML; bounding them bounds parsing time and what a run echoes.
MAX_RULES_BYTES = 256 * 1024
MAX_PASSES = 32
MAX_FIELDS = 128

_TOP_TRANSACTION = ("name", "version", "mode", "left", "right", "passes", "breaks")
_TOP_STATE = ("name", "version", "mode", "object", "key", "external", "fields")
_SIDE_KEYS = (
    "label",
    "columns",
    "amount_format",
    "thousands",
    "date_format",
    "timezone",
    "negate",
    "default_currency",
    "currencies",
    "table",
)
# YAML column key -> SideMapping field.
_COLUMNS = {
    "id": "record_id",
    "amount": "amount",
    "currency": "currency",
    "date": "date",
    "reference": "reference",
    "group_ref": "group_ref",
    "description": "description",
}
_PASS_KEYS = ("name", "match", "amount_tolerance", "date_window", "many", "min_similarity")
_FIELD_KEYS = (
    "platform",
    "external",
    "transform",
    "currency_column",
    "default_currency",
    "thousands",
    "date_format",
    "timezone",
    "values",
    "kind",
    "authority",
)
_PASS_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
# Passes that read a canonical column on both sides: without it they could match nothing.
_PASS_NEEDS = {"reference": "reference", "fuzzy": "description"}
# Passes whose candidates would otherwise be every pair of the same amount, at any date.
_PASS_NEEDS_WINDOW = ("amount_date", "tolerance")


def parse_rules(text: str) -> model.Rules:
    """Parse and validate rules; raise one InvalidRequestError listing every problem."""
    data = load_mapping(text, ERROR_CODE, MAX_RULES_BYTES)
    problems = Problems()
    mode = data.get("mode", "transaction")
    rules: model.Rules
    if mode == "state":
        rules = _state_rules(Reader(problems, "", data, _TOP_STATE))
    else:
        if mode != "transaction":
            problems.add("mode", "must be one of transaction, state")
        rules = _transaction_rules(Reader(problems, "", data, _TOP_TRANSACTION))
    problems.raise_if_any(ERROR_CODE)
    return dataclasses.replace(rules, digest=rules_digest(rules))


def canonical_rules(rules: model.Rules) -> dict[str, Any]:
    """Every setting of the parsed rules (defaults spelled out, digest left out) as plain
    JSON values: what the digest is computed over and what a run records."""
    plain = _plain(rules)
    assert isinstance(plain, dict)
    return plain


def rules_digest(rules: model.Rules) -> str:
    """sha256 hex of the canonical rules as sorted, compact JSON."""
    body = json.dumps(canonical_rules(rules), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "digest"
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _header(r: Reader) -> tuple[str, int]:
    """The rules' name and version, shared by both modes."""
    name = r.text("name", required=True, max_chars=200) or ""
    version = r.integer("version", required=True, minimum=1, maximum=2**31 - 1) or 0
    return name, version


def _transaction_rules(r: Reader) -> model.TransactionRules:
    name, version = _header(r)
    left = _side(r, "left")
    right = _side(r, "right")
    passes = _passes(r, left, right)
    timing_window_s = 30 * 86_400
    breaks = r.mapping("breaks", ("timing_window",))
    if breaks is not None:
        window = breaks.duration("timing_window")
        timing_window_s = timing_window_s if window is None else window
    return model.TransactionRules(
        name=name,
        version=version,
        digest="",
        left=left,
        right=right,
        passes=passes,
        timing_window_s=timing_window_s,
    )


def _side(r: Reader, side: str) -> model.SideMapping:
    s = r.mapping(side, _SIDE_KEYS, required=True) or r.empty(side)
    columns = s.mapping("columns", tuple(_COLUMNS), required=True) or s.empty("columns")
    mapped: dict[str, Any] = {
        field: columns.text(key, required=key in ("amount", "date"), max_chars=256)
        for key, field in _COLUMNS.items()
    }
    default_currency = s.currency("default_currency")
    if (mapped["currency"] is None) == (default_currency is None):
        s.problem(
            "default_currency",
            "give exactly one of columns.currency and default_currency",
        )
    allowed = s.currency_list("currencies")
    if default_currency and allowed and default_currency not in allowed:
        s.problem("default_currency", f"{default_currency} is not in currencies")
    fmt = s.choice("amount_format", get_args(model.AmountFormat), "minor")
    return model.SideMapping(
        label=s.text("label", max_chars=100) or side,
        amount=mapped["amount"] or "",
        date=mapped["date"] or "",
        record_id=mapped["record_id"],
        currency=mapped["currency"],
        reference=mapped["reference"],
        group_ref=mapped["group_ref"],
        description=mapped["description"],
        default_currency=default_currency,
        amount_format=cast(model.AmountFormat, fmt),
        thousands=_thousands(s, fmt == "decimal"),
        negate=s.boolean("negate", False),
        date_format=date_format(s, "date_format", "timezone"),
        currencies=allowed,
        table=s.text("table", max_chars=256),
    )


def _passes(r: Reader, left: model.SideMapping, right: model.SideMapping) -> tuple[model.Pass, ...]:
    items = r.items("passes", _PASS_KEYS, required=True, maximum=MAX_PASSES)
    passes: list[model.Pass] = []
    first_seen: dict[str, str] = {}
    for p in items:
        parsed = _one_pass(p, left, right)
        if parsed.name in first_seen:
            p.problem("name", f"duplicate pass name (also {first_seen[parsed.name]})")
        first_seen.setdefault(parsed.name, p.path)
        passes.append(parsed)
    return tuple(passes)


def _one_pass(p: Reader, left: model.SideMapping, right: model.SideMapping) -> model.Pass:
    """One pass, with the settings its kind needs and none that it would ignore."""
    name = p.text("name", required=True, max_chars=64) or ""
    if name and not _PASS_NAME.fullmatch(name):
        p.problem("name", "use letters, digits, '_', '-' and '.' only")
    kind = p.choice("match", get_args(model.PassKind), None, required=True)
    tolerance = model.AmountTolerance()
    t = p.mapping("amount_tolerance", ("minor", "basis_points"))
    if t is not None:
        tolerance = model.AmountTolerance(
            minor=t.integer("minor", minimum=0, maximum=10**15 - 1) or 0,
            basis_points=t.integer("basis_points", minimum=0, maximum=10_000) or 0,
        )
    window = p.duration("date_window")
    many = p.choice("many", ("left", "right"), None)
    similarity = p.integer("min_similarity", minimum=1, maximum=100)
    if kind is not None:
        _check_pass(p, kind, left, right, window=window, many=many, similarity=similarity)
    return model.Pass(
        name=name,
        kind=cast(model.PassKind, kind or "reference"),
        tolerance=tolerance,
        date_window_s=window,
        many=cast(model.Side | None, many),
        min_similarity_pct=similarity,
    )


def _check_pass(
    p: Reader,
    kind: str,
    left: model.SideMapping,
    right: model.SideMapping,
    *,
    window: int | None,
    many: str | None,
    similarity: int | None,
) -> None:
    """What a pass of ``kind`` needs and what it would ignore. A setting that was given
    but invalid is already reported, so ``p.has`` keeps it from being called missing."""
    if kind == "group" and many is None and not p.has("many"):
        p.problem("many", "required for a group pass: the side whose records are summed")
    if kind != "group" and p.has("many"):
        p.problem("many", "only a group pass sums one side")
    if kind == "fuzzy" and similarity is None and not p.has("min_similarity"):
        p.problem("min_similarity", "required for a fuzzy pass (1..100)")
    if kind != "fuzzy" and p.has("min_similarity"):
        p.problem("min_similarity", "only a fuzzy pass compares descriptions")
    if kind in _PASS_NEEDS_WINDOW and window is None and not p.has("date_window"):
        p.problem("date_window", f"required for a {kind} pass")
    if kind == "tolerance" and not p.has("amount_tolerance"):
        p.problem("amount_tolerance", "required for a tolerance pass")
    column = _PASS_NEEDS.get(kind)
    if column is not None:
        for side, mapping in (("left", left), ("right", right)):
            if getattr(mapping, column) is None:
                p.problem("match", f"a {kind} pass needs {side}.columns.{column}")
    if kind == "group" and many is not None and (left, right)[many == "right"].group_ref is None:
        p.problem("many", f"a group pass needs {many}.columns.group_ref")


def _state_rules(r: Reader) -> model.StateRules:
    name, version = _header(r)
    obj = r.choice("object", ("customer", "subscription", "invoice"), None, required=True)
    key = r.mapping("key", ("platform", "external"), required=True) or r.empty("key")
    platform_key = key.text("platform", required=True, max_chars=256) or ""
    if platform_key and not field_path(platform_key):
        key.problem("platform", "must be a platform field such as id or metadata.crm_id")
    external_key = key.text("external", required=True, max_chars=256) or ""
    ext_keys = ("label", "table", "synced_at", "synced_format", "timezone")
    ext = r.mapping("external", ext_keys) or r.empty("external")
    synced_at = ext.text("synced_at", max_chars=256)
    if synced_at is None:
        for setting in ("synced_format", "timezone"):
            if ext.has(setting):
                ext.problem(setting, "only meaningful with synced_at")
    return model.StateRules(
        name=name,
        version=version,
        digest="",
        object=cast(Any, obj or "customer"),
        platform_key=platform_key,
        external_key=external_key,
        fields=_fields(r),
        external_label=ext.text("label", max_chars=100) or "external",
        synced_at=synced_at,
        synced_format=date_format(ext, "synced_format", "timezone"),
        table=ext.text("table", max_chars=256),
    )


def _fields(r: Reader) -> tuple[model.FieldMapping, ...]:
    items = r.items("fields", _FIELD_KEYS, required=True, maximum=MAX_FIELDS)
    mappings: list[model.FieldMapping] = []
    first_seen: dict[str, str] = {}
    for f in items:
        mapping = _field(f)
        if mapping.platform in first_seen:
            f.problem("platform", f"compared twice (also {first_seen[mapping.platform]})")
        first_seen.setdefault(mapping.platform, f.path)
        mappings.append(mapping)
    return tuple(mappings)


def _field(f: Reader) -> model.FieldMapping:
    """One compared field, with the settings its transform needs and none it ignores."""
    platform = f.text("platform", required=True, max_chars=256) or ""
    if platform and not field_path(platform):
        f.problem("platform", "must be a platform field such as status or metadata.crm_id")
    transform = f.choice("transform", get_args(model.Transform), "none") or "none"
    currency_column = f.text("currency_column", max_chars=256)
    default_currency = f.currency("default_currency")
    if transform == "decimal" and (currency_column is None) == (default_currency is None):
        f.problem(
            "currency_column", "decimal needs exactly one of currency_column and default_currency"
        )
    if transform != "decimal":
        for setting in ("currency_column", "default_currency"):
            if f.has(setting):
                f.problem(setting, "only a decimal transform needs a currency")
    if transform != "timestamp":
        for setting in ("date_format", "timezone"):
            if f.has(setting):
                f.problem(setting, "only a timestamp transform reads dates")
    values = f.string_map("values")
    if transform == "map" and not values and not f.has("values"):
        f.problem("values", "required for a map transform")
    if transform != "map" and f.has("values"):
        f.problem("values", "only a map transform translates values")
    return model.FieldMapping(
        platform=platform,
        external=f.text("external", required=True, max_chars=256) or "",
        transform=cast(model.Transform, transform),
        currency_column=currency_column,
        default_currency=default_currency,
        thousands=_thousands(f, transform == "decimal") if f.has("thousands") else None,
        date_format=date_format(f, "date_format", "timezone"),
        values=values,
        kind=cast(Any, f.choice("kind", ("amount", "currency", "other"), "other")),
        authority=cast(Any, f.choice("authority", ("platform", "external"), "platform")),
    )


def _thousands(r: Reader, decimal: bool) -> str | None:
    """The grouping mark of decimal amounts, one of ``THOUSANDS_SEPARATORS``."""
    if not r.has("thousands"):
        return None
    if not decimal:
        r.problem("thousands", "only decimal amounts have a grouping mark")
        return None
    return r.choice("thousands", THOUSANDS_SEPARATORS, None)
