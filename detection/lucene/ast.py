"""The parsed form of a query_string query.

Leaf clauses are the KQL package's nodes (:class:`Is`, :class:`Range`, :class:`Exists`,
:class:`FreeText`, :class:`MatchAll`), because a Lucene ``field:value`` means what a KQL
``field:value`` means for every field type; evaluating them goes through the same per-type
matchers. Two things have no KQL counterpart: the boolean query with its MUST / SHOULD /
MUST_NOT clauses (:class:`BoolQuery`) and patterns KQL cannot write - regular expressions and
``?`` wildcards (:class:`Pattern`). Spans are offsets into the Lucene text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detection.kql.ast import And, MatchAll, Node, Not, Or, Span, Value

MUST, SHOULD, MUST_NOT = "must", "should", "must_not"


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Clause:
    occur: str  # MUST, SHOULD or MUST_NOT
    query: Node


@dataclass(frozen=True)
class BoolQuery(Node):
    """Lucene's BooleanQuery: every MUST matches, no MUST_NOT matches, and - only when there is
    no MUST clause - at least one SHOULD matches. A query of MUST_NOT clauses alone matches
    every document the clauses do not (Elasticsearch adds a match-all to pure negations)."""

    clauses: tuple[Clause, ...]
    span: Span | None = _span()

    def children(self) -> tuple[Node, ...]:
        return tuple(c.query for c in self.clauses)

    def render(self) -> str:
        marks = {MUST: "+", SHOULD: "", MUST_NOT: "-"}
        return " ".join(marks[c.occur] + _wrap(c.query) for c in self.clauses)


@dataclass(frozen=True)
class Pattern(Node):
    """``field:/regex/`` or a term with a ``?`` wildcard: a regular expression over whole
    keyword values or single text tokens. ``regex`` is the Python translation (matched in full);
    ``source`` is the text as written. ``field`` is None for the default field (every field)."""

    field: Value | None
    regex: str
    source: str
    kind: str  # "regexp" or "wildcard"
    span: Span | None = _span()

    def render(self) -> str:
        value = f"/{self.source}/" if self.kind == "regexp" else self.source
        return value if self.field is None else f"{self.field.render()}:{value}"


def _wrap(node: Node) -> str:
    text = node.render()
    return f"({text})" if isinstance(node, (BoolQuery, And, Or)) else text


def to_kql(node: Node) -> Node:
    """The same query as KQL's and/or/not tree (Pattern leaves stay as they are).

    MUST clauses become ``and``; SHOULD clauses become ``or`` and count only when there is no
    MUST clause (with one, they only change the score); MUST_NOT clauses become ``not``.
    """
    if not isinstance(node, BoolQuery):
        return node
    must = [to_kql(c.query) for c in node.clauses if c.occur == MUST]
    should = [to_kql(c.query) for c in node.clauses if c.occur == SHOULD]
    must_not = [to_kql(c.query) for c in node.clauses if c.occur == MUST_NOT]
    items: list[Node] = list(must)
    if not must and should:
        items.append(should[0] if len(should) == 1 else Or(tuple(should), span=node.span))
    items.extend(Not(n, span=n.span) for n in must_not)
    if not items:
        return MatchAll(span=node.span)
    if len(items) == 1:
        return items[0]
    return And(tuple(items), span=node.span)
