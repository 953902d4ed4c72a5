"""Rule files to the ndjson that Kibana's ``POST /api/detection_engine/rules/_import`` accepts.

Each line is the rule's ``rule`` table in Kibana form (TOML-only shapes flattened by
``normalise_rule``) with its version, plus the derived ``required_fields`` and
``related_integrations`` (see ``detection.kibana_fields``). Nothing from ``metadata`` or ``history``
goes out, nor Kibana's own ``revision`` counter. Rules are written sorted by ``rule_id`` (then by
file path), keys sorted, one compact UTF-8 JSON object per line, so the same rules always give the
same bytes. Deprecated rules (``metadata.maturity: deprecated``) are left out unless asked for.

Derived fields never overwrite what a rule file states: a rule table that has ``required_fields``
or ``related_integrations`` exports them as written, and ``metadata.export_derived_fields: false``
turns derivation off for the rule (``detection import`` sets it when the imported object had
neither key, so that a re-export gives back the same line).

Every line is checked against the shipped Kibana import schema and Kibana's extra import checks
before anything is written; a failure is reported at the rule file's line and column.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location, Severity, sort_diagnostics
from detection.guide_plugins import render_placeholders
from detection.kibana_check import details_problems, import_problems
from detection.kibana_fields import (
    FieldTypes,
    Package,
    QueryFieldsUnavailable,
    default_field_types,
    package_table,
    related_integrations,
    required_fields,
)
from detection.kibana_ndjson import dumps_line
from detection.loader import load_rules
from detection.model import RuleFile, normalise_rule

CODE_DUPLICATE_ID = "K105"
CODE_NO_REQUIRED_FIELDS = "K120"
CODE_NO_PACKAGE_VERSION = "K121"
# Kibana's own bookkeeping: never part of what a repository sends.
NOT_EXPORTED = frozenset({"revision"})
DERIVED = ("required_fields", "related_integrations")


@dataclass(frozen=True)
class ExportSettings:
    include_deprecated: bool = False
    packages: Mapping[str, Package] | None = None  # None: the shipped table
    field_types: FieldTypes | None = None  # None: detection.fields / ECS


@dataclass(frozen=True)
class ExportedRule:
    source: RuleFile
    payload: Mapping[str, Any]
    line: str


@dataclass(frozen=True)
class RuleExport:
    rules: tuple[ExportedRule, ...]
    skipped: tuple[RuleFile, ...] = ()
    warnings: tuple[Diagnostic, ...] = field(default_factory=tuple)

    def ndjson(self, details: bool = False) -> str:
        """The file's text: one rule per line, then Kibana's export summary line if asked."""
        lines = [r.line for r in self.rules]
        if details:
            lines.append(dumps_line(export_details(len(self.rules))))
        return "".join(line + "\n" for line in lines)


def export_details(rule_count: int) -> dict[str, Any]:
    """The summary line Kibana appends to an export (rules only: no exceptions or connectors)."""
    return {
        "exported_count": rule_count,
        "exported_rules_count": rule_count,
        "missing_rules": [],
        "missing_rules_count": 0,
        "exported_exception_list_count": 0,
        "exported_exception_list_item_count": 0,
        "missing_exception_list_item_count": 0,
        "missing_exception_list_items": [],
        "missing_exception_lists": [],
        "missing_exception_lists_count": 0,
        "exported_action_connector_count": 0,
        "missing_action_connection_count": 0,
        "missing_action_connections": [],
        "excluded_action_connection_count": 0,
        "excluded_action_connections": [],
    }


def is_deprecated(rule: RuleFile) -> bool:
    return rule.maturity == "deprecated"


def export_version(rule: RuleFile) -> int:
    """The version to send: the rule's, else its newest history entry's, else 1 (Kibana's default)."""
    if isinstance(rule.version, int):
        return rule.version
    if rule.history:
        return rule.history[0].version
    return 1


def build_payload(rule: RuleFile, packages: Mapping[str, Package],
                  types: FieldTypes) -> tuple[dict[str, Any], list[Diagnostic]]:
    """The Kibana object for one rule, and warnings about fields that could not be derived."""
    payload = {k: v for k, v in normalise_rule(rule.rule).items() if k not in NOT_EXPORTED}
    payload["version"] = export_version(rule)
    transform = rule.document.get("transform")
    for key in ("note", "setup"):  # a TOML rule's $osquery_0 / $investigate_0 become Kibana's buttons
        if transform and isinstance(payload.get(key), str):
            payload[key] = render_placeholders(payload[key], transform)
    warnings: list[Diagnostic] = []
    if rule.metadata.get("export_derived_fields", True) is False:
        return payload, warnings
    if "required_fields" not in payload:
        try:
            derived = required_fields(payload, types.for_rule(payload))
        except QueryFieldsUnavailable as exc:
            derived = []
            warnings.append(Diagnostic(rule.location(("rule", "query")), CODE_NO_REQUIRED_FIELDS,
                                       f"required_fields left out: {exc}", severity=Severity.WARNING,
                                       hint="fix the query, or write required_fields in the rule table"))
        if derived:
            payload["required_fields"] = derived
    if "related_integrations" not in payload:
        derived_integrations, unknown = related_integrations(payload, rule.metadata, packages)
        for name in unknown:
            where = ("metadata", "integration") if "integration" in rule.metadata else ("rule", "query")
            warnings.append(Diagnostic(rule.location(where), CODE_NO_PACKAGE_VERSION,
                                       f"integration {name!r} has no known version constraint; "
                                       "related_integrations leaves it out", severity=Severity.WARNING,
                                       hint=f'add {name} = "^x.y.z" under [tool.detection.integrations] in pyproject.toml'))
        if derived_integrations:
            payload["related_integrations"] = derived_integrations
    return payload, warnings


def _where(rule: RuleFile, path: Sequence[Any]) -> Location:
    """A problem in the payload, placed in the rule file (derived fields point at the query)."""
    if path and path[0] in DERIVED and path[0] not in rule.rule:
        return rule.location(("rule", "query") if "query" in rule.rule else ("rule",), key=True)
    if not path:
        return rule.location(("rule",), key=True)
    return rule.location(("rule", *path), key=len(path) == 1 and path[0] not in rule.rule)


def check_payload(rule: RuleFile, payload: Mapping[str, Any]) -> list[Diagnostic]:
    """Kibana import problems in one payload, located in the rule file."""
    return [Diagnostic(_where(rule, p.path), p.code, f"Kibana would refuse this rule: {p.message}", hint=p.hint)
            for p in import_problems(payload)]


def export_rules(rules: Iterable[RuleFile], settings: ExportSettings = ExportSettings()) -> RuleExport:
    """Build and check every line; raise DetectionError (nothing is returned) if any fails."""
    packages = settings.packages if settings.packages is not None else package_table()
    types = settings.field_types or default_field_types()
    chosen: list[RuleFile] = []
    skipped: list[RuleFile] = []
    for rule in rules:
        (chosen if settings.include_deprecated or not is_deprecated(rule) else skipped).append(rule)
    chosen.sort(key=lambda r: (r.rule_id, r.display_path))
    errors: list[Diagnostic] = []
    warnings: list[Diagnostic] = []
    exported: list[ExportedRule] = []
    first_seen: dict[str, RuleFile] = {}
    for rule in chosen:
        if rule.rule_id in first_seen:
            other = first_seen[rule.rule_id]
            errors.append(Diagnostic(rule.location(("rule", "rule_id")), CODE_DUPLICATE_ID,
                                     f"rule_id {rule.rule_id!r} is also used by {other.display_path}",
                                     hint="Kibana imports one rule per rule_id; give each rule its own"))
            continue
        first_seen[rule.rule_id] = rule
        payload, notes = build_payload(rule, packages, types)
        warnings.extend(notes)
        problems = check_payload(rule, payload)
        if problems:
            errors.extend(problems)
            continue
        try:
            line = dumps_line(payload)
        except ValueError as exc:  # NaN or infinity from a TOML float
            errors.append(Diagnostic(rule.location(("rule",), key=True), "K103",
                                     f"Kibana would refuse this rule: {exc}"))
            continue
        exported.append(ExportedRule(rule, payload, line))
    details = details_problems(export_details(len(exported)))
    if details:  # only if the shipped details schema and export_details() disagree
        errors.append(Diagnostic(Location("<export details>", 0, 0), "K103", details[0].message))
    if errors:
        raise DetectionError(sort_diagnostics(errors))
    return RuleExport(tuple(exported), tuple(skipped), tuple(sort_diagnostics(warnings)))


def export_paths(paths: Sequence[Path | str], settings: ExportSettings = ExportSettings()) -> RuleExport:
    """Load the rules under ``paths`` and export them; load problems raise DetectionError."""
    loaded = load_rules(paths)
    if loaded.diagnostics:
        raise DetectionError(loaded.diagnostics)
    return export_rules(loaded.rules, settings)
