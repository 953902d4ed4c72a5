"""Runtime values: the Python shape of each ES|QL type, and conversions between them.

A value is ``None`` (null), a single value, or a ``list`` of two or more non-null single values
(a multi-value). Single values are ``bool``, ``int`` (integer/long), ``float`` (double), ``str``
(keyword/text), ``datetime`` (UTC), an ``ipaddress`` address, or a ``Span`` (time span).
"""

from __future__ import annotations

import calendar
import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import lru_cache

IP = (ipaddress.IPv4Address, ipaddress.IPv6Address)
LONG_MIN, LONG_MAX = -(2**63), 2**63 - 1
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class EvalProblem(Exception):
    """An expression failed on one row: Elasticsearch makes it null and adds a warning."""


class TypeProblem(Exception):
    """Operand types Elasticsearch would reject when planning the query."""


# --------------------------------------------------------------------------- time spans

# Unit spellings from the ES|QL time span table; value: (years, months, days, milliseconds).
_UNITS: dict[str, tuple[int, int, int, int]] = {}
for _names, _amount in (
    (("year", "y", "yr", "years"), (1, 0, 0, 0)),
    (("quarter", "q", "quarters"), (0, 3, 0, 0)),
    (("month", "mo", "months"), (0, 1, 0, 0)),
    (("week", "w", "weeks"), (0, 0, 7, 0)),
    (("day", "d", "days"), (0, 0, 1, 0)),
    (("hour", "h", "hours"), (0, 0, 0, 3_600_000)),
    (("minute", "m", "min", "minutes"), (0, 0, 0, 60_000)),
    (("second", "s", "sec", "seconds"), (0, 0, 0, 1000)),
    (("millisecond", "ms", "milliseconds"), (0, 0, 0, 1)),
):
    for _n in _names:
        _UNITS[_n] = _amount
TIME_UNITS = frozenset(_UNITS)


@dataclass(frozen=True)
class Span:
    """A time span: a calendar part (date_period) and/or a fixed part (time_duration)."""

    years: int = 0
    months: int = 0
    days: int = 0
    millis: int = 0

    @classmethod
    def of(cls, count: int, unit: str) -> Span:
        y, mo, d, ms = _UNITS[unit.lower()]
        return cls(y * count, mo * count, d * count, ms * count)

    @property
    def is_period(self) -> bool:
        return self.millis == 0

    def __neg__(self) -> Span:
        return Span(-self.years, -self.months, -self.days, -self.millis)

    def __add__(self, other: Span) -> Span:
        return Span(
            self.years + other.years,
            self.months + other.months,
            self.days + other.days,
            self.millis + other.millis,
        )

    def __str__(self) -> str:
        parts = []
        for amount, unit in (
            (self.years, "years"),
            (self.months, "months"),
            (self.days, "days"),
            (self.millis, "milliseconds"),
        ):
            if amount:
                parts.append(f"{amount} {unit}")
        return " + ".join(parts) or "0 milliseconds"


def add_span(when: datetime, span: Span) -> datetime:
    """Calendar-aware ``when + span``: months clamp the day like java.time does."""
    if span.years or span.months:
        total = when.year * 12 + (when.month - 1) + span.years * 12 + span.months
        year, month = divmod(total, 12)
        month += 1
        if not 1 <= year <= 9999:
            raise EvalProblem("date out of range")
        day = min(when.day, calendar.monthrange(year, month)[1])
        when = when.replace(year=year, month=month, day=day)
    try:
        return when + timedelta(days=span.days, milliseconds=span.millis)
    except OverflowError as exc:
        raise EvalProblem("date out of range") from exc


# --------------------------------------------------------------------------- dates

_ISO = re.compile(
    r"(?P<y>[+-]?\d{4,9})(?:-(?P<mo>\d{2})(?:-(?P<d>\d{2})"
    r"(?:[T ](?P<h>\d{2})(?::(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\Z"
)


@lru_cache(maxsize=4096)
def parse_datetime(text: str) -> datetime:
    """An ISO 8601 date or date-time (Elasticsearch ``strict_date_optional_time``); UTC if no zone."""
    m = _ISO.match(text.strip())
    if not m:
        raise EvalProblem(f"failed to parse date field [{text}]")
    try:
        year = int(m["y"])
        fraction = (m["f"] or "0")[:6].ljust(6, "0")
        value = datetime(
            year,
            int(m["mo"] or 1),
            int(m["d"] or 1),
            int(m["h"] or 0),
            int(m["mi"] or 0),
            int(m["s"] or 0),
            int(fraction),
            tzinfo=UTC,
        )
        tz = m["tz"]
        if tz and tz not in ("Z", "z"):
            sign = -1 if tz[0] == "-" else 1
            digits = tz[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            value = value - sign * offset
        return value
    except (ValueError, OverflowError) as exc:
        raise EvalProblem(f"failed to parse date field [{text}]") from exc


def datetime_from_millis(millis: float) -> datetime:
    try:
        return EPOCH + timedelta(milliseconds=millis)
    except (OverflowError, ValueError) as exc:
        raise EvalProblem(f"[{millis}] is out of the date range") from exc


def millis_of(when: datetime) -> int:
    delta = when - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def format_datetime(when: datetime) -> str:
    """The form Elasticsearch returns dates in: ``2024-05-01T10:00:00.000Z``."""
    when = when.astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def as_datetime(value: object) -> datetime:
    """A date from a date, an ISO string or epoch milliseconds."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        return parse_datetime(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime_from_millis(value)
    raise TypeProblem(f"expected a date, found [{type_name(value)}]")


# --------------------------------------------------------------------------- IP addresses


@lru_cache(maxsize=4096)
def parse_ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError as exc:
        raise EvalProblem(f"'{text}' is not an IP string literal.") from exc
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        # Elasticsearch stores IPv4 as IPv4-mapped IPv6 and prints it back as IPv4.
        return address.ipv4_mapped
    return address


def ip_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    """Sort and equality key in Elasticsearch's 16-byte (IPv4-mapped) layout."""
    if isinstance(address, ipaddress.IPv4Address):
        return 0xFFFF00000000 | int(address)
    return int(address)


def as_ip(value: object) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if isinstance(value, IP):
        return value
    if isinstance(value, str):
        return parse_ip(value)
    raise TypeProblem(f"expected an ip, found [{type_name(value)}]")


# --------------------------------------------------------------------------- types and text


def type_name(value: object) -> str:
    """The ES|QL type name of a single value, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer" if INT_MIN <= value <= INT_MAX else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "keyword"
    if isinstance(value, datetime):
        return "datetime"
    if isinstance(value, IP):
        return "ip"
    if isinstance(value, Span):
        return "date_period" if value.is_period else "time_duration"
    if isinstance(value, list):
        return type_name(value[0]) if value else "null"
    return type(value).__name__


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def java_double(value: float) -> str:
    """A double the way Java's ``Double.toString`` prints it (``1.0``, ``1.0E10``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)  # shortest round-trip digits, plain notation in this range
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    figures = "".join(map(str, digits))
    mantissa = figures[0] + "." + (figures[1:] or "0")
    return ("-" if sign else "") + f"{mantissa}E{len(figures) - 1 + int(exponent)}"


def to_text(value: object) -> str:
    """``TO_STRING`` of a single value."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return java_double(value)
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, IP):
        return str(value)
    return str(value)


def keyword_text(value: object) -> str:
    """A value used where text is needed: numbers and booleans read as a keyword field would.

    Events carry no mapping, so a number in a field the rule treats as text is taken the way a
    ``keyword`` mapping would index it.
    """
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return to_text(value)
    raise TypeProblem(f"expected a string, found [{type_name(value)}]")


# --------------------------------------------------------------------------- multi-values


def values_of(value: object) -> list:
    """The single values in a value: ``[]`` for null."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def collapse(values: list) -> object:
    """The value holding ``values``: null when empty, the element when single."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return values


def to_output(value: object) -> object:
    """A value as Elasticsearch's JSON response carries it."""
    if isinstance(value, list):
        return [to_output(v) for v in value]
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, IP):
        return str(value)
    if isinstance(value, Span):
        return str(value)
    return value


def group_key(value: object) -> tuple:
    """A hashable identity for grouping and distinct counting (1, 1.0 and True stay apart)."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, (int, float)):
        return ("n", value)
    if isinstance(value, IP):
        return ("i", ip_key(value))
    if isinstance(value, datetime):
        return ("d", value)
    if value is None:
        return ("z",)
    return (type(value).__name__, value)


def order_key(value: object) -> tuple:
    """A sort key that never raises across types: same-typed values order naturally."""
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, IP):
        return (4, ip_key(value))
    if isinstance(value, Span):
        return (5, (value.years, value.months, value.days, value.millis))
    return (6, repr(value))
