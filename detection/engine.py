"""Rules to alerts: run a rule over a list of events the way Kibana's detection engine would.

Each (rule type, query language) pair has a runner, looked up in ``RUNNERS``: query rules in
KQL or Lucene, EQL rules (event queries and sequences), threshold, new_terms and ES|QL rules; the
runners live in :mod:`detection.runners`. A detector is called with a case's events and its run
time (``now``), which sets the look-back window (:mod:`detection.runners.window`). A rule nobody can run yet
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
    # The values that identify a multi-event alert: a threshold group's field values, the new
    # term(s), an ES|QL row's columns. None for single-event alerts.
    group: Mapping[str, Any] | None = None


class UnsupportedRule(Exception):
    """The test engine cannot run this rule (yet); the message says why."""


# A prepared rule: events (and optionally the run time, ``now=``) in, alerts out.
Detector = Callable[..., list[Alert]]
# A runner prepares a rule once (parse, compile) so that many cases can reuse it.
Runner = Callable[[RuleFile, Any], Detector]


def _kuery_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection.runners import query

    return query.prepare(rule, fields)


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


def _eql_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection.runners import eql_runner

    return eql_runner.prepare(rule, fields)


def _esql_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection.runners import esql_runner

    return esql_runner.prepare(rule, fields)


def _threshold_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection.runners import threshold

    return threshold.prepare(rule, fields)


def _new_terms_runner(rule: RuleFile, fields: Any) -> Detector:
    from detection.runners import new_terms

    return new_terms.prepare(rule, fields)


RUNNERS: Mapping[tuple[str, str], Runner] = MappingProxyType({
    ("query", "kuery"): _kuery_runner,
    ("saved_query", "kuery"): _kuery_runner,  # the query stored with the rule, if any
    ("query", "lucene"): _kuery_runner,  # the same runner reads Lucene with detection.lucene
    ("saved_query", "lucene"): _kuery_runner,
    ("eql", "eql"): _eql_runner,
    ("esql", "esql"): _esql_runner,
    ("threshold", "kuery"): _threshold_runner,
    ("threshold", "lucene"): _threshold_runner,
    ("new_terms", "kuery"): _new_terms_runner,
    ("new_terms", "lucene"): _new_terms_runner,
})


def _kuery_explainer(rule: RuleFile, event: Mapping[str, Any], fields: Any) -> Any:
    from detection import kql

    return kql.explain(rule.query, event, fields=fields)


def _lucene_explainer(rule: RuleFile, event: Mapping[str, Any], fields: Any) -> Any:
    from detection import lucene

    return lucene.explain(rule.query, event, fields=fields)


def _eql_explainer(rule: RuleFile, event: Mapping[str, Any], fields: Any) -> Any:
    from detection.runners.eql_explain import explain

    return explain(rule, event, fields)


# Explanations of one event: an object with render_text() and to_json().
Explainer = Callable[[RuleFile, Mapping[str, Any], Any], Any]
EXPLAINERS: Mapping[tuple[str, str], Explainer] = MappingProxyType({
    ("query", "kuery"): _kuery_explainer,
    ("saved_query", "kuery"): _kuery_explainer,
    ("threshold", "kuery"): _kuery_explainer,  # the query part: which events are counted
    ("new_terms", "kuery"): _kuery_explainer,
    ("query", "lucene"): _lucene_explainer,
    ("saved_query", "lucene"): _lucene_explainer,
    ("threshold", "lucene"): _lucene_explainer,
    ("new_terms", "lucene"): _lucene_explainer,
    ("eql", "eql"): _eql_explainer,
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
