"""``-k`` selection expressions, as pytest users know them: ``role and not saml``.

A word matches when it is a case-insensitive substring of any of an item's names; ``and``,
``or``, ``not`` and parentheses combine words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from detection.diagnostics import DetectionError, Diagnostic, Location

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")
Matcher = Callable[[Iterable[str]], bool]


def compile_keyword(expression: str) -> Matcher:
    """A function telling whether an item with the given names matches ``expression``."""
    tokens = [m.group(1) for m in _TOKEN.finditer(expression)]
    parser = _Parser(tokens, expression)
    tree = parser.parse_or()
    if parser.pos != len(tokens):
        parser.fail(f"unexpected {tokens[parser.pos]!r}")

    def matches(names: Iterable[str]) -> bool:
        haystack = [n.lower() for n in names]
        return tree(haystack)

    return matches


class _Parser:
    def __init__(self, tokens: list[str], text: str):
        self.tokens, self.text, self.pos = tokens, text, 0

    def fail(self, message: str) -> None:
        raise DetectionError([Diagnostic(Location("-k", 1, 1), "E201", f"bad -k expression {self.text!r}: {message}",
                                         hint="combine words with and, or, not and parentheses, e.g. -k 'role and not saml'")])

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def parse_or(self) -> Callable[[list[str]], bool]:
        parts = [self.parse_and()]
        while (self.peek() or "").lower() == "or":
            self.pos += 1
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else (lambda h: any(p(h) for p in parts))

    def parse_and(self) -> Callable[[list[str]], bool]:
        parts = [self.parse_not()]
        while (self.peek() or "").lower() == "and":
            self.pos += 1
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else (lambda h: all(p(h) for p in parts))

    def parse_not(self) -> Callable[[list[str]], bool]:
        token = self.peek()
        if token is None:
            self.fail("it ends too early")
        if token.lower() == "not":
            self.pos += 1
            inner = self.parse_not()
            return lambda h: not inner(h)
        if token == "(":
            self.pos += 1
            inner = self.parse_or()
            if self.peek() != ")":
                self.fail("a '(' is not closed")
            self.pos += 1
            return inner
        if token == ")" or token.lower() in ("and", "or"):
            self.fail(f"expected a word, found {token!r}")
        self.pos += 1
        word = token.lower()
        return lambda h: any(word in name for name in h)
