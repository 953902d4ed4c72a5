"""Rules to alerts: run a rule over a list of events the way Kibana's detection engine would.

Each (rule type, query language) pair has a runner, looked up in ``RUNNERS``: KQL query rules,
EQL rules (event queries and sequences) and ES|QL rules today; threshold and new_terms rules
plug in there when their engines exist. A rule nobody can run yet
raises ``UnsupportedRule`` with a plain explanation instead of failing somewhere deeper.
Events are assumed to come from the rule's indices and its time window.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic
from detection.model import RuleFile

DEFAULT_MAX_SIGNALS = 100
CODE_QUERY = "F130"  # the rule's query cannot be compiled for testing


@dataclass(frozen=True)
class Alert:
    """One alert: the rule that raised it and the event (by position in the input) behind it.

    A sequence alert names all of its events; an ES|QL alert is a result row, which may
    aggregate many events and so names none.
    """

    rule_id: str
    event_index: int | None
    event: Mapping[str, Any] | None
    event_indexes: tuple[int, ...] = ()


class UnsupportedRule(Exception):
    """The test engine cannot run this rule (yet); the message says why."""


# A prepared rule: events in, alerts out.
Detector = Callable[[Sequence[Mapping[str, Any]]], list[Alert]]
# A runner prepares a rule once (parse, compile) so that many cases can reuse it.
Runner = Callable[[RuleFile, Any], Detector]


def _kuery_runner(rule: RuleFile, fields: Any) -> Detector:
    if rule.rule.get("filters"):
        raise UnsupportedRule("rules with `filters` cannot be tested yet: only the query is evaluated")
    text = rule.query
    if text is None:
        raise UnsupportedRule(f"this {rule.type} rule has no query to evaluate")
    predicate = compile_kuery(rule, fields)
    limit = _max_signals(rule)

    def detect(events: Sequence[Mapping[str, Any]]) -> list[Alert]:
        hits = [Alert(rule.rule_id, i, e, (i,)) for i, e in enumerate(events) if predicate(e)]
        # Kibana stops at max_signals alerts per run.
        return hits[:limit]

    return detect


def compile_kuery(rule: RuleFile, fields: Any) -> Callable[[Mapping[str, Any]], bool]:
    """The rule's KQL query as a predicate; a query that does not compile is a located error."""
    from detection import kql  # imported late: the CLI should start fast

    try:
        return kql.compile(rule.query, fields=fields)
    except kql.KqlError as exc:
        raise DetectionError([Diagnostic(rule.location(("rule", "query")), CODE_QUERY,
                                         f"the query does not compile: {exc.message} "
                                         f"(query line {exc.line}, column {exc.column})",
                                         hint=getattr(exc, "hint", None) or "fix the query")]) from None


def _max_signals(rule: RuleFile) -> int:
    return int(rule.rule.get("max_signals") or DEFAULT_MAX_SIGNALS)


def _query_error(rule: RuleFile, language: str, exc: Any) -> DetectionError:
    where = f" (query line {exc.line}, column {exc.column})" if hasattr(exc, "line") else ""
    return DetectionError([Diagnostic(rule.location(("rule", "query")), CODE_QUERY,
                                      f"the {language} query does not compile: {exc.message}{where}",
                                      hint=getattr(exc, "hint", None) or "fix the query")])


def _eql_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection import eql

    options = {"event_category_field": rule.rule.get("event_category_override") or "event.category",
               "timestamp_field": rule.rule.get("timestamp_field") or "@timestamp",
               "tiebreaker_field": rule.rule.get("tiebreaker_field")}
    try:
        compiled = eql.compile(rule.query or "", fields, **options)
    except eql.EqlError as exc:
        raise _query_error(rule, "EQL", exc) from None
    limit = _max_signals(rule)

    def detect(events: Sequence[Mapping[str, Any]]) -> list[Alert]:
        out = []
        # One alert per event match, and one per sequence (Kibana also writes a building-block
        # alert per sequence step; those are not counted).
        for match in compiled.run(events):
            steps = tuple(match.events)
            first = steps[0] if steps else None
            out.append(Alert(rule.rule_id, first, events[first] if first is not None else None, steps))
        return out[:limit]

    return detect


def _esql_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection import esql

    try:
        query = esql.parse(rule.query or "")
    except esql.EsqlUnsupported as exc:
        raise UnsupportedRule(f"this ES|QL query uses something the test engine cannot run yet: {exc.message}") from None
    except esql.EsqlError as exc:
        raise _query_error(rule, "ES|QL", exc) from None
    limit = _max_signals(rule)

    def detect(events: Sequence[Mapping[str, Any]]) -> list[Alert]:
        rows = esql.run(query, events, field_types=fields)
        return [Alert(rule.rule_id, None, None) for _ in rows][:limit]

    return detect


RUNNERS: Mapping[tuple[str, str], Runner] = MappingProxyType({
    ("query", "kuery"): _kuery_runner,
    ("saved_query", "kuery"): _kuery_runner,  # the query stored with the rule, if any
    ("eql", "eql"): _eql_runner,
    ("esql", "esql"): _esql_runner,
})


def _kuery_explainer(rule: RuleFile, event: Mapping[str, Any], fields: Any) -> Any:
    from detection import kql

    return kql.explain(rule.query, event, fields=fields)


# Explanations of one event: an object with render_text() and to_json().
Explainer = Callable[[RuleFile, Mapping[str, Any], Any], Any]
EXPLAINERS: Mapping[tuple[str, str], Explainer] = MappingProxyType({
    ("query", "kuery"): _kuery_explainer,
    ("saved_query", "kuery"): _kuery_explainer,
})


def explain_event(rule: RuleFile, event: Mapping[str, Any], fields: Any = None) -> Any:
    """Why ``event`` does or does not match ``rule`` (None when no explainer exists for its type)."""
    explainer = EXPLAINERS.get((rule.type, rule.language or ""))
    if explainer is None or rule.query is None:
        return None
    return explainer(rule, event, fields)


def runner_for(rule: RuleFile) -> Runner:
    """The runner for the rule's type and language, or UnsupportedRule saying what is missing."""
    key = (rule.type, rule.language or "")
    runner = RUNNERS.get(key)
    if runner is None:
        language = f" ({rule.language})" if rule.language else ""
        raise UnsupportedRule(f"{rule.type}{language} rules are not supported by the test engine yet")
    return runner


def prepare(rule: RuleFile, fields: Any = None) -> Detector:
    """Parse and compile ``rule`` once; the result turns event lists into alerts."""
    return runner_for(rule)(rule, fields)


def alerts_for(rule: RuleFile, events: Sequence[Mapping[str, Any]], fields: Any = None) -> list[Alert]:
    """The alerts ``rule`` raises for ``events``."""
    return prepare(rule, fields)(events)
