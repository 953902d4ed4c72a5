"""Elasticsearch date parsing for ``strict_date_optional_time||epoch_millis`` with date math.

Everything is an integer count of nanoseconds since the epoch, UTC (the detection engine sends
``time_zone: Zulu``). Partial dates round by operator the way Elasticsearch does: ``round_up``
fills missing parts with their largest value (``2010-03-06`` -> 23:59:59.999999999).
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

NS = 1_000_000_000
MS = 1_000_000

_ISO = re.compile(
    r"(?P<y>\d{4})(?:-(?P<M>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<h>\d{2})(?::(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"(?P<tz>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?\Z"
)
_EPOCH = re.compile(r"-?\d+(?:\.\d+)?\Z")
_MATH_OP = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")


class DateError(ValueError):
    pass


def _days_in_month(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def parse_date(text: str, round_up: bool = False) -> int:
    """Parse an ISO date/time (any prefix) or epoch millis; return UTC nanoseconds."""
    text = text.strip()
    m = _ISO.match(text)
    if m:
        return _from_iso(m, round_up)
    if _EPOCH.match(text):
        whole, _, frac = text.partition(".")
        ns = int(whole) * MS
        if frac:
            sign = -1 if whole.startswith("-") else 1
            ns += sign * int((frac + "000000")[:6])
        return ns
    raise DateError(f"failed to parse date [{text}] with format [strict_date_optional_time||epoch_millis]")


def _from_iso(m: re.Match, round_up: bool) -> int:
    g = m.groupdict()
    year = int(g["y"])
    month = int(g["M"]) if g["M"] else (12 if round_up else 1)
    if not 1 <= month <= 12:
        raise DateError(f"invalid month in [{m.string}]")
    last_day = _days_in_month(year, month)
    day = int(g["d"]) if g["d"] else (last_day if round_up else 1)
    hour = int(g["h"]) if g["h"] else (23 if round_up else 0)
    minute = int(g["m"]) if g["m"] else (59 if round_up else 0)
    second = int(g["s"]) if g["s"] else (59 if round_up else 0)
    if not (1 <= day <= last_day and hour <= 23 and minute <= 59 and second <= 59):
        raise DateError(f"invalid date or time in [{m.string}]")
    if g["f"]:
        digits = g["f"]
        nanos = int(digits.ljust(9, "0"))
        if round_up:
            nanos += 10 ** (9 - len(digits)) - 1
    else:
        nanos = NS - 1 if round_up else 0
    offset = 0
    tz = g["tz"]
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + (int(digits[2:4]) if len(digits) > 2 else 0) * 60)
    seconds = calendar.timegm((year, month, day, hour, minute, second)) - offset
    return seconds * NS + nanos


def _to_datetime(ns: int) -> tuple[datetime, int]:
    seconds, rest = divmod(ns, NS)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds), rest


def _from_datetime(dt: datetime, rest: int) -> int:
    delta = dt - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * NS + rest


def _add(ns: int, amount: int, unit: str) -> int:
    if unit in "yM":
        dt, rest = _to_datetime(ns)
        months = dt.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = dt.year + months // 12, months % 12 + 1
        day = min(dt.day, _days_in_month(year, month))  # Java's plusMonths clamps the day
        return _from_datetime(dt.replace(year=year, month=month, day=day), rest)
    seconds = {"w": 604800, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return ns + amount * seconds * NS


def _round(ns: int, unit: str, round_up: bool) -> int:
    dt, _ = _to_datetime(ns)
    if unit == "y":
        start = dt.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + 1)
    elif unit == "M":
        start = dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        nxt = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    elif unit == "w":
        start = (dt - timedelta(days=dt.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        nxt = start + timedelta(weeks=1)
    else:
        keep = {"d": 3, "h": 4, "H": 4, "m": 5, "s": 6}[unit]
        fields = [dt.year, dt.month, dt.day, dt.hour, dt.minute, dt.second][:keep]
        fields += [0] * (6 - keep)
        start = datetime(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], tzinfo=UTC)
        nxt = start + timedelta(**{"d": {"days": 1}, "h": {"hours": 1}, "H": {"hours": 1}, "m": {"minutes": 1}, "s": {"seconds": 1}}[unit])
    start_ns = _from_datetime(start, 0)
    return _from_datetime(nxt, 0) - 1 if round_up else start_ns


def parse_date_math(text: str, now: datetime, round_up: bool = False) -> int:
    """``now-1d/d``, ``2022-02-17||+1M/d`` or a plain date, resolved against ``now``."""
    text = text.strip()
    if text.startswith("now"):
        aware = now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
        base = _from_datetime(aware, aware.microsecond * 1000)
        ops = text[3:]
    elif "||" in text:
        anchor, ops = text.split("||", 1)
        base = parse_date(anchor, round_up=False)
    else:
        return parse_date(text, round_up)
    pos = 0
    value = base
    while pos < len(ops):
        m = _MATH_OP.match(ops, pos)
        if not m:
            raise DateError(f"invalid date math [{text}]: cannot read [{ops[pos:]}]")
        if m.group(4):
            value = _round(value, m.group(4), round_up)
        else:
            amount = int(m.group(2)) * (1 if m.group(1) == "+" else -1)
            value = _add(value, amount, m.group(3))
        pos = m.end()
    return value


def doc_date(value: object) -> int | None:
    """A document's date value in UTC nanoseconds (strings, epoch millis numbers); None if unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value * MS
    if isinstance(value, float):
        return int(round(value * MS))
    if isinstance(value, str):
        try:
            return parse_date(value)
        except DateError:
            return None
    return None
