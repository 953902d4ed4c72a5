"""Single-value tests against a constant: ``==``, ordering, ``in`` membership.

Without a field type the test follows what Elasticsearch does for the usual mappings:
a JSON number in a keyword field is indexed as its text (``event.code == "4624"``
matches ``4624``), and a numeric string in a numeric field is coerced to a number
(``process.pid == 42`` matches ``"42"``). With a field type (from the ``fields``
schema) the value is converted the way that mapping type would index it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from detection.eql.functions import parse_ip
from detection.eql.values import parse_number, parse_timestamp, to_num, to_str

Test = Callable[[object], bool]

KEYWORD_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "version"})
NUMERIC_TYPES = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float",
                           "scaled_float", "unsigned_long"})
DATE_TYPES = frozenset({"date", "date_nanos"})
TEXT_TYPES = frozenset({"text", "match_only_text"})

ORDER_OPS: dict[str, Callable[[object, object], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


class TypeMismatch(ValueError):
    """A constant that the field's mapping type cannot hold."""


def _to_bool(v: object) -> bool | None:
    if isinstance(v, bool):
        return v
    if v == "true":
        return True
    if v == "false":
        return False
    return None


def converter(ftype: str | None) -> Callable[[object], object] | None:
    """How a value is normalised for a mapping type; None means "no type known"."""
    if ftype is None:
        return None
    if ftype in KEYWORD_TYPES:
        return to_str
    if ftype in NUMERIC_TYPES:
        return to_num
    if ftype in DATE_TYPES:
        return parse_timestamp
    if ftype == "ip":
        return lambda v: parse_ip(v) if isinstance(v, str) else None
    if ftype == "boolean":
        return _to_bool
    return None


def _typed_constant(conv: Callable[[object], object], lit: object, ftype: str) -> object:
    value = conv(lit)
    if value is None:
        raise TypeMismatch(f"{lit!r} is not a valid {ftype} value")
    return value


def eq_test(lit: object, ftype: str | None = None) -> Test:
    """value == lit, for a non-null constant."""
    conv = converter(ftype)
    if conv is not None:
        want = _typed_constant(conv, lit, ftype)  # type: ignore[arg-type]
        return lambda v: conv(v) == want
    if isinstance(lit, bool):
        text = "true" if lit else "false"
        return lambda v: v is lit or v == text
    if isinstance(lit, str):
        num = parse_number(lit)

        def eq_str(v: object) -> bool:
            if v.__class__ is str:
                return v == lit
            if isinstance(v, bool):
                return to_str(v) == lit
            if isinstance(v, (int, float)):
                return (num is not None and v == num) or to_str(v) == lit
            return False
        return eq_str

    def eq_num(v: object) -> bool:
        if isinstance(v, bool):
            return False
        if isinstance(v, (int, float)):
            return v == lit
        if isinstance(v, str):
            n = parse_number(v)
            return n is not None and n == lit
        return False
    return eq_num


def order_test(op: str, lit: object, ftype: str | None = None) -> Test:
    """value <op> lit for < <= > >=; values of other kinds never match."""
    cmp = ORDER_OPS[op]
    conv = converter(ftype)
    if conv is not None:
        want = _typed_constant(conv, lit, ftype)  # type: ignore[arg-type]

        def typed(v: object) -> bool:
            x = conv(v)
            if x is None:
                return False
            try:
                return cmp(x, want)
            except TypeError:  # e.g. an IPv4 against an IPv6 address
                return False
        return typed
    if isinstance(lit, bool):
        return lambda v: False
    if isinstance(lit, str):
        num = parse_number(lit)

        def ord_str(v: object) -> bool:
            if v.__class__ is str:
                return cmp(v, lit)
            if isinstance(v, bool):
                return cmp(to_str(v), lit)
            if isinstance(v, (int, float)):
                # a numeric literal written as a string compares as a number
                return cmp(v, num) if num is not None else cmp(to_str(v), lit)
            return False
        return ord_str

    def ord_num(v: object) -> bool:
        x = to_num(v)
        return x is not None and cmp(x, lit)
    return ord_num


def member_test(items: list[object], ftype: str | None = None, insensitive: bool = False) -> Test:
    """value in items (nulls in the list never match, as in a terms query)."""
    items = [i for i in items if i is not None]
    if not items:
        return lambda v: False
    if insensitive:
        lowered = {s.lower() for s in (to_str(i) for i in items) if s is not None}

        def member_ci(v: object) -> bool:
            s = to_str(v)
            return s is not None and s.lower() in lowered
        return member_ci
    conv = converter(ftype)
    if conv is not None:
        wanted = {_typed_constant(conv, i, ftype) for i in items}  # type: ignore[arg-type]
        return lambda v: conv(v) in wanted if v is not None else False
    if all(isinstance(i, str) for i in items) and len(items) > 2:
        strings = set(items)
        numbers = {n for n in (parse_number(i) for i in items) if n is not None}

        def member_str(v: object) -> bool:
            if v.__class__ is str:
                return v in strings
            if isinstance(v, bool):
                return to_str(v) in strings
            if isinstance(v, (int, float)):
                return v in numbers or to_str(v) in strings
            return False
        return member_str
    tests = [eq_test(i) for i in items]
    return lambda v: any(t(v) for t in tests)
