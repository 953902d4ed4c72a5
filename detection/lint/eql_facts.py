"""Facts about an EQL rule's query that the field and value checks share: the fields it reads and
the string constants it compares fields with, each with its character offset in the query."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from detection.lint.context import RuleContext, parsed_tree

QUERY_PATH = ("rule", "query")


@dataclass(frozen=True)
class EqlValue:
    """``field == "x"``, ``field : "x*"``, ``field in ("x", ...)`` and the like: one constant."""

    field: str
    text: str  # the constant as EQL reads it (escapes resolved)
    offset: int  # of the constant's opening quote in the query
    pattern: bool  # ':' or like: '*' and '?' are wildcards
    insensitive: bool  # ':', in~, like~: case does not matter
    negated: bool  # under an odd number of not / !=, not in

    def matches(self, candidate: str) -> bool:
        if self.pattern:
            return _wildcard(self.text, self.insensitive).fullmatch(candidate) is not None
        return candidate.casefold() == self.text.casefold() if self.insensitive else candidate == self.text

    @property
    def is_lone_wildcard(self) -> bool:
        return self.pattern and set(self.text) <= {"*"}


@functools.lru_cache(maxsize=256)
def _wildcard(text: str, insensitive: bool) -> re.Pattern[str]:
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in text)
    return re.compile(body, re.IGNORECASE | re.DOTALL if insensitive else re.DOTALL)


def eql_query(ctx: RuleContext) -> Any:
    """The rule's parsed EQL query, or None for other languages and queries that do not parse."""
    return parsed_tree(ctx, "eql")


def eql_fields(query: Any) -> Iterator[tuple[str, int]]:
    """(name, offset) of every field the query reads; ``?field`` is optional by design, so left out."""
    from detection.eql import ast as A

    for expr in A.query_expressions(query):
        for node in A.walk(expr):
            if isinstance(node, A.Field) and not node.optional:
                yield node.name, node.pos


def eql_values(query: Any) -> Iterator[EqlValue]:
    """Every string constant compared with a field, in source order."""
    from detection.eql import ast as A

    def visit(node: Any, negated: bool) -> Iterator[EqlValue]:
        if isinstance(node, A.Not):
            yield from visit(node.operand, not negated)
            return
        if isinstance(node, A.Compare) and node.op in ("==", "!="):
            pairs = ((node.left, node.right), (node.right, node.left))
            for field, constant in pairs:
                if isinstance(field, A.Field) and _is_string(constant):
                    yield EqlValue(field.name, constant.value, constant.pos, False, False, negated ^ (node.op == "!="))
            return
        if isinstance(node, A.InList) and isinstance(node.value, A.Field):
            for item in node.items:
                if _is_string(item):
                    yield EqlValue(node.value.name, item.value, item.pos, False, node.insensitive,
                                   negated ^ node.negated)
            return
        if isinstance(node, A.Pattern) and not node.is_regex and isinstance(node.value, A.Field):
            for item in node.patterns:
                if _is_string(item):
                    yield EqlValue(node.value.name, item.value, item.pos, True, node.insensitive, negated)
            return
        for child in node.children():
            yield from visit(child, negated)

    for expr in A.query_expressions(query):
        yield from visit(expr, False)


def _is_string(node: Any) -> bool:
    from detection.eql import ast as A

    return isinstance(node, A.Literal) and isinstance(node.value, str)
