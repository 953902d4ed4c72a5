"""Facts about a parsed KQL query that several checks share: leaf clauses with their absolute
field names, and the escape sequences written in the raw text.

A parsed Lucene query is KQL's tree plus two nodes (``BoolQuery`` for MUST/SHOULD/MUST_NOT
clauses and ``Pattern`` for regular expressions and ``?`` wildcards), so its leaves come from the
same walk."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SPACE = " \t\r\n\u00a0"


@dataclass(frozen=True)
class Leaf:
    """A clause that names a field: ``Is``, ``Range``, ``Exists`` or (Lucene) ``Pattern``."""

    node: Any
    field: str  # absolute dotted name (nested scopes resolved); may contain '*'
    negated: bool  # under an odd number of ``not``


def leaves(tree: Any) -> Iterator[Leaf]:
    from detection.kql import ast
    from detection.lucene.ast import MUST_NOT, BoolQuery, Pattern

    def visit(node: Any, prefix: str, negated: bool) -> Iterator[Leaf]:
        if isinstance(node, ast.Nested):
            yield from visit(node.query, prefix + node.path.text + ".", negated)
            return
        if isinstance(node, ast.Not):
            yield from visit(node.item, prefix, not negated)
            return
        if isinstance(node, BoolQuery):
            for clause in node.clauses:
                yield from visit(clause.query, prefix, negated ^ (clause.occur == MUST_NOT))
            return
        if isinstance(node, (ast.Is, ast.Range, ast.Exists)) or (isinstance(node, Pattern) and node.field is not None):
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


def field_offset(text: str, node: Any) -> int:
    """Offset of a leaf's field name in the query text.

    Lucene's ``field:(a OR b)`` gives the leaves inside the group no field span: look back from
    the value for the field followed by ``:(``, else point at the value.
    """
    span = node.field.span
    if span:
        return span[0]
    start = node.span[0]
    name = re.escape(node.field.text)
    found = [m.start() for m in re.finditer(name + r"\s*:\s*\(", text[:start])]
    return found[-1] if found else start


def pattern_offset(text: str, node: Any) -> int:
    """Offset of a Lucene ``Pattern``'s value (after ``field:``); its span starts at the field."""
    span = node.field.span if node.field is not None else None
    if not span:
        return node.span[0]
    at = span[1]
    while at < len(text) and text[at] in SPACE + ":":
        at += 1
    return at


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
