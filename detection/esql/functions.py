"""Scalar functions: what each computes, and how it treats null and multi-values.

``policy`` says how arguments reach ``impl``:

* ``single``: every argument is one value; a null argument gives null, a multi-value gives null
  with a warning (the ES|QL rule "unless otherwise documented functions return null when
  applied to a multivalued field").
* ``each``: the first argument may be multi-valued and is converted value by value (the type
  conversion functions, and TO_LOWER/TO_UPPER since Elasticsearch 9.1); others are single.
* ``raw``: ``impl`` receives the values as they are (the MV_* family).
* ``lazy``: the evaluator handles the function itself (CASE, COALESCE).

``impl`` raises ``EvalProblem`` for a failure that becomes null with a warning, and
``TypeProblem`` for arguments Elasticsearch would refuse when planning the query.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from detection.esql.patterns import PatternProblem, java_regex, java_replacement
from detection.esql.values import (
    EPOCH,
    INT_MAX,
    INT_MIN,
    IP,
    LONG_MAX,
    LONG_MIN,
    EvalProblem,
    Span,
    TypeProblem,
    as_datetime,
    as_ip,
    collapse,
    datetime_from_millis,
    group_key,
    is_number,
    keyword_text,
    millis_of,
    order_key,
    parse_datetime,
    parse_ip,
    to_text,
    type_name,
    values_of,
)


@dataclass(frozen=True)
class Function:
    name: str
    min_args: int
    max_args: int | None
    impl: Callable[..., object] | None
    policy: str = "single"
    # Set when Elasticsearch accepts more arguments than this engine: the hint for the refusal.
    extra_args_unsupported: str | None = None


class Context:
    """What a function may need besides its arguments."""

    def __init__(self, now: datetime):
        self.now = now


# --------------------------------------------------------------------------- argument helpers


def _number(value: object, what: str = "argument") -> int | float:
    if is_number(value):
        return value  # type: ignore[return-value]
    raise TypeProblem(f"{what} must be numeric, found [{type_name(value)}]")


def _integer(value: object, what: str = "argument") -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise TypeProblem(f"{what} must be an integer, found [{type_name(value)}]")


def _text(value: object, what: str = "argument") -> str:
    try:
        return keyword_text(value)
    except TypeProblem as exc:
        raise TypeProblem(f"{what} must be a string, found [{type_name(value)}]") from exc


def _check_long(value: int) -> int:
    if not LONG_MIN <= value <= LONG_MAX:
        raise EvalProblem("long overflow")
    return value


def _java_round(value: float) -> int:
    """``Math.round``: half up, towards positive infinity."""
    return math.floor(value + 0.5)


def _finite(value: float) -> float:
    if math.isnan(value) or math.isinf(value):
        raise EvalProblem(f"not a finite double number: {value}")
    return value


# --------------------------------------------------------------------------- strings


def _java_trim(text: str, left: bool = True, right: bool = True) -> str:
    start, end = 0, len(text)
    while left and start < end and text[start] <= " ":
        start += 1
    while right and end > start and text[end - 1] <= " ":
        end -= 1
    return text[start:end]


def _substring_start(length: int, start: int) -> int:
    # 1-based; 0 behaves like 1; a negative start counts from the end.
    index = start - 1 if start > 0 else (length + start if start < 0 else 0)
    return min(max(0, index), length)


def _substring(ctx: Context, text: object, start: object, length: object = None) -> object:
    s, first = _text(text, "first argument"), _integer(start, "start")
    if s == "":
        return None
    begin = _substring_start(len(s), first)
    if length is None:
        return s[begin:]
    count = _integer(length, "length")
    if count < 0:
        raise EvalProblem(f"Length parameter cannot be negative, found [{count}]")
    return s[begin : begin + count]


def _locate(ctx: Context, text: object, sub: object, start: object = None) -> int:
    s, needle = _text(text), _text(sub)
    begin = 0 if start is None else _substring_start(len(s), _integer(start, "start"))
    found = s.find(needle, begin)
    return found + 1


def _split(ctx: Context, text: object, delim: object) -> object:
    s, d = _text(text), _text(delim, "delimiter")
    if len(d.encode("utf-8")) != 1:
        raise EvalProblem("delimiter must be a single byte")
    return collapse(s.split(d))


def _replace(ctx: Context, text: object, regex: object, new: object) -> str:
    s, pattern, template = _text(text), _text(regex, "regex"), _text(new, "replacement")
    try:
        return java_regex(pattern).sub(java_replacement(template), s)
    except PatternProblem as exc:
        raise EvalProblem(str(exc)) from exc


# Elasticsearch refuses to build a string result longer than this many bytes.
_MAX_STRING_BYTES = 1024 * 1024


def _space(ctx: Context, number: object) -> str:
    count = _integer(number, "number")
    if count < 0:
        raise EvalProblem(f"Number parameter cannot be negative, found [{count}]")
    if count > _MAX_STRING_BYTES:
        raise EvalProblem(f"Creating strings longer than [{_MAX_STRING_BYTES}] bytes is not supported")
    return " " * count


_HEX = frozenset("0123456789abcdefABCDEF")


def _url_decode(ctx: Context, text: object) -> str:
    # Elasticsearch decodes as Java's URLDecoder does: '+' is a space, '%' must start two hex
    # digits, and the bytes are read as UTF-8 (a malformed sequence becomes U+FFFD).
    s = _text(text)
    out = bytearray()
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "%":
            pair = s[i + 1 : i + 3]
            if len(pair) < 2:
                raise EvalProblem("URLDecoder: Incomplete trailing escape (%) pattern")
            if not set(pair) <= _HEX:
                raise EvalProblem("URLDecoder: Illegal hex characters in escape (%) pattern")
            out.append(int(pair, 16))
            i += 3
            continue
        out.extend(b" " if ch == "+" else ch.encode("utf-8"))
        i += 1
    return out.decode("utf-8", errors="replace")


def _left(ctx: Context, text: object, length: object) -> str:
    s, n = _text(text), _integer(length, "length")
    return s[: max(0, n)]


def _right(ctx: Context, text: object, length: object) -> str:
    s, n = _text(text), _integer(length, "length")
    return s[len(s) - min(len(s), max(0, n)) :]


def _concat(ctx: Context, *parts: object) -> str:
    return "".join(_text(p) for p in parts)


# --------------------------------------------------------------------------- math


def _abs(ctx: Context, value: object) -> object:
    number = _number(value)
    if isinstance(number, int):
        return _check_long(abs(number))
    return abs(number)


def _round(ctx: Context, value: object, decimals: object = None) -> object:
    number, places = _number(value), 0 if decimals is None else _integer(decimals, "decimals")
    if isinstance(number, int):
        if places >= 0:
            return number
        unit = 10 ** (-places)
        sign = -1 if number < 0 else 1
        return _check_long(sign * ((abs(number) + unit // 2) // unit) * unit)
    if math.isnan(number) or math.isinf(number):
        return number
    # Half away from zero on the scaled value, as Elasticsearch's Maths.round does.
    scale = 10.0**places
    scaled = abs(number) * scale
    if math.isinf(scaled):
        return number
    return math.copysign(math.floor(scaled + 0.5) / scale, number)


def _floor(ctx: Context, value: object) -> object:
    number = _number(value)
    return number if isinstance(number, int) else float(math.floor(number))


def _ceil(ctx: Context, value: object) -> object:
    number = _number(value)
    return number if isinstance(number, int) else float(math.ceil(number))


def _pow(ctx: Context, base: object, exponent: object) -> float:
    try:
        result = float(_number(base)) ** float(_number(exponent))
    except (OverflowError, ZeroDivisionError) as exc:
        raise EvalProblem("not a finite double number") from exc
    if isinstance(result, complex):
        raise EvalProblem("not a finite double number: NaN")
    return _finite(result)


def _sqrt(ctx: Context, value: object) -> float:
    number = _number(value)
    if number < 0:
        raise EvalProblem("Square root of negative")
    return math.sqrt(number)


def _log10(ctx: Context, value: object) -> float:
    number = _number(value)
    if number <= 0:
        raise EvalProblem("Log of non-positive number")
    return math.log10(number)


# --------------------------------------------------------------------------- conversions

_INTEGRAL = re.compile(r"[+-]?\d+\Z")
_DECIMAL = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")


def _to_whole(value: object, low: int, high: int, type_label: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        result = value
    elif isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise EvalProblem(f"[{value}] out of [{type_label}] range")
        result = _java_round(value)
    elif isinstance(value, str):
        if _INTEGRAL.match(value):
            result = int(value)
        elif _DECIMAL.match(value):
            result = _java_round(float(value))
        else:
            raise EvalProblem(f"Cannot parse number [{value}]")
    elif isinstance(value, datetime):
        result = millis_of(value)
    else:
        raise TypeProblem(f"cannot convert [{type_name(value)}] to [{type_label}]")
    if not low <= result <= high:
        raise EvalProblem(f"[{value}] out of [{type_label}] range")
    return result


def _to_integer(ctx: Context, value: object) -> int:
    return _to_whole(value, INT_MIN, INT_MAX, "integer")


def _to_long(ctx: Context, value: object) -> int:
    return _to_whole(value, LONG_MIN, LONG_MAX, "long")


def _to_double(ctx: Context, value: object) -> float:
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if is_number(value):
        return float(value)  # type: ignore[arg-type]
    if isinstance(value, str):
        text = value.strip()
        if not _DECIMAL.match(text):
            raise EvalProblem(f"Cannot parse number [{value}]")
        return _finite(float(text))
    if isinstance(value, datetime):
        return float(millis_of(value))
    raise TypeProblem(f"cannot convert [{type_name(value)}] to [double]")


def _to_boolean(ctx: Context, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.lower() == "true"
    if is_number(value):
        return value != 0
    raise TypeProblem(f"cannot convert [{type_name(value)}] to [boolean]")


def _to_string(ctx: Context, value: object) -> str:
    return to_text(value)


def _to_ip(ctx: Context, value: object) -> object:
    if isinstance(value, IP):
        return value
    if isinstance(value, str):
        return parse_ip(value)
    raise TypeProblem(f"cannot convert [{type_name(value)}] to [ip]")


def _to_datetime(ctx: Context, value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    if is_number(value):
        return datetime_from_millis(int(value))  # type: ignore[arg-type]
    raise TypeProblem(f"cannot convert [{type_name(value)}] to [datetime]")


def _to_lower(ctx: Context, value: object) -> str:
    return _text(value).lower()


def _to_upper(ctx: Context, value: object) -> str:
    return _text(value).upper()


# --------------------------------------------------------------------------- IP


@lru_cache(maxsize=1024)
def _network(block: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(block.strip(), strict=False)
    except ValueError as exc:
        raise EvalProblem(f"'{block}' is not a CIDR block") from exc


def _cidr_match(ctx: Context, ip: object, *blocks: object) -> bool:
    address = as_ip(ip)
    for block in blocks:
        network = _network(_text(block, "CIDR block"))
        candidate: object = address
        if network.version != address.version:
            if isinstance(address, ipaddress.IPv4Address):
                candidate = ipaddress.IPv6Address("::ffff:" + str(address))
            else:
                candidate = address.ipv4_mapped
        if candidate is not None and candidate in network:
            return True
    return False


# --------------------------------------------------------------------------- dates


def _span(value: object, what: str = "interval") -> Span:
    if isinstance(value, Span):
        return value
    raise TypeProblem(f"{what} must be a time span such as 1 hour, found [{type_name(value)}]")


def truncate(when: datetime, span: Span) -> datetime:
    """DATE_TRUNC: calendar rounding for one day/week/month/quarter/year, fixed steps otherwise."""
    units = [v for v in (span.years, span.months, span.days, span.millis) if v]
    if len(units) != 1 or units[0] < 0:
        raise EvalProblem("Zero, negative or mixed time intervals are not supported")
    if span.millis:
        millis = millis_of(when)
        return datetime_from_millis(millis - millis % span.millis)
    midnight = when.replace(hour=0, minute=0, second=0, microsecond=0)
    if span.days == 1:
        return midnight
    if span.days == 7:
        return midnight - timedelta(days=midnight.weekday())  # ISO weeks start on Monday
    if span.days:
        step = span.days * 86_400_000
        millis = millis_of(when)
        return datetime_from_millis(millis - millis % step)
    if span.months:
        # Multiples of months count from 0001-01, where Elasticsearch's calendar starts.
        index = (when.year - 1) * 12 + (when.month - 1)
        index -= index % span.months
        return midnight.replace(year=index // 12 + 1, month=index % 12 + 1, day=1)
    year = when.year - (when.year - 1) % span.years
    return midnight.replace(year=year, month=1, day=1)


def _date_trunc(ctx: Context, interval: object, date: object) -> datetime:
    return truncate(as_datetime(date), _span(interval))


def _bucket(ctx: Context, field: object, span: object) -> object:
    if isinstance(span, Span):
        return truncate(as_datetime(field), span)
    step, value = _number(span, "bucket span"), _number(field, "bucketed field")
    if step <= 0:
        raise EvalProblem("bucket span must be positive")
    return float(math.floor(value / step) * step)


_DATE_PARTS: dict[str, Callable[[datetime], int]] = {
    "year": lambda d: d.year,
    "year_of_era": lambda d: d.year,
    "era": lambda d: 1,
    "month_of_year": lambda d: d.month,
    "proleptic_month": lambda d: d.year * 12 + d.month - 1,
    "day_of_month": lambda d: d.day,
    "day_of_week": lambda d: d.isoweekday(),
    "day_of_year": lambda d: d.timetuple().tm_yday,
    "epoch_day": lambda d: (d - EPOCH).days,
    "aligned_week_of_year": lambda d: (d.timetuple().tm_yday - 1) // 7 + 1,
    "aligned_week_of_month": lambda d: (d.day - 1) // 7 + 1,
    "aligned_day_of_week_in_year": lambda d: (d.timetuple().tm_yday - 1) % 7 + 1,
    "aligned_day_of_week_in_month": lambda d: (d.day - 1) % 7 + 1,
    "ampm_of_day": lambda d: 1 if d.hour >= 12 else 0,
    "hour_of_ampm": lambda d: d.hour % 12,
    "clock_hour_of_ampm": lambda d: d.hour % 12 or 12,
    "hour_of_day": lambda d: d.hour,
    "clock_hour_of_day": lambda d: d.hour or 24,
    "minute_of_hour": lambda d: d.minute,
    "minute_of_day": lambda d: d.hour * 60 + d.minute,
    "second_of_minute": lambda d: d.second,
    "second_of_day": lambda d: d.hour * 3600 + d.minute * 60 + d.second,
    "milli_of_second": lambda d: d.microsecond // 1000,
    "milli_of_day": lambda d: (d.hour * 3600 + d.minute * 60 + d.second) * 1000 + d.microsecond // 1000,
    "micro_of_second": lambda d: d.microsecond,
    "micro_of_day": lambda d: (d.hour * 3600 + d.minute * 60 + d.second) * 1_000_000 + d.microsecond,
    "nano_of_second": lambda d: d.microsecond * 1000,
    "nano_of_day": lambda d: ((d.hour * 3600 + d.minute * 60 + d.second) * 1_000_000 + d.microsecond) * 1000,
    "instant_seconds": lambda d: millis_of(d) // 1000,
    "offset_seconds": lambda d: 0,
}


def _date_extract(ctx: Context, part: object, date: object) -> int:
    name = _text(part, "date part").lower()
    if name not in _DATE_PARTS:
        raise EvalProblem(
            f"A value of [{', '.join(sorted(_DATE_PARTS))}] or their aliases is required; received [{name}]"
        )
    return _DATE_PARTS[name](as_datetime(date))


_DIFF_UNITS: dict[str, str] = {}
for _unit, _aliases in {
    "year": ("year", "years", "yy", "yyyy"),
    "quarter": ("quarter", "quarters", "qq", "q"),
    "month": ("month", "months", "mm", "m"),
    "day": ("dayofyear", "dy", "y", "day", "days", "dd", "d", "weekday", "weekdays", "dw"),
    "week": ("week", "weeks", "wk", "ww"),
    "hour": ("hour", "hours", "hh"),
    "minute": ("minute", "minutes", "mi", "n"),
    "second": ("second", "seconds", "ss", "s"),
    "millisecond": ("millisecond", "milliseconds", "ms"),
    "microsecond": ("microsecond", "microseconds", "mcs"),
    "nanosecond": ("nanosecond", "nanoseconds", "ns"),
}.items():
    for _alias in _aliases:
        _DIFF_UNITS[_alias] = _unit
_FIXED_MICROS = {
    "week": 604_800_000_000,
    "day": 86_400_000_000,
    "hour": 3_600_000_000,
    "minute": 60_000_000,
    "second": 1_000_000,
    "millisecond": 1000,
    "microsecond": 1,
}


def _months_between(start: datetime, end: datetime) -> int:
    # java.time's ChronoUnit.MONTHS.between: only complete months count.
    months = (end.year - start.year) * 12 + end.month - start.month
    rest_end = (end.day, end.time())
    rest_start = (start.day, start.time())
    if months > 0 and rest_end < rest_start:
        months -= 1
    elif months < 0 and rest_end > rest_start:
        months += 1
    return months


def _date_diff(ctx: Context, unit: object, start: object, end: object) -> int:
    name = _text(unit, "unit").lower()
    if name not in _DIFF_UNITS:
        raise EvalProblem(
            f"Received value [{name}] is not valid date part to add; did you mean one of {sorted(set(_DIFF_UNITS.values()))}?"
        )
    kind = _DIFF_UNITS[name]
    a, b = as_datetime(start), as_datetime(end)
    if kind in ("year", "quarter", "month"):
        months = _months_between(a, b)
        result = int(months / {"year": 12, "quarter": 3, "month": 1}[kind])
    else:
        delta = b - a
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        result = micros * 1000 if kind == "nanosecond" else int(micros / _FIXED_MICROS[kind])
    if not INT_MIN <= result <= INT_MAX:
        raise EvalProblem(
            f"The DATE_DIFF function resulted in an overflow; the result [{result}] is out of integer range"
        )
    return result


def _now(ctx: Context) -> datetime:
    return ctx.now


# --------------------------------------------------------------------------- multi-values


def _homogeneous(values: list, what: str) -> None:
    kinds = {order_key(v)[0] for v in values}
    if len(kinds) > 1:
        raise TypeProblem(f"{what} over values of different types")


def _single(value: object) -> object:
    """A parameter of an MV_ function that must be one value."""
    if isinstance(value, list):
        raise EvalProblem("single-value function encountered multi-value")
    return value


def _mv_count(ctx: Context, value: object) -> object:
    return None if value is None else len(values_of(value))


def _mv_dedupe(ctx: Context, value: object) -> object:
    seen, out = set(), []
    for v in values_of(value):
        key = group_key(v)
        if key not in seen:
            seen.add(key)
            out.append(v)
    return collapse(out)


def _mv_concat(ctx: Context, value: object, delim: object) -> object:
    if value is None or delim is None:
        return None
    return _text(_single(delim), "delimiter").join(_text(v) for v in values_of(value))


def _mv_first(ctx: Context, value: object) -> object:
    values = values_of(value)
    return values[0] if values else None


def _mv_last(ctx: Context, value: object) -> object:
    values = values_of(value)
    return values[-1] if values else None


def _mv_min(ctx: Context, value: object) -> object:
    values = values_of(value)
    _homogeneous(values, "MV_MIN")
    return min(values, key=order_key) if values else None


def _mv_max(ctx: Context, value: object) -> object:
    values = values_of(value)
    _homogeneous(values, "MV_MAX")
    return max(values, key=order_key) if values else None


def _mv_sum(ctx: Context, value: object) -> object:
    values = [_number(v) for v in values_of(value)]
    if not values:
        return None
    if all(isinstance(v, int) for v in values):
        return _check_long(sum(values))
    return _finite(math.fsum(values))


def _mv_avg(ctx: Context, value: object) -> object:
    values = [_number(v) for v in values_of(value)]
    return math.fsum(values) / len(values) if values else None


def _mv_sort(ctx: Context, value: object, order: object = "ASC") -> object:
    if value is None:
        return None
    direction = _text(_single(order), "order") if order is not None else ""
    if direction.upper() not in ("ASC", "DESC"):
        raise EvalProblem(f"Invalid order value in [MV_SORT], expected one of [ASC, DESC] but got [{order}]")
    values = values_of(value)
    _homogeneous(values, "MV_SORT")
    return collapse(sorted(values, key=order_key, reverse=direction.upper() == "DESC"))


def _mv_slice(ctx: Context, value: object, start: object, end: object = None) -> object:
    if value is None or start is None:
        return None
    values = values_of(value)
    first = _integer(_single(start), "start")
    last = first if end is None else _integer(_single(end), "end")
    # Offsets are 0-based and inclusive; negative ones count from the end.
    if first < 0:
        first += len(values)
    if last < 0:
        last += len(values)
    if first > last:
        raise EvalProblem("Start offset is greater than end offset")
    return collapse(values[max(first, 0) : max(last + 1, 0)])


def _mv_contains(ctx: Context, superset: object, subset: object) -> bool:
    # Every value of the subset must be among the superset's; null is the empty set.
    have = {group_key(v) for v in values_of(superset)}
    return all(group_key(v) in have for v in values_of(subset))


def _mv_append(ctx: Context, left: object, right: object) -> object:
    if left is None or right is None:
        return None
    return collapse(values_of(left) + values_of(right))


# --------------------------------------------------------------------------- the table


def _f(name, lo, hi, impl, policy="single", extra=None) -> Function:
    return Function(name, lo, hi, impl, policy, extra)


_TABLE = [
    # strings
    _f("to_lower", 1, 1, _to_lower, "each"),
    _f("to_upper", 1, 1, _to_upper, "each"),
    _f("length", 1, 1, lambda ctx, v: len(_text(v))),
    _f("substring", 2, 3, _substring),
    _f("concat", 2, None, _concat),
    _f("starts_with", 2, 2, lambda ctx, s, p: _text(s).startswith(_text(p, "prefix"))),
    _f("ends_with", 2, 2, lambda ctx, s, p: _text(s).endswith(_text(p, "suffix"))),
    _f("trim", 1, 1, lambda ctx, s: _java_trim(_text(s))),
    _f("ltrim", 1, 1, lambda ctx, s: _java_trim(_text(s), right=False)),
    _f("rtrim", 1, 1, lambda ctx, s: _java_trim(_text(s), left=False)),
    _f("replace", 3, 3, _replace),
    _f("split", 2, 2, _split),
    _f("locate", 2, 3, _locate),
    _f("left", 2, 2, _left),
    _f("right", 2, 2, _right),
    _f("reverse", 1, 1, lambda ctx, s: _text(s)[::-1]),
    _f("space", 1, 1, _space),
    _f("url_decode", 1, 1, _url_decode),
    # conditionals
    _f("coalesce", 1, None, None, "lazy"),
    _f("case", 2, None, None, "lazy"),
    # math
    _f("abs", 1, 1, _abs),
    _f("round", 1, 2, _round),
    _f("floor", 1, 1, _floor),
    _f("ceil", 1, 1, _ceil),
    _f("pow", 2, 2, _pow),
    _f("sqrt", 1, 1, _sqrt),
    _f("log10", 1, 1, _log10),
    # conversions (Elasticsearch also accepts the short aliases)
    _f("to_string", 1, 1, _to_string, "each"),
    _f("to_str", 1, 1, _to_string, "each"),
    _f("to_integer", 1, 1, _to_integer, "each"),
    _f("to_int", 1, 1, _to_integer, "each"),
    _f("to_long", 1, 1, _to_long, "each", "parsing with a base is not supported"),
    _f("to_double", 1, 1, _to_double, "each"),
    _f("to_dbl", 1, 1, _to_double, "each"),
    _f("to_boolean", 1, 1, _to_boolean, "each"),
    _f("to_bool", 1, 1, _to_boolean, "each"),
    _f("to_ip", 1, 1, _to_ip, "each", "TO_IP options are not supported"),
    _f("to_datetime", 1, 1, _to_datetime, "each"),
    _f("to_dt", 1, 1, _to_datetime, "each"),
    # IP
    _f("cidr_match", 2, None, _cidr_match),
    # dates
    _f("now", 0, 0, _now),
    _f("date_trunc", 2, 2, _date_trunc),
    _f("date_extract", 2, 2, _date_extract),
    _f("date_diff", 3, 3, _date_diff),
    _f(
        "bucket",
        2,
        2,
        _bucket,
        "single",
        "automatic bucketing BUCKET(field, count, from, to) is not supported; give a span",
    ),
    # multi-values
    _f("mv_count", 1, 1, _mv_count, "raw"),
    _f("mv_dedupe", 1, 1, _mv_dedupe, "raw"),
    _f("mv_concat", 2, 2, _mv_concat, "raw"),
    _f("mv_first", 1, 1, _mv_first, "raw"),
    _f("mv_last", 1, 1, _mv_last, "raw"),
    _f("mv_min", 1, 1, _mv_min, "raw"),
    _f("mv_max", 1, 1, _mv_max, "raw"),
    _f("mv_sum", 1, 1, _mv_sum, "raw"),
    _f("mv_avg", 1, 1, _mv_avg, "raw"),
    _f("mv_sort", 1, 2, _mv_sort, "raw"),
    _f("mv_slice", 2, 3, _mv_slice, "raw"),
    _f("mv_append", 2, 2, _mv_append, "raw"),
    _f("mv_contains", 2, 2, _mv_contains, "raw"),
]
FUNCTIONS: dict[str, Function] = {f.name: f for f in _TABLE}

# ``value::type`` maps onto the conversion functions.
CAST_TYPES: dict[str, str] = {
    "string": "to_string",
    "keyword": "to_string",
    "text": "to_string",
    "integer": "to_integer",
    "int": "to_integer",
    "long": "to_long",
    "double": "to_double",
    "boolean": "to_boolean",
    "bool": "to_boolean",
    "ip": "to_ip",
    "datetime": "to_datetime",
    "date": "to_datetime",
}
