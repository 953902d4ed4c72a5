"""Wildcard (``:``, ``like``) and regular-expression (``regex``) patterns as string tests.

Wildcards: ``*`` matches any run of characters and ``?`` exactly one; every other
character, backslash included, is literal (EQL syntax reference, "Wildcards") - so
``"C:\\\\Windows\\\\*"`` means "anything under C:\\Windows\\".

Regular expressions use Lucene's syntax (Elasticsearch "Regular expression syntax"):
the pattern must match the whole string, ``"..."`` quotes a literal run, ``@`` is any
string and ``#`` the empty language. Lucene's ``&`` (intersection), ``~`` (complement)
and ``<n-m>`` (numeric interval) operators have no Python equivalent and are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable

StrTest = Callable[[str], bool]


def wildcard_test(pattern: str, insensitive: bool) -> StrTest:
    """A predicate on strings for one wildcard pattern, with fast paths for common shapes."""
    pat = pattern.lower() if insensitive else pattern
    norm: Callable[[str], str] = str.lower if insensitive else (lambda s: s)
    if "?" not in pat:
        stars = pat.count("*")
        if stars == 0:
            return lambda s: norm(s) == pat
        body = pat.strip("*")
        if "*" not in body:
            lead, trail = pat.startswith("*"), pat.endswith("*")
            if lead and trail:
                return lambda s: body in norm(s)
            if trail:
                return lambda s: norm(s).startswith(body)
            if lead:
                return lambda s: norm(s).endswith(body)
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    compiled = re.compile(regex, re.DOTALL | (re.IGNORECASE if insensitive else 0))
    return lambda s: compiled.fullmatch(s) is not None


class RegexError(ValueError):
    """A Lucene regular expression this engine cannot translate; ``offset`` is into the pattern."""

    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


def regex_test(pattern: str, insensitive: bool) -> StrTest:
    compiled = re.compile(lucene_to_python(pattern), re.DOTALL | (re.IGNORECASE if insensitive else 0))
    return lambda s: compiled.fullmatch(s) is not None


_CLASS_SPECIAL = set("\\]^-[&|~")


def _class_char(c: str) -> str:
    return "\\" + c if c in _CLASS_SPECIAL else c


def lucene_to_python(pattern: str) -> str:
    """Translate a Lucene regular expression to an equivalent Python one (for fullmatch)."""
    # Each group level holds alternatives; each alternative is a list of pieces (atoms
    # already carrying any quantifier), so a quantifier always applies to the last piece.
    stack: list[tuple[list[list[str]], int]] = []
    alts: list[list[str]] = [[]]
    i, n = 0, len(pattern)

    def quantify(q: str, at: int) -> None:
        pieces = alts[-1]
        if not pieces:
            raise RegexError(f"nothing to repeat before '{q}'", at)
        pieces[-1] = f"(?:{pieces[-1]}){q}"

    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise RegexError("pattern ends with a lone backslash", i)
            e = pattern[i + 1]
            alts[-1].append("\\" + e if e in "dDsSwW" else re.escape(e))
            i += 2
        elif c == '"':
            j = pattern.find('"', i + 1)
            if j < 0:
                raise RegexError('unterminated "..." literal in the pattern', i)
            alts[-1].append(f"(?:{re.escape(pattern[i + 1:j])})")
            i = j + 1
        elif c == ".":
            alts[-1].append(".")
            i += 1
        elif c == "@":
            alts[-1].append("(?:.*)")
            i += 1
        elif c == "#":
            alts[-1].append("(?!)")
            i += 1
        elif c in "*+?":
            quantify(c, i)
            i += 1
        elif c == "{":
            m = re.match(r"\{(\d+)(,(\d*))?\}", pattern[i:])
            if not m:
                raise RegexError("malformed {n,m} repetition", i)
            lo, hi = int(m.group(1)), m.group(3)
            if hi and int(hi) < lo:
                raise RegexError("repetition {n,m} with m smaller than n", i)
            quantify(m.group(0), i)
            i += len(m.group(0))
        elif c == "[":
            piece, i = _char_class(pattern, i)
            alts[-1].append(piece)
        elif c == "(":
            stack.append((alts, i))
            alts = [[]]
            i += 1
        elif c == ")":
            if not stack:
                raise RegexError("unbalanced ')'", i)
            inner = "|".join("".join(a) for a in alts)
            alts, _ = stack.pop()
            alts[-1].append(f"(?:{inner})")
            i += 1
        elif c == "|":
            alts.append([])
            i += 1
        elif c in "&~<":
            raise RegexError(f"the Lucene operator '{c}' is not supported by this engine", i)
        else:
            alts[-1].append(re.escape(c))
            i += 1
    if stack:
        raise RegexError("unbalanced '('", stack[-1][1])
    return "|".join("".join(a) for a in alts) if len(alts) > 1 else "".join(alts[0])


def _char_class(pattern: str, i: int) -> tuple[str, int]:
    start, n = i, len(pattern)
    i += 1
    out = ["["]
    if i < n and pattern[i] == "^":
        out.append("^")
        i += 1
    items = 0
    while i < n and pattern[i] != "]":
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                break
            c = pattern[i + 1]
            i += 2
        else:
            i += 1
        if i + 1 < n and pattern[i] == "-" and pattern[i + 1] != "]":
            hi = pattern[i + 1]
            j = i + 2
            if hi == "\\" and i + 2 < n:
                hi, j = pattern[i + 2], i + 3
            if hi < c:
                raise RegexError("character range is out of order", i)
            out.append(f"{_class_char(c)}-{_class_char(hi)}")
            i = j
        else:
            out.append(_class_char(c))
        items += 1
    if i >= n:
        raise RegexError("unterminated character class '['", start)
    if items == 0:
        raise RegexError("empty character class", start)
    out.append("]")
    return "".join(out), i + 1
