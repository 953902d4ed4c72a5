"""The content hash of a rule: what Kibana would receive, minus the version.

Canonical form (the hash is ``sha256:`` + the hex digest of its UTF-8 bytes):

* the Kibana form of the ``rule`` table (``normalise_rule``), without ``version`` (that is what
  the hash is compared against) and ``revision`` (Kibana's own edit counter, dropped on import);
* top-level fields whose value is null are left out, so "absent" and "null" hash alike (the
  reverse deltas in the history use null for "did not exist");
* JSON with sorted keys, no whitespace and non-ASCII characters kept as they are;
* numbers as JavaScript reads them: a float with an integral value is written as an integer
  (``75.0`` and ``75`` are the same number to Kibana), other floats in their shortest
  round-trip form; NaN and infinities are refused (JSON cannot carry them);
* strings exactly as written, with no Unicode normalisation: Elasticsearch compares keyword
  values code point by code point, so an NFC/NFD change in a query is a real change;
* dates and times (TOML can produce them) as ISO 8601 text.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

from detection.model import normalise_rule

HASH_PREFIX = "sha256:"
# Fields that never count as content: the version itself and Kibana's server-side counter.
EXCLUDED_FIELDS = frozenset({"version", "revision"})


def canonical_payload(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The rule's Kibana payload as plain, canonical data (no version, no nulls at the top)."""
    flat = normalise_rule(rule)
    return {key: _canonical(value) for key, value in flat.items()
            if key not in EXCLUDED_FIELDS and value is not None}


def canonical_json(rule: Mapping[str, Any]) -> str:
    return json.dumps(canonical_payload(rule), sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False)


def content_hash(rule: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the canonical payload; equal for rules Kibana would see as identical."""
    return HASH_PREFIX + hashlib.sha256(canonical_json(rule).encode("utf-8")).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)  # plain int even for int subclasses (ruamel/tomlkit wrappers)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} cannot be part of a Kibana rule (JSON has no NaN or infinity)")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    return str(value)
