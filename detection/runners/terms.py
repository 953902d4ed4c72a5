"""Field values as Elasticsearch's terms aggregations bucket them.

A keyword field buckets its indexed strings (``443`` and ``"443"`` are the same term), numeric
fields their numbers, IP fields the canonical address, booleans true/false. Arrays give one
term per distinct value, and several fields give every combination of their values (a
composite aggregation's buckets). An event missing a field is in no bucket of it.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Mapping, Sequence
from typing import Any

from detection.fields.schema import NUMERIC_TYPES
from detection.kql.docs import values_at
from detection.kql.matchers import INTEGER_TYPES, bool_of, keyword_of, number_of


def type_lookup(fields: Any):
    type_of = getattr(fields, "type_of", None)
    if callable(type_of):
        return type_of
    if isinstance(fields, Mapping):
        return fields.get
    return lambda name: None


def term_of(value: Any, ftype: str | None) -> Any:
    """The bucket key of one document value (None when the value indexes nothing)."""
    if ftype in NUMERIC_TYPES:
        return number_of(value, ftype in INTEGER_TYPES)
    if ftype == "ip":
        try:
            return str(ipaddress.ip_address(str(value).strip()))
        except ValueError:
            return None
    if ftype == "boolean":
        return bool_of(value)
    if ftype in (None, "keyword", "constant_keyword", "wildcard", "text", "match_only_text", "flattened"):
        return keyword_of(value)
    return value if isinstance(value, (str, int, float, bool)) else None


def field_terms(event: Mapping[str, Any], name: str, ftype: str | None) -> list[Any]:
    """Distinct terms of one field in one event, in document order."""
    out: list[Any] = []
    for value in values_at(event, tuple(name.split("."))):
        term = term_of(value, ftype)
        if term is not None and term not in out:
            out.append(term)
    return out


def combinations(event: Mapping[str, Any], names: Sequence[str], type_of) -> list[tuple[Any, ...]]:
    """Every combination of the fields' terms; none when a field is missing."""
    per_field = [field_terms(event, n, type_of(n)) for n in names]
    if any(not terms for terms in per_field):
        return []
    return list(itertools.product(*per_field))


def describe(names: Sequence[str], combo: Sequence[Any]) -> str:
    if not names:
        return "(all matching events)"
    return ", ".join(f"{n}={_show(v)}" for n, v in zip(names, combo, strict=True))


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sort_key(combo: Sequence[Any]) -> tuple:
    """Buckets in key order, whatever the types of their terms."""
    return tuple((0, v) if isinstance(v, (int, float)) and not isinstance(v, bool) else (1, str(v)) for v in combo)
