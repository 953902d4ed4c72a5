"""Rules to alerts: run a rule over a list of events the way Kibana's detection engine would.

Each (rule type, query language) pair has a runner, looked up in ``RUNNERS``; the EQL, ES|QL,
threshold and new_terms engines plug in there as they are written. A rule nobody can run yet
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
    """One alert: the rule that raised it and the event (by position in the input) behind it."""

    rule_id: str
    event_index: int
    event: Mapping[str, Any]


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
    limit = int(rule.rule.get("max_signals") or DEFAULT_MAX_SIGNALS)

    def detect(events: Sequence[Mapping[str, Any]]) -> list[Alert]:
        hits = [Alert(rule.rule_id, i, e) for i, e in enumerate(events) if predicate(e)]
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


RUNNERS: Mapping[tuple[str, str], Runner] = MappingProxyType({
    ("query", "kuery"): _kuery_runner,
    ("saved_query", "kuery"): _kuery_runner,  # the query stored with the rule, if any
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
