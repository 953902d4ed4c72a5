"""H1xx (H101-H114, H118) and U1xx: scheduling, risk, dates, references and tags; unique ids and names."""

from __future__ import annotations

import collections
import datetime as dt
import difflib
import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from detection.diagnostics import Diagnostic, Severity
from detection.lint.context import ProjectContext, RuleContext
from detection.lint.datemath import describe, parse_date_math, parse_interval
from detection.lint.registry import check

# Kibana's bands (the UI's defaults when you pick a severity, and Elastic's rule tests).
SEVERITY_BANDS = {"low": (0, 21), "medium": (22, 47), "high": (48, 73), "critical": (74, 100)}
DEFAULTS = {"interval": "5m", "from": "now-6m", "to": "now"}
_DATE = re.compile(r"^(\d{4})[/-](\d{2})[/-](\d{2})$")


# ------------------------------------------------------------------------------------------ H101

@check("H101", "severity-risk-mismatch", "severity and risk_score disagree",
       explanation="""
       Kibana pairs each severity with a band of risk scores: low 0-21, medium 22-47, high 48-73,
       critical 74-100. Alerts are sorted and triaged by both, so a rule whose two values disagree is
       ranked inconsistently.
       """,
       bad="""
       severity: low
       risk_score: 47
       """,
       good="""
       severity: medium
       risk_score: 47
       """)
def severity_risk_mismatch(ctx: RuleContext) -> Iterator[Diagnostic]:
    rule = ctx.rule.rule
    severity, score = rule.get("severity"), rule.get("risk_score")
    if severity not in SEVERITY_BANDS or not isinstance(score, int) or isinstance(score, bool):
        return
    low, high = SEVERITY_BANDS[severity]
    if low <= score <= high:
        return
    fitting = next(name for name, (a, b) in SEVERITY_BANDS.items() if a <= score <= b)
    yield Diagnostic(ctx.at(("rule", "risk_score")), "H101",
                     f"risk_score {score} is in the {fitting} band, but severity is {severity} ({low}-{high})",
                     hint=f"set risk_score between {low} and {high}, or severity: {fitting}",
                     data={"expected_band": [low, high], "suggestion": fitting})


# ------------------------------------------------------------------------------------------ H102-H104

def _window(ctx: RuleContext) -> tuple[int, int, str] | None:
    """(interval seconds, look-back seconds, the field to point at) or None when unknown."""
    rule = ctx.rule.rule
    interval = parse_interval(str(rule.get("interval", DEFAULTS["interval"])))
    start = parse_date_math(str(rule.get("from", DEFAULTS["from"])))
    end = parse_date_math(str(rule.get("to", DEFAULTS["to"])))
    if interval is None or start is None or end is None or start.rounded or end.rounded:
        return None
    where = "from" if "from" in rule else ("interval" if "interval" in rule else "")
    return interval, end.offset_seconds - start.offset_seconds, where


def _where(ctx: RuleContext, key: str):
    return ctx.at(("rule", key)) if key else ctx.at(("rule",), key=True)


@check("H102", "look-back-gap", "the look-back window is shorter than the interval",
       explanation="""
       Each run searches from `from` to `to` (default `now-6m` to `now`) and runs every `interval`
       (default 5m). If the window is shorter than the interval, events that arrive between two
       windows are never searched: the rule has blind spots on every run.
       """,
       bad="""
       interval: 10m
       from: now-6m
       """,
       good="""
       interval: 10m
       from: now-11m
       """)
def look_back_gap(ctx: RuleContext) -> Iterator[Diagnostic]:
    window = _window(ctx)
    if window is None:
        return
    interval, look_back, key = window
    if look_back < interval:
        gap = interval - look_back
        yield Diagnostic(_where(ctx, key), "H102",
                         f"the rule runs every {describe(interval)} but searches only {describe(max(look_back, 0))}: "
                         f"{describe(gap)} of events per run are never searched",
                         hint=f"set from: now-{describe(interval + 60)} (the interval plus a minute for late events)",
                         data={"interval_seconds": interval, "look_back_seconds": look_back})


@check("H103", "look-back-no-margin", "the look-back window equals the interval (no margin)",
       explanation="""
       With `from` exactly one interval back, an event indexed a little late (ingest delay, agent
       buffering) falls outside both the run that should have seen it and the next one. Add a margin
       of at least a minute: Kibana's default is interval 5m with `from: now-6m`.
       """,
       bad="""
       interval: 5m
       from: now-5m
       """,
       good="""
       interval: 5m
       from: now-6m
       """,
       severity=Severity.WARNING)
def look_back_no_margin(ctx: RuleContext) -> Iterator[Diagnostic]:
    window = _window(ctx)
    if window is None:
        return
    interval, look_back, key = window
    if look_back == interval:
        yield Diagnostic(_where(ctx, key), "H103",
                         f"the look-back window equals the interval ({describe(interval)}): late events are missed",
                         hint=f"set from: now-{describe(interval + 60)}")


@check("H104", "invalid-date-math", "from, to or history_window_start is not valid date math",
       explanation="""
       These fields are Elasticsearch date math relative to now: `now`, `now-6m`, `now-14d`,
       optionally rounded (`now-1d/d`). Units are y, M (months), w, d, h, m (minutes), s. Anything
       else fails when the rule runs.
       """,
       bad="""
       from: now-7m
       to: now-1min
       """,
       good="""
       from: now-7m
       to: now-1m
       """)
def invalid_date_math(ctx: RuleContext) -> Iterator[Diagnostic]:
    rule = ctx.rule.rule
    for key in ("from", "to", "history_window_start"):
        value = rule.get(key)
        if isinstance(value, str) and parse_date_math(value) is None:
            yield Diagnostic(ctx.at(("rule", key)), "H104", f"{key} '{value}' is not date math relative to now",
                             hint="write now, now-<number><unit> (units y M w d h m s), e.g. now-6m")


# ------------------------------------------------------------------------------------------ H105

@check("H105", "max-signals-limit", "max_signals is above the alerting framework's limit",
       explanation="""
       Kibana caps alerts per run at `xpack.alerting.rules.run.alerts.max` (1000 by default); a
       higher `max_signals` is silently cut to that. Configure another limit with
       `[tool.detection.lint] max-signals = N` if your deployment raised it.
       """,
       bad="""
       max_signals: 10000
       """,
       good="""
       max_signals: 1000
       """)
def max_signals_limit(ctx: RuleContext) -> Iterator[Diagnostic]:
    value, limit = ctx.rule.rule.get("max_signals"), ctx.settings.max_signals
    if isinstance(value, int) and not isinstance(value, bool) and value > limit:
        yield Diagnostic(ctx.at(("rule", "max_signals")), "H105",
                         f"max_signals {value} is above the limit of {limit} alerts per run",
                         hint=f"set max_signals to at most {limit}")


# ------------------------------------------------------------------------------------------ H106-H108

def _date(value: object) -> dt.date | None | bool:
    """The date, None when absent, False when not a real calendar date."""
    if not isinstance(value, str):
        return None
    match = _DATE.match(value.strip())
    if not match:
        return False
    try:
        return dt.date(*(int(g) for g in match.groups()))
    except ValueError:
        return False


def _metadata_dates(ctx: RuleContext) -> dict[str, dt.date]:
    out = {}
    for key in ("creation_date", "updated_date", "deprecation_date"):
        value = _date(ctx.rule.metadata.get(key))
        if isinstance(value, dt.date):
            out[key] = value
    return out


@check("H106", "dates-out-of-order", "updated_date or deprecation_date is before creation_date",
       explanation="""
       A rule cannot change or be deprecated before it was created; one of the dates is wrong, which
       also breaks "recently updated" views and changelogs.
       """,
       bad="""
       metadata:
         creation_date: 2024/01/10
         updated_date: 2023/12/01
       """,
       good="""
       metadata:
         creation_date: 2024/01/10
         updated_date: 2024/02/01
       """)
def dates_out_of_order(ctx: RuleContext) -> Iterator[Diagnostic]:
    dates = _metadata_dates(ctx)
    created = dates.get("creation_date")
    if created is None:
        return
    for key in ("updated_date", "deprecation_date"):
        when = dates.get(key)
        if when is not None and when < created:
            yield Diagnostic(ctx.at(("metadata", key)), "H106",
                             f"{key} {ctx.rule.metadata[key]} is before creation_date {ctx.rule.metadata['creation_date']}",
                             hint=f"fix one of the two dates; {key} must be on or after creation_date")


@check("H107", "invalid-date", "a date that does not exist in the calendar",
       explanation="""
       Dates are written YYYY/MM/DD; the schema checks the shape, this check that the day exists
       (no 2024/02/30, no month 13).
       """,
       bad="""
       metadata:
         updated_date: 2024/02/30
       """,
       good="""
       metadata:
         updated_date: 2024/02/29
       """)
def invalid_date(ctx: RuleContext) -> Iterator[Diagnostic]:
    for key in ("creation_date", "updated_date", "deprecation_date"):
        if _date(ctx.rule.metadata.get(key)) is False:
            yield Diagnostic(ctx.at(("metadata", key)), "H107", f"{key} '{ctx.rule.metadata[key]}' is not a real date",
                             hint="write an existing date as YYYY/MM/DD")
    for i, entry in enumerate(ctx.rule.document.get("history") or []):
        if isinstance(entry, dict) and _date(entry.get("date")) is False:
            yield Diagnostic(ctx.at(("history", i, "date")), "H107",
                             f"history date '{entry['date']}' is not a real date", hint="write an existing date as YYYY/MM/DD")


@check("H108", "history-date-out-of-range", "a history entry is dated after updated_date or before creation_date",
       explanation="""
       `metadata.updated_date` is the date of the newest change, so no version in `history` can be
       newer, and none can be older than `creation_date`. A newer history entry usually means the
       rule was changed without updating `updated_date` (`detection bump` sets both).
       """,
       bad="""
       metadata:
         creation_date: 2024/01/10
         updated_date: 2024/03/01
       history:
         - {version: 2, date: 2024/05/02, kind: query, summary: Narrowed the query.}
         - {version: 1, date: 2024/01/10, kind: created, summary: Created.}
       """,
       good="""
       metadata:
         creation_date: 2024/01/10
         updated_date: 2024/05/02
       history:
         - {version: 2, date: 2024/05/02, kind: query, summary: Narrowed the query.}
         - {version: 1, date: 2024/01/10, kind: created, summary: Created.}
       """,
       severity=Severity.WARNING)
def history_date_out_of_range(ctx: RuleContext) -> Iterator[Diagnostic]:
    dates = _metadata_dates(ctx)
    created, updated = dates.get("creation_date"), dates.get("updated_date")
    for i, entry in enumerate(ctx.rule.document.get("history") or []):
        when = _date(entry.get("date")) if isinstance(entry, dict) else None
        if not isinstance(when, dt.date):
            continue
        if updated is not None and when > updated:
            yield Diagnostic(ctx.at(("history", i, "date")), "H108",
                             f"version {entry.get('version')} is dated {entry['date']}, after updated_date "
                             f"{ctx.rule.metadata['updated_date']}",
                             hint=f"set metadata.updated_date to {entry['date']} (detection bump keeps them in step)")
        elif created is not None and when < created:
            yield Diagnostic(ctx.at(("history", i, "date")), "H108",
                             f"version {entry.get('version')} is dated {entry['date']}, before creation_date "
                             f"{ctx.rule.metadata['creation_date']}",
                             hint="fix the history date or metadata.creation_date")


# ------------------------------------------------------------------------------------------ H109-H112

@check("H109", "reference-not-url", "a reference is not an http(s) URL",
       explanation="""
       Kibana shows `references` as links. An entry that is not an absolute http or https URL
       (a bare domain, a note, a URL with spaces) renders as a dead link.
       """,
       bad="""
       references:
         - docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
       """,
       good="""
       references:
         - https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
       """)
def reference_not_url(ctx: RuleContext) -> Iterator[Diagnostic]:
    for i, ref in enumerate(ctx.rule.rule.get("references") or []):
        if not isinstance(ref, str):
            continue
        parts = urlsplit(ref.strip())
        if parts.scheme in ("http", "https") and parts.netloc and not any(c.isspace() for c in ref.strip()) \
                and ref == ref.strip():
            continue
        hint = f"write https://{ref.strip()}" if not parts.scheme and "." in ref.split("/")[0] else \
            "write an absolute http(s) URL without spaces"
        yield Diagnostic(ctx.at(("rule", "references", i)), "H109", f"reference '{ref}' is not an http(s) URL",
                         hint=hint)


@check("H110", "duplicate-entry", "a tag, reference or index pattern is listed twice",
       explanation="""
       Duplicates in `tags`, `references` or `index` add nothing and usually hide a copy-paste
       mistake (the second entry was meant to be something else).
       """,
       bad="""
       tags: ["Domain: Cloud", "Data Source: AWS", "Domain: Cloud"]
       """,
       good="""
       tags: ["Domain: Cloud", "Data Source: AWS"]
       """,
       severity=Severity.WARNING)
def duplicate_entry(ctx: RuleContext) -> Iterator[Diagnostic]:
    for key in ("tags", "references", "index"):
        seen: dict[str, int] = {}
        for i, item in enumerate(ctx.rule.rule.get(key) or []):
            if not isinstance(item, str):
                continue
            if item in seen:
                yield Diagnostic(ctx.at(("rule", key, i)), "H110",
                                 f"{key} lists '{item}' twice (first at item {seen[item] + 1})", hint="remove one")
            else:
                seen[item] = i


def _tag_key(tag: str) -> str:
    """Spelling-insensitive form of a tag: case, spacing and the space after ':' ignored."""
    text = re.sub(r"\s+", " ", tag.strip()).casefold()
    return re.sub(r"\s*:\s*", ": ", text)


@check("H111", "tag-spelling", "a tag is spelt differently from the same tag elsewhere",
       explanation="""
       Tags are filters in Kibana: `Domain: Cloud` and `domain:cloud` are two different filters, so a
       rule with the odd spelling drops out of the other rules' group. The check compares every tag
       with the rest of the repository (case, spacing, the space after `:`) and suggests the most
       used spelling; it also flags leading, trailing or doubled spaces.
       """,
       bad="""
       # another rule has tags: ["Domain: Cloud"]
       tags: ["domain:cloud"]
       """,
       good="""
       tags: ["Domain: Cloud"]
       """,
       severity=Severity.WARNING, scope="project")
def tag_spelling(project: ProjectContext) -> Iterator[Diagnostic]:
    spellings: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for rule in project.rules:
        for tag in set(t for t in rule.rule.get("tags") or [] if isinstance(t, str)):
            spellings[_tag_key(tag)][tag] += 1
    preferred = {}
    for key, counts in spellings.items():
        # Most used; among equals, the tidiest (no stray spaces) and then alphabetical.
        preferred[key] = sorted(counts, key=lambda t: (-counts[t], t != re.sub(r"\s+", " ", t.strip()), t))[0]
    for rule in project.rules:
        for i, tag in enumerate(rule.rule.get("tags") or []):
            if not isinstance(tag, str):
                continue
            best = preferred[_tag_key(tag)]
            tidy = re.sub(r"\s+", " ", tag.strip())
            if tag != best and tidy != tag and tidy == best:
                message = f"tag '{tag}' has stray spaces"
            elif tag != best:
                message = f"tag '{tag}' is spelt '{best}' in other rules"
            elif tidy != tag:
                message, best = f"tag '{tag}' has stray spaces", tidy
            else:
                continue
            yield Diagnostic(rule.location(("rule", "tags", i)), "H111", message, hint=f"write '{best}'",
                             data={"suggestion": best, "rule_id": rule.rule_id})


@check("H112", "tag-not-allowed", "a tag is not in the project's list of allowed tags",
       explanation="""
       When `[tool.detection.lint] allowed-tags = [...]` is set, every tag must be one of them, so
       filters and dashboards built on tags keep working. Without the setting this check does
       nothing.
       """,
       bad="""
       # pyproject.toml: [tool.detection.lint] allowed-tags = ["Domain: Cloud", "Data Source: AWS"]
       tags: ["Domain: Clouds"]
       """,
       good="""
       tags: ["Domain: Cloud"]
       """)
def tag_not_allowed(ctx: RuleContext) -> Iterator[Diagnostic]:
    allowed = ctx.settings.allowed_tags
    if allowed is None:
        return
    for i, tag in enumerate(ctx.rule.rule.get("tags") or []):
        if isinstance(tag, str) and tag not in allowed:
            close = difflib.get_close_matches(tag, list(allowed), n=1, cutoff=0.6)
            yield Diagnostic(ctx.at(("rule", "tags", i)), "H112", f"tag '{tag}' is not in allowed-tags",
                             hint=f"did you mean '{close[0]}'?" if close else
                             "use an allowed tag or add it to [tool.detection.lint] allowed-tags",
                             data={"suggestion": close[0]} if close else {})


# ------------------------------------------------------------------------------------------ H113-H114

@check("H113", "deprecated-without-reason", "a deprecated rule lacks deprecation_date or deprecated_reason",
       explanation="""
       When a rule is retired (`maturity: deprecated`) users of the rule need to know when and why,
       and what replaces it. Record `deprecation_date` and `deprecated_reason` in `metadata`.
       """,
       bad="""
       metadata:
         creation_date: 2021/10/15
         maturity: deprecated
       """,
       good="""
       metadata:
         creation_date: 2021/10/15
         maturity: deprecated
         deprecation_date: 2024/06/14
         deprecated_reason: Replaced by "AWS STS Role Chaining".
       """)
def deprecated_without_reason(ctx: RuleContext) -> Iterator[Diagnostic]:
    meta = ctx.rule.metadata
    if meta.get("maturity") != "deprecated":
        return
    missing = [k for k in ("deprecation_date", "deprecated_reason") if not meta.get(k)]
    if missing:
        yield Diagnostic(ctx.at(("metadata", "maturity")), "H113",
                         f"deprecated rule has no {' or '.join(missing)}",
                         hint="add " + " and ".join(f"metadata.{k}" for k in missing))


@check("H114", "index-and-data-view", "both index and data_view_id are set",
       explanation="""
       When a rule has a `data_view_id`, Kibana searches the data view and ignores `index`, so the
       index patterns in the file are misleading (and lint checks fields against them). Keep one.
       """,
       bad="""
       index: [logs-aws*]
       data_view_id: security-solution-default
       """,
       good="""
       index: [logs-aws*]
       """,
       severity=Severity.WARNING)
def index_and_data_view(ctx: RuleContext) -> Iterator[Diagnostic]:
    rule = ctx.rule.rule
    if rule.get("index") and rule.get("data_view_id"):
        yield Diagnostic(ctx.at(("rule", "data_view_id"), key=True), "H114",
                         "both index and data_view_id are set; Kibana uses the data view and ignores index",
                         hint="remove index or data_view_id")


# ------------------------------------------------------------------------------------------ H118

# The stand-ins `detection new` writes for what only the author can say (detection/scaffold.py).
PLACEHOLDERS = ("REPLACE ME", "REPLACE-ME")


@check("H118", "scaffold-placeholder", "a value still holds the placeholder `detection new` wrote",
       explanation="""
       `detection new` fills the description (and the query, when none was given) with a `REPLACE ME`
       stand-in so that the rule loads and lints while it is being written. Left in place it would
       reach Kibana as the text analysts read when the rule fires. Write what the rule detects, why
       it matters and what to check first.
       """,
       bad="""
       description: "REPLACE ME: what the rule detects, why it matters, and what to check first when it fires."
       """,
       good="""
       description: Identifies a new IAM user created by a principal other than the provisioning role.
       """)
def scaffold_placeholder(ctx: RuleContext) -> Iterator[Diagnostic]:
    # The rule table's strings and lists of strings (description, query, note, references, ...).
    for key, value in ctx.rule.rule.items():
        if isinstance(value, str):
            texts = [((key,), value)]
        elif isinstance(value, list):
            texts = [((key, i), item) for i, item in enumerate(value) if isinstance(item, str)]
        else:
            continue
        for path, text in texts:
            marker = next((m for m in PLACEHOLDERS if m in text), None)
            if marker is not None:
                shown = key if len(path) == 1 else f"{key}[{path[1]}]"
                yield Diagnostic(ctx.at(("rule", *path)), "H118",
                                 f"{shown} still holds the placeholder {marker!r} written by `detection new`",
                                 hint=f"write the rule's real {key} in its place")


# ------------------------------------------------------------------------------------------ U101-U102

def _duplicates(project: ProjectContext, code: str) -> Iterator[Diagnostic]:
    from detection.loader import duplicate_diagnostics

    for diag in duplicate_diagnostics(list(project.rules)):
        if diag.code == code:
            yield diag


@check("U101", "duplicate-rule-id", "two rules share a rule_id",
       explanation="""
       `rule_id` identifies a rule in Kibana: importing two files with the same id overwrites one
       with the other. Give each rule its own id (a new UUID) and never change it afterwards.
       """,
       bad="""
       # another rule has the same rule_id
       rule_id: 93075852-b0f5-4b8b-89c3-a226efae5726
       """,
       good="""
       rule_id: 5f1d2a2e-5a4b-4c52-9d0e-2b7c9b1f4e11
       """,
       scope="project")
def duplicate_rule_id(project: ProjectContext) -> Iterator[Diagnostic]:
    yield from _duplicates(project, "U101")


@check("U102", "duplicate-name", "two rules share a name",
       explanation="""
       Alerts, the rules table and the docs identify rules by name; two rules with one name cannot be
       told apart. Make the names say what differs.
       """,
       bad="""
       # another rule has the same name
       name: AWS STS AssumeRole Usage
       """,
       good="""
       name: AWS STS AssumeRole Usage by a Role Session
       """,
       scope="project")
def duplicate_name(project: ProjectContext) -> Iterator[Diagnostic]:
    yield from _duplicates(project, "U102")


CHECKS = (severity_risk_mismatch, look_back_gap, look_back_no_margin, invalid_date_math, max_signals_limit,
          dates_out_of_order, invalid_date, history_date_out_of_range, reference_not_url, duplicate_entry,
          tag_spelling, tag_not_allowed, deprecated_without_reason, index_and_data_view,
          scaffold_placeholder)
UNIQUENESS = (duplicate_rule_id, duplicate_name)
