"""Why an event did or did not match an EQL rule, as the KQL explanation tree.

Event queries: the category test and the condition's and/or/not structure, each other
expression evaluated on its own (``any where <expression>``) with the values of the fields it
reads. Sequences and samples: which steps the event could fill on its own (join keys, order and
maxspan are the sequence's business; the failing case's summary lists them per step).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detection.eql import ast as A
from detection.kql.docs import values_at
from detection.kql.explain import Explanation
from detection.model import RuleFile
from detection.runners.eql_runner import options


def explain(rule: RuleFile, event: Mapping[str, Any], fields: Any = None) -> Explanation:
    from detection import eql

    settings = options(rule.rule)
    query = eql.parse(rule.query or "")

    def run(text: str) -> bool:
        return eql.compile(text, fields, **settings).matches(event)

    body = query.body
    if isinstance(body, A.EventQuery):
        return _event_query(body, event, run, settings["event_category_field"], "0")
    kids = []
    for number, term in enumerate(body.terms, start=1):
        child = _leaf(f"0.{number - 1}", term.query.render(), run(term.query.render()), term.query.condition, event)
        child.clause = f"step {number}{' (missing)' if term.missing else ''}: {child.clause}"
        kids.append(child)
    root = Explanation("0", "steps", f"{query.kind} steps this event can fill on its own:",
                       any(k.result for k in kids))
    root.children = kids
    return root


def _event_query(q: A.EventQuery, event: Mapping[str, Any], run, category_field: str, node_id: str) -> Explanation:
    condition = _expression(q.condition, event, run, f"{node_id}.1")
    if q.category is None:
        return condition
    category = _leaf(f"{node_id}.0", f"{category_field} : {A.render_string(q.category)}",
                     run(f"{_category(q.category)} where true"), A.Field((category_field,)), event)
    root = Explanation(node_id, "and", q.render(), category.result and condition.result)
    root.children = [category, condition]
    return root


def _category(name: str) -> str:
    return A.EventQuery(name, A.Literal(True)).render().split(" where ", 1)[0]


def _expression(expr: A.Expr, event: Mapping[str, Any], run, node_id: str) -> Explanation:
    if isinstance(expr, A.BoolOp):
        kids = [_expression(e, event, run, f"{node_id}.{i}") for i, e in enumerate(expr.operands)]
        result = all(k.result for k in kids) if expr.op == "and" else any(k.result for k in kids)
        out = Explanation(node_id, expr.op, expr.render(), result)
        out.children = kids
        return out
    if isinstance(expr, A.Not):
        inner = _expression(expr.operand, event, run, f"{node_id}.0")
        out = Explanation(node_id, "not", expr.render(), not inner.result)
        out.children = [inner]
        return out
    return _leaf(node_id, expr.render(), run(f"any where {expr.render()}"), expr, event)


def _leaf(node_id: str, text: str, result: bool, expr: A.Expr, event: Mapping[str, Any]) -> Explanation:
    names = sorted({n.name for n in A.walk(expr) if isinstance(n, A.Field)})
    values = [v for name in names for v in values_at(event, tuple(name.split(".")))]
    return Explanation(node_id, "is", text, result, fields=names, values=values)
