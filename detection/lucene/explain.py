"""Why a Lucene query did or did not match an event, as the KQL explanation tree.

The tree mirrors the query after MUST/SHOULD/MUST_NOT have been turned into and/or/not, so a
SHOULD clause next to a MUST one (which only scores) does not appear. Leaf clauses show their
text as written in the Lucene query, the fields they read and the event's values there.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from detection.fields import FieldSchema
from detection.kql.ast import And, Exists, FreeText, Is, MatchAll, Node, Not, Or, Range, Wildcard
from detection.kql.errors import KqlError
from detection.kql.explain import Explanation
from detection.lucene.ast import Pattern
from detection.lucene.compile import LuceneCompiler, as_lucene_error, build

_KINDS = {And: "and", Or: "or", Not: "not", Is: "is", Range: "range", Exists: "exists", FreeText: "free_text",
          MatchAll: "match_all", Pattern: "is"}


def explain(query: str | Node, event: Mapping, fields: FieldSchema | Mapping | None = None, *,
            now: datetime | None = None) -> Explanation:
    """Evaluate every clause of ``query`` on ``event``; raises LuceneError like compile()."""
    node, compiler = build(query, fields, now)
    try:
        compiler.closure(node)
    except KqlError as exc:
        raise as_lucene_error(exc) from None
    return _explain(node, compiler, event, "0")


def _explain(node: Node, compiler: LuceneCompiler, event: Mapping, node_id: str) -> Explanation:
    result = bool(compiler.closure(node)(event))
    out = Explanation(node_id, _KINDS[type(node)], _clause_text(node, compiler.query), result)
    kids = node.children()
    if kids:
        out.children = [_explain(child, compiler, event, f"{node_id}.{i}") for i, child in enumerate(kids)]
        return out
    field = getattr(node, "field", None)
    if field is not None and not isinstance(node, FreeText):
        names: list[str] = []
        values: list[Any] = []
        for target in compiler.targets(field, node):
            found = target.values(event)
            if not found and target.constant is not None:
                found = [target.constant]
            if found or not isinstance(field, Wildcard):
                names.append(target.name)
            values.extend(found)
        out.fields, out.values = names, values
    return out


def _clause_text(node: Node, text: str) -> str:
    if isinstance(node, (And, Or, Not)) or node.span is None or not text:
        return node.render()
    written = text[node.span[0]:node.span[1]]
    field = getattr(node, "field", None)
    name = getattr(field, "text", None)
    if name and not isinstance(node, Range) and name not in written:
        return f"{name}:{written}"  # a term inside field:( ... ) - show which field it searches
    return written
