"""Glob helpers for field names and index patterns (only ``*`` is a wildcard in both)."""

from __future__ import annotations

import re
from functools import cache, lru_cache


@lru_cache(maxsize=1024)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """``*`` matches any run of characters, dots included, as in Kibana's field wildcards."""
    return re.compile("".join(".*" if ch == "*" else re.escape(ch) for ch in pattern) + r"\Z", re.DOTALL)


def glob_match(pattern: str, text: str) -> bool:
    return glob_regex(pattern).match(text) is not None


@lru_cache(maxsize=4096)
def globs_intersect(a: str, b: str) -> bool:
    """True when some index name matches both patterns (``logs-aws*`` and ``logs-*-default``)."""

    @cache
    def step(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            # The star matches nothing more, or swallows one more character of b.
            return step(i + 1, j) or (j < len(b) and step(i, j + 1))
        if j < len(b) and b[j] == "*":
            return step(i, j + 1) or (i < len(a) and step(i + 1, j))
        return i < len(a) and j < len(b) and a[i] == b[j] and step(i + 1, j + 1)

    return step(0, 0)


def index_pattern_body(pattern: str) -> str | None:
    """Strip a cross-cluster prefix (``remote:logs-*``); exclusions (``-logs-x``) give None."""
    pattern = pattern.strip()
    if not pattern or pattern.startswith("-"):
        return None
    return pattern.rsplit(":", 1)[-1]
