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

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from detection.kql.requirements import RequiredTerms, Term
from detection.rule_index import term_rank

# Up to this many needles, one bytes.find pass per needle beats the trie expression
# (about 0.2 us against 0.9 us per 600-byte line; see benchmarks/README.md).
MAX_SCAN_NEEDLES = 4
_BACKSLASH = b"\\"
_QUOTE = b'"'
_NEWLINE = b"\n"

OFF, SCAN, TRIE = "off", "scan", "trie"


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


def _needle_safe(value: bytes) -> bool:
    """A value JSON can write without escapes; any other one makes its line hold a backslash."""
    return not any(b < 0x20 or b in b'"\\' for b in value)


def _trie_pattern(words: Iterable[bytes]) -> bytes:
    """A regular expression matching exactly ``words``, as a trie: each position tries a handful
    of next bytes instead of every word (Python's ``re`` has no multi-string search)."""
    trie: dict = {}
    for word in words:
        node = trie
        for byte in word:
            node = node.setdefault(byte, {})
        node[None] = {}  # a word ends here

    def emit(node: dict) -> bytes:
        branches = [re.escape(bytes([b])) + emit(node[b]) for b in sorted(k for k in node if k is not None)]
        if not branches:
            return b""
        body = branches[0] if len(branches) == 1 and None not in node else b"(?:" + b"|".join(branches) + b")"
        return body + (b"?" if None in node else b"")

    return emit(trie)


@dataclass(frozen=True)
class Prefilter:
    """The strings one of which a line must hold (as a whole JSON string) to be worth decoding.

    ``strings`` None means every line is decoded. Lines are found by searching the whole chunk,
    never line by line: for a few strings each is looked for with ``bytes.find``; for more, one
    regular expression (a trie of all of them) runs over the chunk. Lines with a backslash are
    found the same way and always kept.
    """

    strings: frozenset[bytes] | None = None
    _needles: tuple[bytes, ...] = field(default=(), init=False, repr=False, compare=False)
    _regex: re.Pattern[bytes] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.strings is None:
            return
        needles = tuple(sorted(_QUOTE + s + _QUOTE for s in self.strings if _needle_safe(s)))
        object.__setattr__(self, "_needles", needles)
        if len(needles) > MAX_SCAN_NEEDLES:
            words = [n[1:-1] for n in needles]
            first = b"".join(re.escape(bytes([b])) for b in sorted({w[0] for w in words if w}))
            # The lookahead rejects most quotes with one character-class test before the trie.
            pattern = b'"(?=[' + first + b"])" + _trie_pattern(words) + b'"'
            object.__setattr__(self, "_regex", re.compile(pattern))

    @property
    def mode(self) -> str:
        if self.strings is None:
            return OFF
        return SCAN if self._regex is None else TRIE

    def may_match(self, line: bytes) -> bool:
        """False only when no selected rule can match this line."""
        if self.strings is None or _BACKSLASH in line:
            return True
        if self._regex is not None:
            return self._regex.search(line) is not None
        return any(n in line for n in self._needles)

    def lines(self, chunk: bytes) -> Iterator[tuple[int, bytes]]:
        """(0-based line number within the chunk, line) for every line that may match."""
        if self.strings is None:
            for number, line in enumerate(chunk.split(_NEWLINE)):
                if line:
                    yield number, line
            return
        starts = self._starts(chunk)
        number, previous = 0, 0
        for start in sorted(starts):
            number += chunk.count(_NEWLINE, previous, start)
            previous = start
            end = chunk.find(_NEWLINE, start)
            yield number, chunk[start:] if end == -1 else chunk[start:end]

    def _starts(self, chunk: bytes) -> set[int]:
        """Offsets of the lines holding a needle or a backslash."""
        starts: set[int] = set()
        for needle in (*self._needles, _BACKSLASH) if self._regex is None else (_BACKSLASH,):
            found = chunk.find(needle)
            while found != -1:
                starts.add(chunk.rfind(_NEWLINE, 0, found) + 1)
                end = chunk.find(_NEWLINE, found)
                if end == -1:
                    break
                found = chunk.find(needle, end)
        if self._regex is not None:
            search = self._regex.search
            found_match = search(chunk)
            while found_match is not None:
                at = found_match.start()
                starts.add(chunk.rfind(_NEWLINE, 0, at) + 1)
                end = chunk.find(_NEWLINE, at)
                if end == -1:
                    break
                found_match = search(chunk, end)  # one hit per line is enough
        return starts


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
