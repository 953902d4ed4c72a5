"""Leaf clauses of EQL and ES|QL queries, each as a predicate over one event.

Condition coverage (``detection.coverage``) asks, for every leaf clause of a rule's query,
whether some fixture event made it true and another made it false. For KQL the KQL package
supplies the leaves; this module does the same for the other two languages:

* EQL: every comparison, ``in`` list, pattern (``:``, ``like``, ``regex``) or function call
  under the ``and``/``or``/``not`` of each event query or sequence step. A list of values is
  split into one clause per value (``event.action in ("A", "B")`` is two clauses), as KQL's
  ``field:(A or B)`` is, so that a case is needed for each alternative.
* ES|QL: the same for the conditions of the ``WHERE`` commands that read source fields
  directly, i.e. those before the first command that renames, computes or aggregates columns.

A clause is evaluated on its own (``any where <clause>``, ``FROM * | WHERE <clause>``), so an
event's value for it does not depend on the rest of the query. A clause whose value is null in
ES|QL counts as false, as WHERE drops the row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

Predicate = Callable[[Mapping[str, Any]], bool]
Clause = tuple[str, Predicate]


class ClauseError(ValueError):
    """The query cannot be split into clauses (it does not parse, or a clause does not compile)."""


def eql_clauses(text: str, fields: Any = None) -> list[Clause]:
    """Distinct leaf clauses of an EQL query with a predicate for each."""
    from detection import eql
    from detection.eql import ast

    try:
        query = eql.parse(text)
    except eql.EqlError as exc:
        raise ClauseError(str(exc)) from None
    body = query.body
    conditions = [body.condition] if isinstance(body, ast.EventQuery) else \
        [t.query.condition for t in (*body.terms, *((body.until,) if getattr(body, "until", None) else ()))]
    out: list[Clause] = []
    seen: set[str] = set()
    for condition in conditions:
        for leaf in _eql_leaves(condition, ast):
            rendered = leaf.render()
            if rendered in seen:
                continue
            seen.add(rendered)
            try:
                compiled = eql.compile(f"any where {rendered}", fields)
            except eql.EqlError as exc:
                raise ClauseError(f"{rendered}: {exc}") from None
            out.append((rendered, compiled.matches))
    return out


def _eql_leaves(node: Any, ast: Any) -> Iterator[Any]:
    if isinstance(node, ast.BoolOp):
        for operand in node.operands:
            yield from _eql_leaves(operand, ast)
    elif isinstance(node, ast.Not):
        yield from _eql_leaves(node.operand, ast)
    elif isinstance(node, ast.InList) and len(node.items) > 1:
        # One clause per listed value; a negated list is one clause (every value must miss).
        if node.negated:
            yield node
        else:
            for item in node.items:
                yield ast.InList(node.value, (item,), insensitive=True) if node.insensitive \
                    else ast.Compare("==", node.value, item)
    elif isinstance(node, ast.Pattern) and len(node.patterns) > 1:
        for pattern in node.patterns:
            yield ast.Pattern(node.kind, node.value, (pattern,))
    else:
        yield node


def esql_clauses(text: str, fields: Any = None) -> list[Clause]:
    """Distinct leaf clauses of the source-level WHERE conditions of an ES|QL query."""
    from detection import esql
    from detection.esql import ast

    try:
        query = esql.parse(text)
    except esql.EsqlError as exc:
        raise ClauseError(str(exc)) from None
    out: list[Clause] = []
    seen: set[str] = set()
    for command in query.commands[1:]:
        if not isinstance(command, ast.Where):
            if isinstance(command, (ast.Limit, ast.Sort, ast.Keep, ast.Drop)):
                continue  # the columns WHERE can read are unchanged
            break
        for leaf in _esql_leaves(command.condition, ast):
            rendered = leaf.render()
            if rendered in seen:
                continue
            seen.add(rendered)
            try:
                single = esql.parse(f"FROM events | WHERE {rendered}")
            except esql.EsqlError as exc:
                raise ClauseError(f"{rendered}: {exc}") from None
            out.append((rendered, _esql_predicate(single, fields)))
    return out


def _esql_leaves(node: Any, ast: Any) -> Iterator[Any]:
    if isinstance(node, ast.Binary) and node.op in ("and", "or"):
        yield from _esql_leaves(node.left, ast)
        yield from _esql_leaves(node.right, ast)
    elif isinstance(node, ast.Unary) and node.op == "not":
        yield from _esql_leaves(node.operand, ast)
    elif isinstance(node, ast.In) and len(node.items) > 1 and not node.negated:
        for item in node.items:
            yield ast.Binary("==", node.value, item)
    else:
        yield node


def _esql_predicate(query: Any, fields: Any) -> Predicate:
    from detection import esql

    def predicate(event: Mapping[str, Any]) -> bool:
        # The event carries no _index here, so the FROM pattern does not filter it out.
        return bool(esql.run(query, [event], field_types=fields))

    return predicate
