"""V1xx: values in queries that cannot occur - ECS allowed values, AWS CloudTrail event names."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from typing import Any

from detection.diagnostics import Diagnostic, Severity
from detection.lint import esql_facts
from detection.lint.context import RuleContext
from detection.lint.eql_facts import QUERY_PATH, EqlValue, eql_query, eql_values
from detection.lint.kql_facts import leaves, pattern_offset, value_span
from detection.lint.registry import check

AWS_SUFFIX = ".amazonaws.com"


def _kql():
    from detection import kql

    return kql


def _field_values(ctx: RuleContext, *names: str) -> Iterator[tuple[Any, Any, str]]:
    """(query, Is node, field) for the ``field:value`` clauses of the rule's own KQL or Lucene query
    on the given fields."""
    kql = _kql()
    for query in ctx.field_queries:
        for leaf in leaves(query.tree):
            if isinstance(leaf.node, kql.Is) and (not names or leaf.field in names):
                yield query, leaf, leaf.field


def _field_patterns(ctx: RuleContext, *names: str) -> Iterator[tuple[Any, Any]]:
    """(query, leaf) for a Lucene query's regular expressions and ``?`` wildcards on the given
    fields (all fields without names)."""
    from detection.lucene import Pattern

    query = ctx.lucene_query
    if query is None:
        return
    for leaf in leaves(query.tree):
        if isinstance(leaf.node, Pattern) and (not names or leaf.field in names):
            yield query, leaf


def _eql_field_values(ctx: RuleContext, *names: str) -> Iterator[EqlValue]:
    """An EQL or ES|QL rule's string constants compared with the given fields (all fields without
    names); the offsets are in ``rule.query`` (QUERY_PATH)."""
    query = eql_query(ctx)
    if query is not None:
        yield from (v for v in eql_values(query) if not names or v.field in names)
    query = esql_facts.esql_query(ctx)
    if query is not None:
        yield from (v for v in esql_facts.esql_values(query) if not names or v.field in names)


@check("V101", "ecs-allowed-value", "a value that ECS does not allow for the field",
       explanation="""
       ECS fixes the values of the categorisation fields `event.kind`, `event.category`,
       `event.type` and `event.outcome`. Integrations only ever write those values, and matching is
       case-sensitive, so any other value (a typo, a plural, another case) never matches. KQL,
       Lucene, EQL and ES|QL queries are checked (EQL's `:`, `in~` and `like~` and ES|QL's `=~` and
       `TO_LOWER`/`TO_UPPER` ignore case, so only typos count there; a Lucene regular expression must
       match one of the values). In ES|QL, the comparisons of `WHERE` commands are checked, up to the
       command that redefines the field (`EVAL`, `RENAME`, `STATS`).
       """,
       bad="""
       query: event.category:authentication and event.outcome:Success
       """,
       good="""
       query: event.category:authentication and event.outcome:success
       """)
def ecs_allowed_value(ctx: RuleContext) -> Iterator[Diagnostic]:
    schema = ctx.schema if ctx.schema is not None else ctx.project.base_schema
    if schema is None:
        return
    kql = _kql()
    for query, leaf, field in _field_values(ctx):
        allowed = schema.allowed_values(field) if "*" not in field else ()
        if not allowed:
            continue
        value = leaf.node.value
        if isinstance(value, kql.Wildcard):
            if value.is_lone:
                continue
            from detection.aws_api import wildcard_regex

            pattern = wildcard_regex(value.text.replace("?", "\\?"))
            if any(pattern.fullmatch(a) for a in allowed):
                continue
            text = value.text
        else:
            text = value.text
            if text in allowed:
                continue
        guess = _closest(text, allowed)
        listing = ", ".join(allowed)
        yield Diagnostic(ctx.at_offset(query.path, value_span(leaf.node)[0]), "V101",
                         f"'{text}' is not an ECS value of {field} (allowed: {listing})",
                         hint=f"did you mean '{guess}'?" if guess else f"use one of: {listing}",
                         data={"field": field, **({"suggestion": guess} if guess else {})})
    for query, leaf in _field_patterns(ctx):
        allowed = schema.allowed_values(leaf.field) if "*" not in leaf.field else ()
        node = leaf.node
        if not allowed or any(re.fullmatch(node.regex, a, re.DOTALL) for a in allowed):
            continue
        listing = ", ".join(allowed)
        yield Diagnostic(ctx.at_offset(query.path, pattern_offset(query.text, node)), "V101",
                         f"'{_shown(node)}' matches no ECS value of {leaf.field} (allowed: {listing})",
                         hint=f"use one of: {listing}", data={"field": leaf.field})
    for item in _eql_field_values(ctx):
        allowed = schema.allowed_values(item.field)
        if not allowed or item.is_lone_wildcard or any(item.matches(a) for a in allowed):
            continue
        guess = _closest(item.text, allowed)
        listing = ", ".join(allowed)
        yield Diagnostic(ctx.at_offset(QUERY_PATH, item.offset), "V101",
                         f"'{item.text}' is not an ECS value of {item.field} (allowed: {listing})",
                         hint=f"did you mean '{guess}'?" if guess else f"use one of: {listing}",
                         data={"field": item.field, **({"suggestion": guess} if guess else {})})


def _shown(node: Any) -> str:
    """A Lucene pattern as written: /regex/ or the ``?`` wildcard term."""
    return f"/{node.source}/" if node.kind == "regexp" else node.source


def _closest(text: str, options: tuple[str, ...]) -> str | None:
    folded = {o.casefold(): o for o in options}
    if text.casefold() in folded:
        return folded[text.casefold()]
    close = difflib.get_close_matches(text.casefold(), list(options), n=1, cutoff=0.6)
    return close[0] if close else None


def _providers(ctx: RuleContext) -> list[str]:
    """AWS event sources the query requires (positive, literal event.provider values)."""
    kql = _kql()
    out: list[str] = []
    for _, leaf, _field in _field_values(ctx, "event.provider"):
        value = leaf.node.value
        if not leaf.negated and not isinstance(value, kql.Wildcard) and isinstance(value.value, str):
            out.append(value.value)
    out.extend(v.text for v in _eql_field_values(ctx, "event.provider") if not v.negated and not v.pattern)
    return out


@check("V102", "aws-unknown-action", "event.action is not an operation or event of the AWS service",
       explanation="""
       CloudTrail's `eventName` (ECS `event.action`) is the API operation name, exactly as the AWS
       SDKs spell it, plus a documented list of console and service events that are not API
       operations. A name that the service in `event.provider` does not have never matches: the
       published "AWS STS AssumeRole Usage" rule looked for `AssumedRole` for years. The names come
       from botocore's service models (see detection/data/aws_api.json.gz); the allowlist of other
       events is detection/data/aws_extra_events.json. KQL, Lucene, EQL and ES|QL queries are
       checked (for EQL and ES|QL, against the `event.provider` constants of the whole query; a
       Lucene regular expression or `?` wildcard must match one name). This is a warning because AWS adds
       operations faster than any offline list; suppress it with a reason for a new operation.
       """,
       bad="""
       query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumedRole
       """,
       good="""
       query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole
       """,
       severity=Severity.WARNING)
def aws_unknown_action(ctx: RuleContext) -> Iterator[Diagnostic]:
    providers = [p for p in _providers(ctx) if p.endswith(AWS_SUFFIX)]
    if not providers:
        return
    from detection.aws_api import check_action

    kql = _kql()
    for query, leaf, _field in _field_values(ctx, "event.action"):
        value = leaf.node.value
        if isinstance(value, kql.Wildcard):
            if value.is_lone:
                continue
            action = value.text
        elif isinstance(value.value, str):
            action = value.value
        else:
            continue
        suggestions = [check_action(p, action) for p in providers]
        if any(s is None for s in suggestions):
            continue  # real (or unknowable) for at least one of the providers
        first = suggestions[0]
        guess = first.candidates[0] if first.candidates else None
        hint = f"did you mean '{guess}'?" if guess else "check the operation name in the AWS API reference"
        yield Diagnostic(ctx.at_offset(query.path, value_span(leaf.node)[0]), "V102", first.message, hint=hint,
                         data={"provider": first.provider, "action": action, "kind": first.kind,
                               **({"suggestion": guess} if guess else {})})
    yield from _aws_action_patterns(ctx, providers)
    for item in _eql_field_values(ctx, "event.action"):
        if item.is_lone_wildcard or (not item.pattern and set(item.text) & {"*", "?", "\\"}):
            continue  # outside a pattern these characters are literal; no event name has them
        suggestions = [check_action(p, item.text, case_insensitive=item.insensitive) for p in providers]
        if any(s is None for s in suggestions):
            continue
        first = suggestions[0]
        guess = first.candidates[0] if first.candidates else None
        hint = f"did you mean '{guess}'?" if guess else "check the operation name in the AWS API reference"
        yield Diagnostic(ctx.at_offset(QUERY_PATH, item.offset), "V102", first.message, hint=hint,
                         data={"provider": first.provider, "action": item.text, "kind": first.kind,
                               **({"suggestion": guess} if guess else {})})


def _aws_action_patterns(ctx: RuleContext, providers: list[str]) -> Iterator[Diagnostic]:
    """V102 for a Lucene query's ``event.action:/regex/`` and ``event.action:Assume?Role``."""
    from detection.aws_api import check_action, load_aws_api

    table = load_aws_api()
    for query, leaf in _field_patterns(ctx, "event.action"):
        node = leaf.node
        if node.kind == "wildcard":
            suggestions = [check_action(p, node.source) for p in providers]
            if any(s is None for s in suggestions):
                continue
            first = suggestions[0]
            message, kind = first.message, first.kind
            guess = first.candidates[0] if first.candidates else None
        else:
            regex = re.compile(node.regex, re.DOTALL)
            if not all(_misses(table, p, regex) for p in providers):
                continue
            message = f"the regular expression {_shown(node)} matches no operation or event of {providers[0]}"
            kind, guess = "no-match-for-pattern", None
        hint = f"did you mean '{guess}'?" if guess else "check the operation name in the AWS API reference"
        yield Diagnostic(ctx.at_offset(query.path, pattern_offset(query.text, node)), "V102", message, hint=hint,
                         data={"provider": providers[0], "action": _shown(node), "kind": kind,
                               **({"suggestion": guess} if guess else {})})


def _misses(table: Any, provider: str, regex: re.Pattern[str]) -> bool:
    """Whether a regular expression matches no event name of the provider (False when unknowable)."""
    if provider in table.any_action:
        return False
    names = table.operations(provider)
    return bool(names) and not any(regex.fullmatch(name) for name in names)


@check("V103", "aws-unknown-provider", "event.provider is not a known AWS event source",
       explanation="""
       CloudTrail's `eventSource` (ECS `event.provider`) is the service's endpoint, such as
       `sts.amazonaws.com` or `iam.amazonaws.com`. A misspelt source never matches.
       """,
       bad="""
       query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.co and event.action:AssumeRole
       """,
       good="""
       query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole
       """,
       severity=Severity.WARNING)
def aws_unknown_provider(ctx: RuleContext) -> Iterator[Diagnostic]:
    kql = _kql()
    found = [(q.path, value_span(leaf.node)[0], leaf.node.value.value)
             for q, leaf, _ in _field_values(ctx, "event.provider")
             if not isinstance(leaf.node.value, kql.Wildcard) and isinstance(leaf.node.value.value, str)
             and "amazonaws" in leaf.node.value.value]
    found += [(QUERY_PATH, v.offset, v.text) for v in _eql_field_values(ctx, "event.provider")
              if not v.pattern and not v.insensitive and "amazonaws" in v.text]
    if not found:
        return
    from detection.aws_api import load_aws_api

    table = load_aws_api()
    for path, offset, source in found:
        if table.known_provider(source):
            continue
        close = table.suggest_providers(source)
        hint = f"did you mean '{close[0]}'?" if close else "CloudTrail event sources look like <service>.amazonaws.com"
        yield Diagnostic(ctx.at_offset(path, offset), "V103",
                         f"'{source}' is not a known AWS event source", hint=hint,
                         data={"provider": source, **({"suggestion": close[0]} if close else {})})


CHECKS = (ecs_allowed_value, aws_unknown_action, aws_unknown_provider)
