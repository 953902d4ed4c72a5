"""Condition coverage of a rule's query by its fixture cases.

Every leaf clause of the query (``field:value``, ranges, ``field:*``...) should be made true by
some event and false by another: a clause that is never false is one no negative case checks,
so it could be deleted (or broken) without any case noticing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from detection.fixtures import Case
from detection.model import RuleFile


@dataclass(frozen=True)
class ClauseCoverage:
    clause: str
    seen_true: bool
    seen_false: bool

    @property
    def covered(self) -> bool:
        return self.seen_true and self.seen_false

    def describe(self) -> str:
        if not (self.seen_true or self.seen_false):
            return f"never evaluated: {self.clause}"
        return f"never {'false' if self.seen_true else 'true'}: {self.clause}"

    def to_json(self) -> dict[str, Any]:
        return {"clause": self.clause, "seen_true": self.seen_true, "seen_false": self.seen_false,
                "covered": self.covered}


@dataclass(frozen=True)
class RuleCoverage:
    rule_id: str
    rule_name: str
    rule_path: str
    clauses: tuple[ClauseCoverage, ...] = ()
    note: str | None = None  # why coverage could not be measured

    @property
    def uncovered(self) -> list[ClauseCoverage]:
        return [c for c in self.clauses if not c.covered]

    def to_json(self) -> dict[str, Any]:
        return {"rule": self.rule_id, "rule_name": self.rule_name, "rule_path": self.rule_path,
                "clauses": [c.to_json() for c in self.clauses],
                "uncovered": [c.clause for c in self.uncovered], "note": self.note}


def rule_coverage(rule: RuleFile, cases: Sequence[Case], fields: Any = None) -> RuleCoverage:
    """Which clauses of ``rule``'s query the events of ``cases`` made true, and which false."""
    head = {"rule_id": rule.rule_id, "rule_name": rule.name, "rule_path": rule.display_path}
    if rule.language not in ("kuery", "lucene", "eql", "esql") or rule.query is None:
        return RuleCoverage(**head, note=f"coverage is measured for KQL, Lucene, EQL and ES|QL queries only ({rule.type} rule)")
    from detection import kql, lucene
    from detection.clause_predicates import ClauseError, eql_clauses, esql_clauses

    try:
        if rule.language == "eql":
            clauses = eql_clauses(rule.query, fields)
        elif rule.language == "esql":
            clauses = esql_clauses(rule.query, fields)
        elif rule.language == "lucene":
            # Lucene parses into KQL's tree, so its leaves are measured the same way.
            tree = lucene.parse(rule.query)
            clauses = [(text, lucene.compile(leaf, fields=fields)) for text, leaf in _distinct(_standalone_leaves(tree))]
        else:
            tree = kql.parse(rule.query)
            clauses = []
            for text, leaf in _distinct(_standalone_leaves(tree)):
                clauses.append((text, kql.compile(leaf, fields=fields)))
    except kql.KqlError as exc:
        return RuleCoverage(**head, note=f"the query does not compile: {exc.message}")
    except lucene.LuceneError as exc:
        return RuleCoverage(**head, note=f"the query does not compile: {exc.message}")
    except ClauseError as exc:
        return RuleCoverage(**head, note=f"the query does not compile: {exc}")
    events = [event for case in cases for event in case.events]
    if not events:
        return RuleCoverage(**head, clauses=tuple(ClauseCoverage(t, False, False) for t, _ in clauses),
                            note="the rule has no fixture cases")
    out = []
    for text, predicate in clauses:
        outcomes = {bool(predicate(event)) for event in events}
        out.append(ClauseCoverage(text, True in outcomes, False in outcomes))
    return RuleCoverage(**head, clauses=tuple(out))


def _standalone_leaves(node: Any, scopes: tuple = ()) -> Iterator[Any]:
    """Each leaf clause as a query of its own; inside ``path:{...}`` it keeps its nested scope,
    so it reads "some nested object satisfies the clause"."""
    from detection.kql import ast

    if isinstance(node, ast.Nested):
        yield from _standalone_leaves(node.query, scopes + (node.path,))
    elif isinstance(node, ast.LEAF_TYPES) or not list(node.children()):  # Lucene's regex leaves too
        for path in reversed(scopes):
            node = ast.Nested(path, node)
        yield node
    else:
        for child in node.children():
            yield from _standalone_leaves(child, scopes)


def _distinct(leaves: Iterator[Any]) -> Iterator[tuple[str, Any]]:
    seen = set()
    for leaf in leaves:
        text = leaf.render()
        if text not in seen:
            seen.add(text)
            yield text, leaf
