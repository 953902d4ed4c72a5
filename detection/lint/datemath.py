"""Elasticsearch date math relative to ``now`` (``now-6m``, ``now-1d/d``) and rule intervals (``5m``).

Only what rule scheduling uses: an anchor ``now`` followed by ``+N<unit>``, ``-N<unit>`` and
``/<unit>`` rounding steps. Units: y M w d h H m s (``M`` is months, ``m`` minutes).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Approximate lengths: months and years vary, which does not matter for comparing windows.
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "H": 3600, "d": 86400, "w": 7 * 86400, "M": 30 * 86400,
                "y": 365 * 86400}
_STEP = re.compile(r"([+-])(\d+)([yMwdhHms])|/([yMwdhHms])")
_INTERVAL = re.compile(r"^([1-9][0-9]*)([smhd])$")


@dataclass(frozen=True)
class DateMath:
    offset_seconds: int  # sum of the +/- steps (negative = in the past)
    rounded: bool  # has a /unit step, so the window moves in steps


def parse_date_math(text: str) -> DateMath | None:
    """``now``-relative date math, or None if ``text`` is not that."""
    text = text.strip()
    if not text.startswith("now"):
        return None
    rest, offset, rounded, pos = text[3:], 0, False, 0
    while pos < len(rest):
        match = _STEP.match(rest, pos)
        if not match:
            return None
        if match.group(4):
            rounded = True
        else:
            amount = int(match.group(2)) * UNIT_SECONDS[match.group(3)]
            offset += amount if match.group(1) == "+" else -amount
        pos = match.end()
    return DateMath(offset, rounded)


def parse_interval(text: str) -> int | None:
    """Seconds of a rule interval such as ``5m``, or None if it is not one."""
    match = _INTERVAL.match(text.strip())
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)] if match else None


def describe(seconds: int) -> str:
    """Seconds as the largest whole unit: 360 -> "6m", 90 -> "90s"."""
    for unit in ("d", "h", "m"):
        size = UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
