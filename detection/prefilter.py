"""Skip NDJSON lines no selected rule can match, before decoding them.

A rule whose events must have, say, ``event.action`` equal to ``AssumeRole`` can only match a
line whose decoded JSON holds the string ``AssumeRole``. A JSON string is written either as its
plain UTF-8 bytes between quotes or with escapes (``\\u0052``, ``\\"``, ``\\/``...), and every
escape starts with a backslash. So a line that has no backslash and does not contain
``"AssumeRole"`` cannot match; a line with a backslash anywhere is always decoded. Values that a
JSON number or boolean could also produce (``"123"``, ``"true"``) are never used, nor are terms
an event meets through a ``constant_keyword`` mapping without writing the value at all.

The filter is sound only across the whole selection: a line is skipped only when *no* rule can
match it, so one rule without a usable literal turns it off.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from detection.kql.requirements import RequiredTerms, Term
from detection.rule_index import term_rank

# Up to this many needles, searching the whole chunk for each one (at memchr speed) is cheaper
# than looking at every line; beyond it, lines are checked one by one (see benchmarks/README.md).
MAX_SCAN_NEEDLES = 10
_BACKSLASH = b"\\"
_QUOTE = b'"'
_NEWLINE = b"\n"

OFF, SCAN, SPLIT = "off", "scan", "split"


def literal_safe(value: str) -> bool:
    """Whether a keyword value can only come from a JSON string (not a number or boolean)."""
    if not value or value in ("true", "false"):
        return False
    try:
        float(value)  # "1", "1.5", "1e+16", "inf", "nan": a number would print the same
    except ValueError:
        return True
    return False


def literal_term(requirements: RequiredTerms) -> Term | None:
    """The term whose values must be written in a matching line, by field preference (rarest first)."""
    usable = [t for t in requirements.terms
              if not t.met_by_absence and all(literal_safe(v) for v in t.values)]
    if not usable:
        return None
    return min(usable, key=term_rank)


@dataclass(frozen=True)
class Prefilter:
    """The strings one of which a line must hold (as a whole JSON string) to be worth decoding.

    ``strings`` None means every line is decoded.
    """

    strings: frozenset[bytes] | None = None

    @property
    def mode(self) -> str:
        if self.strings is None:
            return OFF
        return SCAN if len(self.strings) <= MAX_SCAN_NEEDLES else SPLIT

    def may_match(self, line: bytes) -> bool:
        """False only when no selected rule can match this line."""
        if self.strings is None or _BACKSLASH in line:
            return True
        # Without backslashes, quotes alternate open/close: the odd pieces are the strings.
        return not self.strings.isdisjoint(line.split(_QUOTE)[1::2])

    def lines(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        """(0-based line number within the chunk, line) for every line that may match."""
        mode = self.mode
        if mode == SCAN:
            yield from self._scan(chunk)
            return
        strings = self.strings
        if strings is None:
            for number, line in enumerate(chunk.split(_NEWLINE)):
                if line:
                    yield number, line
            return
        for number, line in enumerate(chunk.split(_NEWLINE)):
            # may_match, inlined: this loop runs once per line of input
            if line and (_BACKSLASH in line or not strings.isdisjoint(line.split(_QUOTE)[1::2])):
                yield number, line

    def _scan(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        assert self.strings is not None
        starts: set[int] = set()
        needles = [_QUOTE + s + _QUOTE for s in self.strings] + [_BACKSLASH]
        for needle in needles:
            found = chunk.find(needle)
            while found != -1:
                start = chunk.rfind(_NEWLINE, 0, found) + 1
                end = chunk.find(_NEWLINE, found)
                starts.add(start)
                if end == -1:
                    break
                found = chunk.find(needle, end)
        number, previous = 0, 0
        for start in sorted(starts):
            number += chunk.count(_NEWLINE, previous, start)
            previous = start
            end = chunk.find(_NEWLINE, start)
            yield number, chunk[start:] if end == -1 else chunk[start:end]


def build_prefilter(requirements: Iterable[RequiredTerms]) -> Prefilter:
    """The prefilter for a selection of rules (one RequiredTerms per rule)."""
    strings: set[bytes] = set()
    for required in requirements:
        term = literal_term(required)
        if term is None:
            return Prefilter(None)  # this rule may match any line
        strings.update(v.encode("utf-8") for v in term.values)
    return Prefilter(frozenset(strings))


def count_lines(chunk: bytes) -> int:
    """Lines in a chunk, a last line without a newline included."""
    return chunk.count(_NEWLINE) + (1 if chunk and not chunk.endswith(_NEWLINE) else 0)
