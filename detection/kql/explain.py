"""Why a query did or did not match an event: a result tree that mirrors the query.

Each node of the tree has the clause text, its result for the event, and for leaf clauses the
fields read and the values the event holds there, plus a suggestion when a near value or a
near field name exists (``event.action:AssumedRole`` vs ``AssumeRole``). Node ids are paths of
child positions (``0``, ``0.2``, ``0.2.1``): stable for a given query, so condition coverage
can count which leaf clauses ever matched.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from detection.fields import FieldSchema
from detection.kql.ast import (
    And,
    Exists,
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
)
from detection.kql.compile import Compiler, build
from detection.kql.docs import flatten, objects_at, path_keys
from detection.kql.parser import parse

_KINDS = {
    And: "and",
    Or: "or",
    Not: "not",
    Is: "is",
    Range: "range",
    Exists: "exists",
    Nested: "nested",
    FreeText: "free_text",
    MatchAll: "match_all",
}
_MARKS = {True: "\u2713", False: "\u2717"}
_ASCII_MARKS = {True: "[+]", False: "[-]"}


@dataclass
class Explanation:
    id: str
    kind: str
    clause: str
    result: bool
    fields: list[str] = field(default_factory=list)
    values: list[Any] = field(default_factory=list)
    suggestion: str | None = None
    suggestion_kind: str | None = None  # "value" or "field"
    children: list[Explanation] = field(default_factory=list)

    @property
    def is_leaf(self) -> bool:
        return not self.children and self.kind not in ("and", "or", "not", "nested")

    def leaves(self) -> list[Explanation]:
        if self.is_leaf:
            return [self]
        return [leaf for child in self.children for leaf in child.leaves()]

    def find(self, node_id: str) -> Explanation | None:
        if self.id == node_id:
            return self
        for child in self.children:
            found = child.find(node_id)
            if found is not None:
                return found
        return None

    def to_json(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "kind": self.kind, "clause": self.clause, "result": self.result}
        if self.is_leaf:
            data["fields"] = list(self.fields)
            data["values"] = [_jsonable(v) for v in self.values]
            if self.suggestion is not None:
                data["suggestion"] = self.suggestion
                data["suggestion_kind"] = self.suggestion_kind
        if self.children:
            data["children"] = [c.to_json() for c in self.children]
        return data

    def render_text(self, ascii: bool = False, indent: str = "  ") -> str:
        lines: list[str] = []
        self._render(lines, 0, _ASCII_MARKS if ascii else _MARKS, indent)
        return "\n".join(lines)

    def _render(self, lines: list[str], depth: int, marks: dict, indent: str) -> None:
        pad = indent * depth
        mark = marks[self.result]
        if self.kind in ("and", "or"):
            label = "all of" if self.kind == "and" else "any of"
            lines.append(f"{pad}{mark} {label}:")
        elif self.kind == "not":
            lines.append(f"{pad}{mark} not:")
        elif self.kind == "nested":
            lines.append(f"{pad}{mark} {self.clause.split(':{', 1)[0]}: one nested object with:")
        else:
            text = f"{pad}{mark} {self.clause}"
            if self.kind in ("is", "range", "exists"):
                text += "  " + _describe_values(self.fields, self.values)
            if self.suggestion is not None:
                what = "field" if self.suggestion_kind == "field" else "value"
                text += f"  (did you mean {what} {json.dumps(self.suggestion, ensure_ascii=False)}?)"
            lines.append(text)
        for child in self.children:
            child._render(lines, depth + 1, marks, indent)

    def __str__(self) -> str:
        return self.render_text()


@dataclass(frozen=True)
class LeafClause:
    id: str
    clause: str
    node: Node


def leaf_clauses(query: str | Node) -> list[LeafClause]:
    """The leaf clauses of a query with the same ids :func:`explain` gives them."""
    node = parse(query) if isinstance(query, str) else query
    out: list[LeafClause] = []

    def visit(n: Node, node_id: str) -> None:
        kids = n.children()
        if not kids:
            out.append(LeafClause(node_id, n.render(), n))
        for i, child in enumerate(kids):
            visit(child, f"{node_id}.{i}")

    visit(node, "0")
    return out


def explain(
    query: str | Node,
    event: Mapping,
    fields: FieldSchema | Mapping | None = None,
    *,
    now: datetime | None = None,
) -> Explanation:
    """Evaluate every clause of ``query`` against ``event`` and say why each one matched or not."""
    node, compiler = build(query, fields, now)
    compiler.closure(node)  # raise the same located errors as compile()
    return _explain(node, compiler, [event], "0")


def _explain(node: Node, compiler: Compiler, scopes: list, node_id: str) -> Explanation:
    kind = _KINDS[type(node)]
    predicate = compiler.closure(node)
    result = any(predicate(doc) for doc in scopes)
    out = Explanation(node_id, kind, node.render(), result)
    if isinstance(node, Nested):
        inner = compiler.inner_compiler(node)
        parts = tuple(node.path.text.split("."))
        keys = path_keys(parts)
        objects = [obj for doc in scopes for obj in objects_at(doc, parts, keys)]
        if inner is not None:
            out.children = [_explain(node.query, inner, objects, f"{node_id}.0")]
        return out
    kids = node.children()
    if kids:
        # A child of `not` or a chain is explained on the same documents as its parent.
        out.children = [_explain(child, compiler, scopes, f"{node_id}.{i}") for i, child in enumerate(kids)]
        return out
    if isinstance(node, (Is, Range, Exists)):
        targets = compiler.targets(node.field, node)
        names, values = [], []
        for target in targets:
            found = [v for doc in scopes for v in target.values(doc)]
            if not found and target.constant is not None:
                found = [target.constant]
            if found or not isinstance(node.field, Wildcard):
                names.append(target.name)
            values.extend(found)
        out.fields, out.values = names, values
        if not result and isinstance(node, Is):
            _suggest(out, node, scopes, compiler)
    return out


def _suggest(out: Explanation, node: Is, scopes: list, compiler: Compiler) -> None:
    strings = [v for v in out.values if isinstance(v, str)]
    value = node.value
    if strings:
        if isinstance(value, Literal) and isinstance(value.value, str):
            wanted = value.value
            for candidate in strings:
                if candidate.lower() == wanted.lower():
                    out.suggestion, out.suggestion_kind = candidate, "value"
                    return
            close = difflib.get_close_matches(wanted, strings, n=1, cutoff=0.75)
            if close:
                out.suggestion, out.suggestion_kind = close[0], "value"
        elif isinstance(value, Wildcard):
            from detection.kql.matchers import glob_regex

            rx = glob_regex(value.parts, lower=True)
            for candidate in strings:
                if rx.match(candidate.lower()):
                    out.suggestion, out.suggestion_kind = candidate, "value"
                    return
        return
    if out.values or isinstance(node.field, Wildcard):
        return
    # Nothing at that field: maybe the event spells the field differently.
    prefix = compiler.scope.prefix
    paths = sorted({prefix + path for doc in scopes for path, _ in flatten(doc)})
    name = out.fields[0] if out.fields else node.field.text
    close = difflib.get_close_matches(name, paths, n=1, cutoff=0.8)
    if close:
        out.suggestion, out.suggestion_kind = close[0], "field"


def _describe_values(fields: list[str], values: list) -> str:
    if not values:
        shown = ", ".join(fields) if fields else "field"
        return f"[{shown}: absent]"
    rendered = ", ".join(json.dumps(_jsonable(v), ensure_ascii=False) for v in values[:5])
    if len(values) > 5:
        rendered += f", ... ({len(values)} values)"
    name = fields[0] if len(fields) == 1 else "values"
    return f"[{name} = {rendered}]"


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
