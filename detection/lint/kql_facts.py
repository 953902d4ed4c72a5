"""Facts about a parsed KQL query that several checks share: leaf clauses with their absolute
field names, and the escape sequences written in the raw text."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SPACE = " \t\r\n\u00a0"


@dataclass(frozen=True)
class Leaf:
    """A clause that names a field: ``Is``, ``Range`` or ``Exists``."""

    node: Any
    field: str  # absolute dotted name (nested scopes resolved); may contain '*'
    negated: bool  # under an odd number of ``not``


def leaves(tree: Any) -> Iterator[Leaf]:
    from detection.kql import ast

    def visit(node: Any, prefix: str, negated: bool) -> Iterator[Leaf]:
        if isinstance(node, ast.Nested):
            yield from visit(node.query, prefix + node.path.text + ".", negated)
            return
        if isinstance(node, ast.Not):
            yield from visit(node.item, prefix, not negated)
            return
        if isinstance(node, (ast.Is, ast.Range, ast.Exists)):
            yield Leaf(node, prefix + node.field.text, negated)
            return
        for child in node.children():
            yield from visit(child, prefix, negated)

    yield from visit(tree, "", False)


def nested_paths(tree: Any) -> Iterator[tuple[Any, str]]:
    """Every ``path:{...}`` node with its absolute path."""
    from detection.kql import ast

    def visit(node: Any, prefix: str) -> Iterator[tuple[Any, str]]:
        if isinstance(node, ast.Nested):
            path = prefix + node.path.text
            yield node, path
            yield from visit(node.query, path + ".")
            return
        for child in node.children():
            yield from visit(child, prefix)

    yield from visit(tree, "")


def value_span(node: Any) -> tuple[int, int] | None:
    """Span of a leaf's value, else of the clause."""
    value = getattr(node, "value", None)
    span = getattr(value, "span", None)
    return span or getattr(node, "span", None)


@dataclass(frozen=True)
class Escape:
    offset: int  # of the backslash
    letter: str  # the escaped character: t, r or n
    quoted: bool
    keyword_not: bool  # unquoted "\not" followed by a word boundary: meant as an escaped keyword


def control_escapes(text: str) -> Iterator[Escape]:
    r"""Every ``\t``, ``\r`` or ``\n`` escape in the raw query (quoted or not).

    KQL turns these into TAB, CR and LF in both quoted and unquoted values, before anything else,
    so ``"C:\temp"`` holds a TAB and ``\not`` a newline followed by "ot".
    """
    quoted = False
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n:
            letter = text[i + 1]
            if letter in "trn":
                after = text[i + 4:i + 5]
                keyword = (not quoted and text[i + 1:i + 4] == "not"
                           and (after == "" or after in SPACE or after in "()"))
                yield Escape(i, letter, quoted, keyword)
            i += 2
            continue
        if ch == '"':
            quoted = not quoted
        i += 1
