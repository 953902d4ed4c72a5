"""Would Kibana import this rule object? The shipped import schema plus Kibana's checks outside it.

The schema is ``schemas/kibana/rule_import.schema.json`` (Kibana's ``RuleToImport`` converted to
JSON Schema; see ``schemas/kibana/README.md``). Kibana validates a few more things in code, which
``extra_problems`` repeats: the interval format the alerting framework wants, timeline id/title
pairing, the threshold limits and the new terms history window. Results are ``Problem``s with a
path into the object, so callers can place them in a rule file or in an ndjson line.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jsonschema

from detection.resources import load_schema
from detection.validation import describe_path

IMPORT_SCHEMA = "kibana/rule_import.schema.json"
DETAILS_SCHEMA = "kibana/rule_export_details.schema.json"
CODE_SCHEMA = "K103"
CODE_OUTSIDE_SCHEMA = "K104"
# Every K1xx code the export, import and package commands report, with what it means.
KIBANA_CODES = MappingProxyType({
    "K101": "an ndjson line is not valid JSON (the column is where parsing stopped)",
    "K102": "an ndjson line is JSON but not an object",
    "K103": "Kibana's import schema refuses the rule object",
    "K104": "a check Kibana makes outside its schema fails (interval, timeline pairing, threshold limits, "
             "new terms history window)",
    "K105": "two rules share a rule_id",
    "K106": "import would replace an existing rule file (use --force)",
    "K107": "import dropped a field that is not a Kibana rule field (warning)",
    "K108": "the export-details line disagrees with the file or reports missing rules (warning)",
    "K109": "an exception list, exception item or connector line is reported, not imported (warning)",
    "K110": "the export file cannot be read as UTF-8, or the import target is not a folder",
    "K111": "an imported rule has no version and becomes version 1 (warning)",
    "K112": "a JSON object repeats a key",
    "K113": "an imported rule would not be a valid rule file for this project",
    "K120": "required_fields could not be derived from the query (warning)",
    "K121": "an integration has no known version constraint and is left out of related_integrations (warning)",
})
DURATION = re.compile(r"^[1-9][0-9]*[smhd]$")


@dataclass(frozen=True)
class Problem:
    path: tuple[Any, ...]
    message: str
    code: str = CODE_SCHEMA
    hint: str | None = None


@functools.cache
def _validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(load_schema(name), format_checker=jsonschema.FormatChecker())


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _schema_problem(error: jsonschema.ValidationError) -> list[Problem]:
    path = tuple(error.absolute_path)
    where = describe_path(path) if path else "the rule"
    kind = error.validator
    if kind == "required":
        missing = [n for n in error.validator_value if isinstance(error.instance, dict) and n not in error.instance]
        return [Problem(path + (name,), f"{where} is missing required field '{name}'",
                        hint=f"add '{name}'; Kibana refuses the rule without it") for name in missing]
    if kind == "type":
        wanted = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [Problem(path, f"{where} must be {' or '.join(wanted)}, not {_describe(error.instance)}")]
    if kind in ("enum", "const"):
        choices = error.validator_value if kind == "enum" else [error.validator_value]
        return [Problem(path, f"{where} has value {_describe(error.instance)}; Kibana accepts "
                              + ", ".join(str(c) for c in choices))]
    if kind == "pattern":
        if str(error.validator_value).startswith("^(now"):
            return [Problem(path, f"{where} {_describe(error.instance)} is not date math",
                            hint="write date math such as now-6m or now-1h/h")]
        if error.validator_value == r"\S":
            return [Problem(path, f"{where} must contain a non-blank character")]
        return [Problem(path, f"{where} {_describe(error.instance)} does not match {error.validator_value}")]
    if kind == "minLength" and error.validator_value == 1:
        return [Problem(path, f"{where} must not be empty")]
    return [Problem(path, f"{where}: {error.message}")]


def schema_problems(obj: Mapping[str, Any], schema_name: str = IMPORT_SCHEMA) -> list[Problem]:
    """Every violation of one shipped Kibana schema, in a stable order."""
    errors = sorted(_validator(schema_name).iter_errors(obj), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    out: list[Problem] = []
    for error in errors:
        for problem in _schema_problem(error):
            if problem not in out:
                out.append(problem)
    return out


def extra_problems(rule: Mapping[str, Any]) -> list[Problem]:
    """The import checks Kibana makes in code rather than in its schema."""
    out: list[Problem] = []
    interval = rule.get("interval")
    if isinstance(interval, str) and not DURATION.match(interval):
        out.append(Problem(("interval",), f"interval {interval!r} is not a duration the alerting framework accepts",
                           CODE_OUTSIDE_SCHEMA, "write a whole number and a unit s, m, h or d, e.g. 5m"))
    tid, title = rule.get("timeline_id"), rule.get("timeline_title")
    for key, value, other, other_value in (("timeline_id", tid, "timeline_title", title),
                                           ("timeline_title", title, "timeline_id", tid)):
        if value is None:
            continue
        if other_value is None:
            out.append(Problem((key,), f"{key} is set but {other} is not", CODE_OUTSIDE_SCHEMA,
                               f"Kibana needs both; add {other} or remove {key}"))
        elif value == "":
            out.append(Problem((key,), f"{key} must not be empty", CODE_OUTSIDE_SCHEMA))
    threshold = rule.get("threshold")
    if rule.get("type") == "threshold" and isinstance(threshold, Mapping):
        fields = threshold.get("field")
        group = [fields] if isinstance(fields, str) else list(fields or []) if isinstance(fields, list) else []
        cardinality = threshold.get("cardinality") or []
        if isinstance(cardinality, list) and cardinality and isinstance(cardinality[0], Mapping):
            counted = cardinality[0].get("field")
            if counted and counted in group:
                out.append(Problem(("threshold", "cardinality", 0, "field"),
                                   f"cardinality of {counted!r} is always 1 because the rule groups by it",
                                   CODE_OUTSIDE_SCHEMA, "count a field that is not in threshold.field"))
        if len(group) > 5:
            out.append(Problem(("threshold", "field"), f"threshold groups by {len(group)} fields; Kibana allows 5",
                               CODE_OUTSIDE_SCHEMA))
    if rule.get("type") == "new_terms":
        out.extend(_history_window_problems(rule))
    return out


def _history_window_problems(rule: Mapping[str, Any]) -> list[Problem]:
    """Kibana's new terms rule type refuses a history window that does not start before ``from``
    (both resolved against the same now, as its params validation does)."""
    from datetime import UTC, datetime

    from detection.kql.dates import parse_date_math

    start, look_back = rule.get("history_window_start"), rule.get("from", "now-6m")
    if not isinstance(start, str) or not isinstance(look_back, str):
        return []
    now = datetime.now(UTC)
    try:
        if parse_date_math(start, now) < parse_date_math(look_back, now):
            return []
    except (ValueError, OverflowError):
        return []  # not date math (the schema's pattern reports it) or out of range
    return [Problem(("history_window_start",),
                    f"history_window_start {start!r} is not earlier than from {look_back!r}; Kibana refuses the rule",
                    CODE_OUTSIDE_SCHEMA, "set history_window_start well before from, e.g. now-14d")]


def import_problems(rule: Mapping[str, Any]) -> list[Problem]:
    """Everything that would make Kibana's rule import refuse this object."""
    return schema_problems(rule) + extra_problems(rule)


def details_problems(obj: Mapping[str, Any]) -> list[Problem]:
    return schema_problems(obj, DETAILS_SCHEMA)


def migrate_investigation_fields(rule: dict[str, Any]) -> dict[str, Any]:
    """Kibana turns the legacy list form of investigation_fields into {field_names} before checking."""
    value = rule.get("investigation_fields")
    if isinstance(value, list):
        rule = dict(rule)
        if value:
            rule["investigation_fields"] = {"field_names": list(value)}
        else:
            del rule["investigation_fields"]
    return rule
