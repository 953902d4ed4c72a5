"""Reading values out of events, and the value conversions EQL comparisons need.

An event is a JSON-like mapping. A field name such as ``process.parent.name`` is found
whether the event nests objects (``{"process": {"parent": {"name": ..}}}``), uses flat
dotted keys (``{"process.parent.name": ..}``) or mixes both, the way Elasticsearch
flattens ``_source`` into field paths. Arrays, including arrays of objects, make a field
multi-valued; ``null`` entries in arrays are dropped, as Elasticsearch does not index them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

# Marks "no value here"; never leaks out of this module's public helpers.
MISSING = object()

Getter = Callable[[Mapping], object]


def make_getter(name: str) -> Getter:
    """A function returning the field's raw value (scalar or list), or None when absent."""
    parts = tuple(name.split("."))
    if len(parts) == 1:
        def get_top(ev: Mapping) -> object:
            try:
                return ev.get(name)
            except AttributeError:
                return None
        return get_top
    # Every dotted spelling of parts[i:j], built once: _walk tries them at each level.
    keys = {(i, j): ".".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)}

    def slow(ev: Mapping) -> object:
        try:
            v = ev.get(name, MISSING)
        except AttributeError:
            return None
        if v is MISSING:
            v = _walk(ev, parts, 0, keys)
        return None if v is MISSING else v

    if len(parts) == 2:
        # The most common shape, {"process": {"name": ..}}, with no loop at all.
        head, tail = parts

        def get2(ev: Mapping) -> object:
            sub = ev.get(head) if ev.__class__ is dict else None
            if sub.__class__ is dict:
                v = sub.get(tail, MISSING)
                if v is not MISSING:
                    return v
            return slow(ev)
        return get2

    def get_path(ev: Mapping) -> object:
        cur: object = ev
        for p in parts:
            if cur.__class__ is not dict:
                break
            cur = cur.get(p, MISSING)  # type: ignore[attr-defined]
            if cur is MISSING:
                break
        else:
            return cur
        return slow(ev)
    return get_path


def _walk(obj: object, parts: tuple[str, ...], i: int, keys: dict) -> object:
    """Resolve parts[i:] inside obj, trying nested and dotted spellings; MISSING if absent."""
    if isinstance(obj, list):
        found = []
        for item in obj:
            v = _walk(item, parts, i, keys)
            if v is not MISSING:
                if isinstance(v, list):
                    found.extend(v)
                else:
                    found.append(v)
        return found if found else MISSING
    if not isinstance(obj, Mapping):
        return MISSING
    n = len(parts)
    # Longest key first: {"a.b": 1} answers "a.b" before {"a": {"b": ..}} is tried.
    for j in range(n, i, -1):
        key = keys[i, j]
        if key in obj:
            sub = obj[key]
            if j == n:
                return sub
            v = _walk(sub, parts, j, keys)
            if v is not MISSING:
                return v
    return MISSING


def values_of(raw: object) -> list:
    """The non-null values of a raw field value, arrays flattened in source order."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        return [raw]
    if not any(isinstance(x, list) for x in raw):
        return [x for x in raw if x is not None]
    out: list = []
    stack = [iter(raw)]
    while stack:
        for item in stack[-1]:
            if isinstance(item, list):
                stack.append(iter(item))
                break
            if item is not None:
                out.append(item)
        else:
            stack.pop()
    return out


# ---- strings and numbers ----------------------------------------------------------------

def num_str(x: int | float) -> str:
    """A number as Java's ``String.valueOf`` prints it (42, 42.5, 4.0, 1.0E20)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "Infinity" if x > 0 else "-Infinity"
    d = Decimal(repr(x))
    if x == 0 or 1e-3 <= abs(x) < 1e7:
        text = format(d, "f")
        return text if "." in text else text + ".0"
    sign, digits, exp = d.normalize().as_tuple()
    ds = "".join(map(str, digits))
    e10 = len(ds) - 1 + int(exp)
    return ("-" if sign else "") + ds[0] + "." + (ds[1:] or "0") + "E" + str(e10)


def to_str(v: object) -> str | None:
    """A value as a keyword string: numbers and booleans print as Elasticsearch indexes them."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return num_str(v)
    return None


_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)\Z")


def parse_number(s: str) -> int | float | None:
    t = s.strip()
    if not _NUMBER.match(t):
        return None
    try:
        return int(t)
    except ValueError:
        f = float(t)
        return None if f in (float("inf"), float("-inf")) else f


def to_num(v: object) -> int | float | None:
    """A value as a number; numeric strings convert (Elasticsearch coerces them at index time)."""
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return v
    if isinstance(v, str):
        return parse_number(v)
    return None


# ---- timestamps -------------------------------------------------------------------------

_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2})(?::?(\d{2})(?::?(\d{2})(?:[.,](\d{1,9}))?)?)?)?"
    r"(Z|[+-]\d{2}(?::?\d{2})?)?\Z"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@lru_cache(maxsize=65536)
def _parse_ts_str(s: str) -> int | None:
    s = s.strip()
    m = _ISO.match(s)
    if m:
        y, mo, d, hh, mm, ss, frac, zone = m.groups()
        try:
            dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0),
                          tzinfo=UTC)
        except ValueError:
            return None
        if zone and zone != "Z":
            sign = 1 if zone[0] == "+" else -1
            digits = zone[1:].replace(":", "")
            off = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            dt -= sign * off
        delta = dt - _EPOCH
        nanos = (delta.days * 86400 + delta.seconds) * 10**9
        if frac:
            nanos += int(frac.ljust(9, "0"))
        return nanos
    # The default date format is strict_date_optional_time||epoch_millis.
    try:
        ms = Decimal(s)
    except InvalidOperation:
        return None
    if not ms.is_finite():
        return None
    return int(ms * 1_000_000)


def parse_timestamp(raw: object) -> int | None:
    """Nanoseconds since the epoch from an ISO-8601 string or epoch milliseconds; else None."""
    if isinstance(raw, list):
        raw = next((x for x in values_of(raw)), None)
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw * 1_000_000
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            return None
        return int(Decimal(repr(raw)) * 1_000_000)
    if isinstance(raw, str):
        return _parse_ts_str(raw)
    return None


# ---- ordering ---------------------------------------------------------------------------

def sort_key(v: object) -> tuple:
    """A total order over JSON scalars (and tuples of them) for sorting keys and tiebreakers."""
    if v is None:
        return (0,)
    if isinstance(v, bool):
        return (1, v)
    if isinstance(v, (int, float)):
        return (2, v)
    if isinstance(v, str):
        return (3, v)
    if isinstance(v, tuple):
        return (4, tuple(sort_key(x) for x in v))
    return (5, repr(v))


def key_value(v: object) -> object:
    """A join-key value in a hashable, canonical form (2.0 and 2 are the same key)."""
    if isinstance(v, float) and v.is_integer():
        return int(v)
    if isinstance(v, list):
        vals = values_of(v)
        if not vals:
            return None
        return tuple(key_value(x) for x in vals) if len(vals) > 1 else key_value(vals[0])
    if isinstance(v, (dict, Mapping)):
        return None
    return v
