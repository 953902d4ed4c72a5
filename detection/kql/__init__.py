"""KQL (Kibana Query Language) as the Elastic Security detection engine runs it.

``parse`` follows Kibana's grammar, ``compile`` turns a query into a fast predicate over event
dicts with Elasticsearch's per-field-type matching, ``explain`` says which clause matched and why.
"""

from __future__ import annotations

from detection.kql.ast import (
    And,
    Exists,
    FieldValue,
    FreeText,
    Is,
    Literal,
    MatchAll,
    Nested,
    Node,
    Not,
    Or,
    Range,
    Wildcard,
    render,
    walk,
)
from detection.kql.compile import compile_query as compile  # noqa: A001 - the public name
from detection.kql.errors import KqlError
from detection.kql.explain import Explanation, LeafClause, explain, leaf_clauses
from detection.kql.parser import parse

__all__ = [
    "And",
    "Exists",
    "Explanation",
    "FieldValue",
    "FreeText",
    "Is",
    "KqlError",
    "LeafClause",
    "Literal",
    "MatchAll",
    "Nested",
    "Node",
    "Not",
    "Or",
    "Range",
    "Wildcard",
    "compile",
    "explain",
    "field_names",
    "leaf_clauses",
    "parse",
    "render",
    "walk",
]


def _as_node(query: str | Node) -> Node:
    return parse(query) if isinstance(query, str) else query


def field_names(query: str | Node) -> list[str]:
    """Absolute dotted field names a query reads (nested scopes resolved), sorted and unique.

    Wildcard field names are returned as patterns (``event.*``); free text reads no named field.
    """
    names: set[str] = set()

    def visit(node: Node, prefix: str) -> None:
        if isinstance(node, Nested):
            path = prefix + node.path.text
            names.add(path)
            visit(node.query, path + ".")
            return
        if isinstance(node, (Is, Range, Exists)):
            names.add(prefix + node.field.text)
        for child in node.children():
            visit(child, prefix)

    visit(_as_node(query), "")
    return sorted(names)
