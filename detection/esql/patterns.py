"""String patterns: LIKE wildcards, RLIKE (Lucene regular expressions) and Java regexes.

Each translator yields a Python ``re`` pattern with the same meaning; a pattern Elasticsearch
would reject raises :class:`PatternProblem` with the offset of the bad character.
"""

from __future__ import annotations

import re
from functools import lru_cache


class PatternProblem(ValueError):
    def __init__(self, message: str, offset: int = 0, unsupported: bool = False):
        super().__init__(message)
        self.offset = offset
        self.unsupported = unsupported


@lru_cache(maxsize=1024)
def like_regex(pattern: str) -> re.Pattern[str]:
    """LIKE: ``*`` any run of characters, ``?`` one character, ``\\`` escapes ``* ? \\``."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1 : i + 2]
            if nxt not in ("*", "?", "\\"):
                raise PatternProblem(
                    "invalid escape in LIKE pattern: a backslash must be followed by *, ? or \\", i
                )
            out.append(re.escape(nxt))
            i += 2
            continue
        out.append(".*" if c == "*" else "." if c == "?" else re.escape(c))
        i += 1
    return re.compile("".join(out), re.DOTALL)


_SHORTHAND = {"d": r"\d", "D": r"\D", "s": r"\s", "S": r"\S", "w": r"\w", "W": r"\W"}


@lru_cache(maxsize=1024)
def rlike_regex(pattern: str) -> re.Pattern[str]:
    """RLIKE: Lucene ``RegExp`` syntax with all optional operators, matched against the whole value.

    ``@`` is any string and ``#`` the empty language; ``~`` is a literal (Lucene 10 dropped the
    complement); ``^`` and ``$`` are literals. Intersection ``&`` and ``<n-m>`` intervals are refused.
    """
    translator = _LuceneRegex(pattern)
    text = translator.alternation()
    if translator.i != len(pattern):
        raise PatternProblem(f"unexpected '{pattern[translator.i]}' in RLIKE pattern", translator.i)
    try:
        return re.compile(text, re.DOTALL)
    except re.error as exc:  # pragma: no cover - the translator emits valid Python regexes
        raise PatternProblem(f"invalid RLIKE pattern: {exc}", 0) from exc


class _LuceneRegex:
    def __init__(self, pattern: str):
        self.p = pattern
        self.i = 0

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def alternation(self) -> str:
        branches = [self.concatenation()]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.concatenation())
        return "|".join(branches) if len(branches) > 1 else branches[0]

    def concatenation(self) -> str:
        parts = []
        while self.i < len(self.p) and self.peek() not in "|)":
            parts.append(self.repeated())
        return "".join(parts)

    def repeated(self) -> str:
        atom = self.atom()
        while True:
            c = self.peek()
            if c in ("*", "+", "?"):
                self.i += 1
                atom = f"(?:{atom}){c}"
            elif c == "{":
                m = re.compile(r"\{(\d+)(,(\d*))?\}").match(self.p, self.i)
                if not m:
                    raise PatternProblem("invalid {n,m} repetition in RLIKE pattern", self.i)
                self.i = m.end()
                atom = f"(?:{atom}){m.group()}"
            else:
                return atom

    def atom(self) -> str:
        start, c = self.i, self.peek()
        self.i += 1
        if c == "(":
            inner = self.alternation() if self.peek() != ")" else ""
            if self.peek() != ")":
                raise PatternProblem("unclosed group in RLIKE pattern", start)
            self.i += 1
            return f"(?:{inner})"
        if c == "[":
            return self.char_class(start)
        if c == ".":
            return "."
        if c == "@":
            return ".*"
        if c == "#":
            return "(?!)"
        if c == "&":
            raise PatternProblem(
                "the RLIKE intersection operator & is not supported", start, unsupported=True
            )
        if c == "<":
            raise PatternProblem("RLIKE numeric intervals <n-m> are not supported", start, unsupported=True)
        if c == '"':
            end = self.p.find('"', self.i)
            if end < 0:
                raise PatternProblem('unclosed "quoted" literal in RLIKE pattern', start)
            literal = self.p[self.i : end]
            self.i = end + 1
            return re.escape(literal)
        if c == "\\":
            if self.i >= len(self.p):
                raise PatternProblem("RLIKE pattern ends with a lone backslash", start)
            nxt = self.p[self.i]
            self.i += 1
            return _SHORTHAND.get(nxt) or re.escape(nxt)
        if c in ("*", "+", "?", "{"):
            raise PatternProblem(f"'{c}' has nothing to repeat in RLIKE pattern", start)
        return re.escape(c)

    def char_class(self, start: int) -> str:
        out = ["["]
        if self.peek() == "^":
            out.append("^")
            self.i += 1
        first = True
        while True:
            if self.i >= len(self.p):
                raise PatternProblem("unclosed character class in RLIKE pattern", start)
            c = self.p[self.i]
            if c == "]" and not first:
                self.i += 1
                break
            first = False
            if c == "\\" and self.i + 1 < len(self.p):
                nxt = self.p[self.i + 1]
                out.append(_SHORTHAND.get(nxt) or re.escape(nxt))
                self.i += 2
            elif c == "-" and out[-1] not in ("[", "^") and self.p[self.i + 1 : self.i + 2] not in ("]", ""):
                out.append("-")
                self.i += 1
            else:
                out.append("\\" + c if c in "[]\\^-" else c)
                self.i += 1
        if len(out) == 1 or out == ["[", "^"]:
            raise PatternProblem("empty character class in RLIKE pattern", start)
        return "".join(out) + "]"


@lru_cache(maxsize=256)
def java_regex(pattern: str) -> re.Pattern[str]:
    """A java.util.regex pattern (REPLACE) as a Python pattern: named groups need ``?P``."""
    translated = re.sub(r"\(\?<(?![=!])", "(?P<", pattern)
    try:
        return re.compile(translated)
    except re.error as exc:
        raise PatternProblem(f"invalid regular expression [{pattern}]: {exc}") from exc


def java_replacement(template: str):
    """A java.util.regex replacement (``$1``, ``${name}``, ``\\$``) as a function of a match."""
    parts: list[object] = []
    i, literal = 0, []
    while i < len(template):
        c = template[i]
        if c == "\\" and i + 1 < len(template):
            literal.append(template[i + 1])
            i += 2
        elif c == "$":
            m = re.compile(r"\$(?:\{([A-Za-z][A-Za-z0-9]*)\}|(\d+))").match(template, i)
            if not m:
                raise PatternProblem("illegal group reference in replacement")
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(("group", m.group(1) if m.group(1) else int(m.group(2))))
            i = m.end()
        else:
            literal.append(c)
            i += 1
    if literal:
        parts.append("".join(literal))

    def expand(match: re.Match[str]) -> str:
        out = []
        for part in parts:
            if isinstance(part, tuple):
                ref = part[1]
                if isinstance(ref, int) and ref > match.re.groups:
                    raise PatternProblem(f"no group {ref}")
                if isinstance(ref, str) and ref not in match.re.groupindex:
                    raise PatternProblem(f"no group named {ref}")
                out.append(match.group(ref) or "")
            else:
                out.append(str(part))
        return "".join(out)

    return expand
