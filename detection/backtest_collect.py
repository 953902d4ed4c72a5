"""Which events a multi-event rule's scheduled runs can use: the first pass of a backtest.

Threshold, new_terms, ES|QL rules, EQL sequences and samples (and EQL event queries with
``head``/``tail`` pipes) look at many events at once, so a backtest cannot decide their alerts
line by line. Instead the streaming pass keeps, for each such rule, the events that can take
part in one of its runs, and :mod:`detection.backtest_schedule` replays the rule's schedule over
them. What is kept must be a superset of what any run would use, and as small as possible:

* threshold and new_terms: the events matching the rule's query (history and look-back alike);
* EQL sequences and samples: events matching some step's filter or the ``until`` filter, each
  step compiled as an event query of its own (join keys and order are the runs' business);
* EQL event queries with pipes: the events matching the query;
* ES|QL: the events of the ``FROM`` indices (an event's ``_index``, when it has one) that pass
  the ``WHERE`` commands directly after ``FROM`` (only ``SORT``, ``KEEP`` and ``DROP`` may come
  between: they leave the rows as they are, unlike ``LIMIT``). Their ``field == "text"`` and
  ``IN`` conditions become required terms, so the byte prefilter and the rule index still work.

A condition that depends on the run time (KQL date math such as ``now-1h``, ES|QL ``NOW()``)
cannot be decided before the run time is known, so it is not used for collecting: such a rule
keeps every event its other conditions allow (and the collection cap guards memory).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from detection.kql.requirements import RequiredTerms, Term, either, eql_required_terms
from detection.model import RuleFile
from detection.prefilter import literal_safe

Predicate = Callable[[Mapping[str, Any]], bool]

# Date math names the run time; a query mentioning it is not a fixed filter.
_NOW_WORD = re.compile(r"(?i)(?<![\w.])now(?![\w.])")
_ESQL_NOW = re.compile(r"(?i)\bnow\s*\(")
# ES|QL commands a WHERE may follow and still keep the rows it would keep right after FROM.
_ROW_PRESERVING = ("Sort", "Keep", "Drop")


@dataclass(frozen=True)
class Collection:
    """How the first pass selects a rule's events: the predicate, its required terms, and what it keeps."""

    predicate: Predicate
    requirements: RequiredTerms
    description: str


def _everything(event: Mapping[str, Any]) -> bool:
    return True


def is_scheduled(rule: RuleFile) -> bool:
    """Whether the backtest replays this rule's runs instead of matching events one by one."""
    if rule.type in ("threshold", "new_terms", "esql"):
        return True
    if rule.type == "eql":
        from detection import eql

        try:
            query = eql.parse(rule.query or "")
        except eql.EqlError:
            return False  # the per-event path reports the located error
        return query.kind != "event" or bool(query.pipes)
    return False


def collection(rule: RuleFile, fields: Any) -> Collection:
    """The first-pass filter of a scheduled rule.

    Raises ``UnsupportedRule`` for what a backtest cannot replay and ``DetectionError`` for a
    query that does not compile (located in the rule file).
    """
    from detection.engine import UnsupportedRule

    if rule.rule.get("filters"):
        raise UnsupportedRule("rules with `filters` are not supported in backtest: only the query is evaluated")
    if rule.type in ("threshold", "new_terms"):
        return _query_collection(rule, fields)
    if rule.type == "eql":
        return _eql_collection(rule, fields)
    if rule.type == "esql":
        return _esql_collection(rule, fields)
    raise UnsupportedRule(f"not supported in backtest: {rule.type} rules")


def depends_on_now(text: str | None) -> bool:
    """Whether a KQL or Lucene query names the run time (date math), conservatively."""
    return bool(text) and _NOW_WORD.search(text) is not None


def _query_collection(rule: RuleFile, fields: Any) -> Collection:
    from detection.kql.requirements import required_terms
    from detection.runners.common import compile_filter

    predicate = compile_filter(rule, fields)  # located F130 when it does not compile
    if depends_on_now(rule.query):
        return Collection(_everything, RequiredTerms(), "every event (the query uses date math)")
    node = getattr(predicate, "kql_node", None) or getattr(predicate, "lucene_node", None)
    required = required_terms(node, fields) if node is not None else RequiredTerms()
    return Collection(predicate, required, "events matching the query")


def _eql_collection(rule: RuleFile, fields: Any) -> Collection:
    from detection import eql
    from detection.eql import ast
    from detection.runners.common import CODE_QUERY, query_error
    from detection.runners.eql_runner import options

    settings = options(rule.rule)
    try:
        compiled = eql.compile(rule.query or "", fields, **settings)
    except eql.EqlError as exc:
        raise query_error(rule, exc.offset, CODE_QUERY, f"the EQL query does not compile: {exc.message}",
                          exc.hint) from None
    category = settings["event_category_field"]
    body = compiled.query.body
    if isinstance(body, ast.EventQuery):
        return Collection(compiled.matches, eql_required_terms(compiled.query, category, fields),
                          "events matching the query")
    terms = [*body.terms, *((body.until,) if getattr(body, "until", None) else ())]
    steps: list[Predicate] = []
    required: list[list] = []
    for term in terms:
        text = term.query.render()
        try:
            steps.append(eql.compile(text, fields, **settings).matches)
        except eql.EqlError:
            # The whole query compiled, so a step alone should too; if not, keep everything.
            return Collection(_everything, RequiredTerms(), "every event (a step cannot be compiled alone)")
        required.append(list(eql_required_terms(text, category, fields).terms))

    def any_step(event: Mapping[str, Any]) -> bool:
        return any(step(event) for step in steps)

    return Collection(any_step, RequiredTerms(tuple(either(required))),
                      f"events matching one of the {len(terms)} {compiled.kind} filter(s)")


def _esql_collection(rule: RuleFile, fields: Any) -> Collection:
    from detection import esql
    from detection.engine import UnsupportedRule
    from detection.runners.common import CODE_QUERY, query_error

    try:
        query = esql.parse(rule.query or "")
    except esql.EsqlUnsupported as exc:
        raise UnsupportedRule(f"this ES|QL query uses something the test engine cannot run yet: {exc.message}") from None
    except esql.EsqlError as exc:
        raise query_error(rule, exc.offset, CODE_QUERY, f"the ES|QL query does not compile: {exc.message}",
                          exc.hint) from None
    source = query.commands[0]
    if not isinstance(source, esql.ast.From):
        raise UnsupportedRule("not supported in backtest: this ES|QL query reads no events (it starts with ROW)")
    kept: list[Any] = [source]
    for command in query.commands[1:]:
        if isinstance(command, esql.ast.Where):
            if _ESQL_NOW.search(command.render()) is None:
                kept.append(command)
            continue
        if type(command).__name__ in _ROW_PRESERVING:
            continue
        break
    wheres = kept[1:]
    selector = dataclasses.replace(query, commands=tuple(kept))
    what = f"events of FROM {', '.join(source.sources)}" + (f" passing {len(wheres)} WHERE command(s)" if wheres else "")

    def predicate(event: Mapping[str, Any]) -> bool:
        try:
            return bool(esql.execute(selector, [event], field_types=fields).rows)
        except Exception:  # noqa: BLE001 - undecidable here: keep the event, the run decides
            return True

    terms = [t for w in wheres for t in _esql_terms(w.condition, fields)]
    return Collection(predicate, RequiredTerms(tuple(dict.fromkeys(terms))), what)


def _esql_terms(node: Any, fields: Any) -> list[Term]:
    """Terms an event passing an ES|QL condition must hold: ``field == "text"`` and ``field IN
    ("a", "b")`` under ``AND`` (and ``OR`` branches that all constrain the same field).

    The engine compares a keyword field's document values, so only plain text no number or
    boolean can stand for is used, and only on fields typed keyword-like (or not typed).
    """
    from detection.esql import ast

    type_of = getattr(fields, "type_of", None)

    def term(expr: Any, values: list[Any]) -> list[Term]:
        if not isinstance(expr, ast.FieldRef) or not values:
            return []
        if not all(isinstance(v, ast.Literal) and v.kind == "string" and literal_safe(str(v.value)) for v in values):
            return []
        if callable(type_of) and type_of(expr.name) not in (None, "keyword", "constant_keyword", "wildcard"):
            return []
        return [Term(expr.name, tuple(expr.name.split(".")), frozenset(str(v.value) for v in values))]

    if isinstance(node, ast.Binary):
        if node.op == "and":
            return _esql_terms(node.left, fields) + _esql_terms(node.right, fields)
        if node.op == "or":
            return either([_esql_terms(node.left, fields), _esql_terms(node.right, fields)])
        if node.op == "==":
            left, right = (node.right, node.left) if isinstance(node.left, ast.Literal) else (node.left, node.right)
            return term(left, [right])
    if isinstance(node, ast.In) and not node.negated:
        return term(node.value, list(node.items))
    return []
