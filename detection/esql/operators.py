"""Comparison and arithmetic on single, non-null values.

Events carry no mapping, so operand types come from the values. Strings meet dates and IPs the
way ES|QL's implicit casting of string literals does (parsed); a number compared for equality with
a string is read as a keyword field would index it. Other mixes are refused as Elasticsearch
refuses them when planning the query.
"""

from __future__ import annotations

import math
from datetime import datetime

from detection.esql.values import (
    IP,
    LONG_MAX,
    LONG_MIN,
    EvalProblem,
    Span,
    TypeProblem,
    add_span,
    as_datetime,
    as_ip,
    ip_key,
    is_number,
    keyword_text,
    type_name,
)


def _comparable(op: str, a: object, b: object) -> tuple[object, object]:
    ordering = op not in ("==", "!=")
    if is_number(a) and is_number(b):
        return a, b
    if isinstance(a, str) and isinstance(b, str):
        return a, b
    if isinstance(a, bool) and isinstance(b, bool):
        if ordering:
            raise TypeProblem(f"[{op}] cannot order boolean values")
        return a, b
    if isinstance(a, datetime) or isinstance(b, datetime):
        if (
            isinstance(a, (bool, Span))
            or isinstance(b, (bool, Span))
            or isinstance(a, IP)
            or isinstance(b, IP)
        ):
            raise _mismatch(op, a, b)
        return as_datetime(a), as_datetime(b)
    if isinstance(a, IP) or isinstance(b, IP):
        if not all(isinstance(v, (str, *IP)) for v in (a, b)):
            raise _mismatch(op, a, b)
        return ip_key(as_ip(a)), ip_key(as_ip(b))
    if not ordering and isinstance(a, (str, bool, int, float)) and isinstance(b, (str, bool, int, float)):
        return keyword_text(a), keyword_text(b)
    raise _mismatch(op, a, b)


def _mismatch(op: str, a: object, b: object) -> TypeProblem:
    return TypeProblem(f"[{op}] cannot compare [{type_name(a)}] with [{type_name(b)}]")


def compare(op: str, a: object, b: object) -> bool:
    if op == "=~":
        if not (isinstance(a, str) and isinstance(b, str)):
            raise TypeProblem(f"[=~] compares strings, found [{type_name(a)}] and [{type_name(b)}]")
        return a.lower() == b.lower()
    x, y = _comparable(op, a, b)
    if op == "==":
        return x == y
    if op == "!=":
        return x != y
    if op == "<":
        return x < y  # type: ignore[operator]
    if op == "<=":
        return x <= y  # type: ignore[operator]
    if op == ">":
        return x > y  # type: ignore[operator]
    return x >= y  # type: ignore[operator]


def _long(value: int) -> int:
    if not LONG_MIN <= value <= LONG_MAX:
        raise EvalProblem("long overflow")
    return value


def _int_divide(a: int, b: int) -> int:
    if b == 0:
        raise EvalProblem("/ by zero")
    quotient = abs(a) // abs(b)  # Java truncates towards zero
    return quotient if (a >= 0) == (b >= 0) else -quotient


def arithmetic(op: str, a: object, b: object) -> object:
    if is_number(a) and is_number(b):
        if isinstance(a, int) and isinstance(b, int):
            if op == "+":
                return _long(a + b)
            if op == "-":
                return _long(a - b)
            if op == "*":
                return _long(a * b)
            if op == "/":
                return _long(_int_divide(a, b))
            if b == 0:
                raise EvalProblem("/ by zero")
            return a - b * _int_divide(a, b)  # the remainder keeps the dividend's sign
        x, y = float(a), float(b)  # type: ignore[arg-type]
        if op in ("/", "%") and y == 0:
            raise EvalProblem("/ by zero")
        result = (
            x + y
            if op == "+"
            else x - y
            if op == "-"
            else x * y
            if op == "*"
            else x / y
            if op == "/"
            else math.fmod(x, y)
        )
        if math.isinf(result) or math.isnan(result):
            raise EvalProblem(f"not a finite double number: {result}")
        return result
    if op in ("+", "-"):
        if isinstance(b, Span) and isinstance(a, (datetime, str)):
            return add_span(as_datetime(a), b if op == "+" else -b)
        if op == "+" and isinstance(a, Span) and isinstance(b, (datetime, str)):
            return add_span(as_datetime(b), a)
        if isinstance(a, Span) and isinstance(b, Span):
            return a + (b if op == "+" else -b)
    raise TypeProblem(f"[{op}] has arguments with incompatible types [{type_name(a)}] and [{type_name(b)}]")


def negate(value: object) -> object:
    if isinstance(value, bool):
        raise TypeProblem("[-] cannot negate a boolean")
    if isinstance(value, int):
        return _long(-value)
    if isinstance(value, float):
        return -value
    if isinstance(value, Span):
        return -value
    raise TypeProblem(f"[-] cannot negate [{type_name(value)}]")
