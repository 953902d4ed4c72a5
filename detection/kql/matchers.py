"""Per-field-type value tests: what ``field: value`` and ``field < value`` mean in Elasticsearch.

Each builder returns a test over one raw document value (already picked out of the event), or
None when the clause can never match. Values Elasticsearch would reject raise :class:`Invalid`;
the compiler turns that into a located KqlError.
"""

from __future__ import annotations

import ipaddress
import math
import operator
import re
import struct
from collections.abc import Callable
from datetime import datetime
from typing import Any

from detection.fields.schema import DATE_TYPES, NUMERIC_TYPES, FieldInfo
from detection.kql.analysis import analyze, contains_phrase
from detection.kql.ast import Literal, Value, Wildcard
from detection.kql.dates import MS, DateError, doc_date, parse_date_math

Test = Callable[[Any], bool]

# Types whose equality and patterns act on the whole value, case-sensitively.
WHOLE_VALUE_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "flattened"})
TEXT_TYPES = frozenset({"text", "match_only_text"})
INTEGER_TYPES = frozenset({"long", "integer", "short", "byte", "unsigned_long"})
# Narrow floating-point types: Elasticsearch stores and queries them at this precision (struct format).
_STORED_PRECISION = {"float": "f", "half_float": "e"}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_QS_SPACE = re.compile(r"[ \t\n\r\f\u00a0\u3000]+")
_STAR = "\x00"  # stands for an unescaped '*' while splitting a pattern on whitespace
_OPS = {"lt": operator.lt, "lte": operator.le, "gt": operator.gt, "gte": operator.ge}


class Invalid(ValueError):
    """A clause Elasticsearch would refuse for this field type."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message, self.hint = message, hint


# --------------------------------------------------------------------------- document values


def keyword_of(value: Any, info: FieldInfo | None = None) -> str | None:
    """The string a keyword field indexes for a JSON value (None if nothing is indexed)."""
    if value.__class__ is str:
        text = value
    elif value is True or value is False:
        text = "true" if value else "false"
    elif isinstance(value, (int, float)):
        text = str(value)
    else:
        return None
    if info is not None:
        if info.ignore_above is not None and len(text) > info.ignore_above:
            return None  # too long to index: matches nothing, not even exists
        if info.normalizer == "lowercase":
            text = text.lower()
    return text


def stored_float(ftype: str, info: FieldInfo | None = None) -> Callable[[float], float] | None:
    """Rounding to the precision a float, half_float or scaled_float field stores, so that ``f:0.1``
    matches the document value 0.1000000001 as Elasticsearch does (both become the same 32-bit float)."""
    factor = info.scaling_factor if info is not None else None
    if ftype == "scaled_float" and factor:
        # round(value * factor) as Java's Math.round (half up), back on the value's scale
        return lambda x: math.floor(x * factor + 0.5) / factor if math.isfinite(x) else x
    fmt = _STORED_PRECISION.get(ftype)
    if fmt is None:
        return None

    def narrow(x: float) -> float:
        try:
            return struct.unpack(fmt, struct.pack(fmt, x))[0]
        except OverflowError:  # beyond half_float's range
            return math.copysign(math.inf, x)

    return narrow


def number_of(value: Any, integer: bool) -> int | float | None:
    if value is True or value is False or value is None:
        return None
    if isinstance(value, str):
        if not _NUMBER.match(value.strip()):
            return None
        value = float(value) if any(c in value for c in ".eE") else int(value)
    if not isinstance(value, (int, float)):
        return None
    if integer and isinstance(value, float):
        return int(value)  # coerce truncates, as Elasticsearch does at index time
    return value


def ip_of(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return _ip_int(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _ip_int(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    # Elasticsearch stores IPv4 as IPv4-mapped IPv6, so both spellings compare equal.
    if isinstance(addr, ipaddress.IPv4Address):
        return 0xFFFF00000000 | int(addr)
    return int(addr)


def bool_of(value: Any) -> bool | None:
    if value is True or value is False:
        return value
    if value == "true":
        return True
    if value in ("false", ""):
        return False
    return None


# --------------------------------------------------------------------------- query values


def parse_number(text: str, ftype: str, field: str) -> int | float:
    stripped = text.strip()
    if not _NUMBER.match(stripped):
        raise Invalid(
            f'failed to create query: For input string: "{text}" (field [{field}] is of type [{ftype}])',
            "use a number, or check the field name",
        )
    return float(stripped) if any(c in stripped for c in ".eE") else int(stripped)


def parse_ip(text: str, field: str, cidr: bool) -> tuple[int, int]:
    try:
        if cidr and "/" in text:
            net = ipaddress.ip_network(text.strip(), strict=False)
            if isinstance(net, ipaddress.IPv4Network):
                return _ip_int(net.network_address), _ip_int(net.broadcast_address)
            return int(net.network_address), int(net.broadcast_address)
        n = _ip_int(ipaddress.ip_address(text.strip()))
        return n, n
    except ValueError:
        raise Invalid(
            f"'{text}' is not an IP string literal (field [{field}] is of type [ip])",
            'write an IPv4/IPv6 address or CIDR; quote IPv6 addresses ("::1")',
        ) from None


def parse_bool(value: Literal, field: str) -> bool:
    if value.value is True or value.value == "true":
        return True
    if value.value is False or value.value == "false":
        return False
    raise Invalid(f"Can't parse boolean value [{value.text}], expected [true] or [false] (field [{field}])")


def _date_bounds(text: str, now: datetime, field: str) -> tuple[int, int]:
    try:
        return parse_date_math(text, now, False), parse_date_math(text, now, True)
    except DateError as exc:
        raise Invalid(
            f"{exc} (field [{field}] is of type [date])",
            'use ISO 8601 (quote times: "2024-01-02T10:00:00"), epoch millis, or date math such as now-1d/d',
        ) from None


def _no_wildcards(value: Value, ftype: str, field: str) -> None:
    if isinstance(value, Wildcard):
        raise Invalid(
            f"Can only use wildcard queries on keyword and text fields - not on [{field}] which is of type [{ftype}]",
            "remove the '*', or escape it (\\*) if it is part of the value",
        )


def _null_check(value: Value) -> None:
    if isinstance(value, Literal) and value.value is None:
        raise Invalid("[term] query value cannot be null", 'to match the text "null", quote it')


def glob_regex(parts: tuple[str, ...], lower: bool = False) -> re.Pattern[str]:
    pieces = [re.escape(p.lower() if lower else p) for p in parts]
    return re.compile(".*".join(pieces) + r"\Z", re.DOTALL)


def query_string_terms(parts: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Split a pattern the way query_string does (on whitespace); each term keeps its '*' splits."""
    joined = _STAR.join(parts)
    return [tuple(term.split(_STAR)) for term in _QS_SPACE.split(joined) if term]


# --------------------------------------------------------------------------- builders


def is_test(ftype: str, info: FieldInfo | None, value: Value, field: str, now: datetime) -> Test | None:
    """``field: value`` for one field of type ``ftype``."""
    _null_check(value)
    if ftype in WHOLE_VALUE_TYPES:
        return _string_is(ftype, info, value)
    if ftype in TEXT_TYPES:
        return _text_is(value)
    if ftype in NUMERIC_TYPES:
        _no_wildcards(value, ftype, field)
        if isinstance(value.value, bool):
            raise Invalid(f"failed to create query: For input string: \"{value.text}\" (field [{field}] is of type [{ftype}])")
        target = parse_number(value.text, ftype, field)
        integer = ftype in INTEGER_TYPES
        narrow = stored_float(ftype, info)
        if narrow is not None:
            stored = narrow(target)
            return lambda v: (n := number_of(v, False)) is not None and narrow(n) == stored
        return lambda v: number_of(v, integer) == target
    if ftype in DATE_TYPES:
        _no_wildcards(value, ftype, field)
        lo, hi = _date_bounds(value.text, now, field)
        return _date_between(ftype, lo, hi)
    if ftype == "ip":
        _no_wildcards(value, ftype, field)
        lo, hi = parse_ip(value.text, field, cidr=True)
        return lambda v: (n := ip_of(v)) is not None and lo <= n <= hi
    if ftype == "boolean":
        _no_wildcards(value, ftype, field)
        target_bool = parse_bool(value, field)  # type: ignore[arg-type]
        return lambda v: bool_of(v) is target_bool
    if ftype in ("object", "nested", "group"):
        return None  # not a searchable value: matches nothing
    raise Invalid(f"field [{field}] of type [{ftype}] does not support this query", "use field:* to test that it exists")


def _string_is(ftype: str, info: FieldInfo | None, value: Value) -> Test | None:
    lower = info is not None and info.normalizer == "lowercase"

    def conv(v: Any) -> str | None:
        return keyword_of(v, info)

    if isinstance(value, Literal):
        target = value.text.lower() if lower else value.text
        if info is not None and info.ignore_above is not None and len(target) > info.ignore_above:
            return None
        return lambda v: conv(v) == target
    if ftype == "keyword":
        # keyword-only fields get a `wildcard` query: one pattern over the whole value, spaces included
        rx = glob_regex(value.parts, lower)
        return lambda v: (s := conv(v)) is not None and rx.match(s) is not None
    # other types go through query_string: the pattern splits on whitespace into OR-ed terms
    matchers = []
    for term in query_string_terms(value.parts):
        if len(term) == 1:
            matchers.append(term[0].__eq__)
        else:
            matchers.append(glob_regex(term).match)
    return lambda v: (s := conv(v)) is not None and any(m(s) for m in matchers)


def _text_is(value: Value) -> Test | None:
    if isinstance(value, Literal):
        tokens = analyze(value.text)
        if not tokens:
            return None
        if value.quoted:
            return lambda v: (s := keyword_of(v)) is not None and contains_phrase(analyze(s), tokens)
        wanted = frozenset(tokens)
        return lambda v: (s := keyword_of(v)) is not None and not wanted.isdisjoint(analyze(s))
    tests: list[Callable[[tuple[str, ...]], bool]] = []
    for term in query_string_terms(value.parts):
        if len(term) == 1:
            words = frozenset(analyze(term[0]))
            if words:
                tests.append(lambda toks, w=words: not w.isdisjoint(toks))
        else:
            rx = glob_regex(term, lower=True)  # patterns are lowercased and applied per token
            tests.append(lambda toks, r=rx: any(r.match(t) for t in toks))
    if not tests:
        return None
    return lambda v: (s := keyword_of(v)) is not None and any(t(toks) for toks in (analyze(s),) for t in tests)


def _date_between(ftype: str, lo: int, hi: int) -> Test:
    if ftype == "date_nanos":
        return lambda v: (n := doc_date(v)) is not None and lo <= n <= hi
    lo_ms, hi_ms = lo // MS, hi // MS
    return lambda v: (n := doc_date(v)) is not None and lo_ms <= n // MS <= hi_ms


def range_test(ftype: str, info: FieldInfo | None, op: str, value: Value, field: str, now: datetime) -> Test | None:
    """``field < value`` and friends."""
    compare = _OPS[op]
    if isinstance(value, Literal) and value.value is None:
        # A null bound is an open bound: every document with a value matches.
        return exists_test(ftype, info)
    text = value.text
    if ftype in WHOLE_VALUE_TYPES:
        lower = info is not None and info.normalizer == "lowercase"
        bound = text.lower() if lower else text
        return lambda v: (s := keyword_of(v, info)) is not None and compare(s, bound)
    if ftype in TEXT_TYPES:
        return lambda v: (s := keyword_of(v)) is not None and any(compare(t, text) for t in analyze(s))
    if ftype in NUMERIC_TYPES:
        bound_n = parse_number(text, ftype, field)
        integer = ftype in INTEGER_TYPES
        narrow = stored_float(ftype, info)
        if ftype == "scaled_float" and narrow is not None:
            # Elasticsearch scales the bound without rounding it: only the stored value is rounded.
            return lambda v: (n := number_of(v, False)) is not None and compare(narrow(n), bound_n)
        if narrow is not None:
            stored = narrow(bound_n)
            return lambda v: (n := number_of(v, False)) is not None and compare(narrow(n), stored)
        return lambda v: (n := number_of(v, integer)) is not None and compare(n, bound_n)
    if ftype in DATE_TYPES:
        try:
            # gt and lte round partial dates up; gte and lt round them down
            bound_ns = parse_date_math(text, now, round_up=op in ("gt", "lte"))
        except DateError as exc:
            raise Invalid(f"{exc} (field [{field}] is of type [{ftype}])") from None
        if ftype == "date_nanos":
            return lambda v: (n := doc_date(v)) is not None and compare(n, bound_ns)
        bound_ms = bound_ns // MS
        return lambda v: (n := doc_date(v)) is not None and compare(n // MS, bound_ms)
    if ftype == "ip":
        bound_ip = parse_ip(text, field, cidr=False)[0]
        return lambda v: (n := ip_of(v)) is not None and compare(n, bound_ip)
    if ftype == "boolean":
        bound_b = parse_bool(value if isinstance(value, Literal) else Literal(text), field)
        return lambda v: (b := bool_of(v)) is not None and compare(b, bound_b)
    if ftype in ("object", "nested", "group"):
        return None
    raise Invalid(f"field [{field}] of type [{ftype}] does not support range queries")


def exists_test(ftype: str, info: FieldInfo | None) -> Test:
    if ftype in WHOLE_VALUE_TYPES:
        return lambda v: keyword_of(v, info) is not None
    if ftype in NUMERIC_TYPES:
        return lambda v: number_of(v, False) is not None
    if ftype in DATE_TYPES:
        return lambda v: doc_date(v) is not None
    if ftype == "ip":
        return lambda v: ip_of(v) is not None
    if ftype == "boolean":
        return lambda v: bool_of(v) is not None
    return lambda v: v is not None
