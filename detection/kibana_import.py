"""A Kibana rules export (.ndjson) to rule files, one YAML file per rule.

Each line is classified as Kibana's import route does (``detection.kibana_ndjson.classify``). Rule
lines lose Kibana's server-side fields (``id``, ``created_*``, ``updated_*``, ``immutable``,
``rule_source``, ``revision``, ``execution_summary``...) and keep every other field exactly, Kibana
defaults included, so that ``detection export`` of the result gives back the same line. Fields the
rule schema does not know are dropped with a warning (Kibana would drop them too). Exception
lists, exception items, action connectors and the export-details line are recognised and
reported, not written: rule files hold rules, and each rule keeps its ``exceptions_list`` and
``actions`` references.

A rule file gets ``metadata`` (creation and update dates from Kibana's timestamps, else today;
``maturity``; ``integration`` from ``related_integrations``) and a ``history`` with one ``created``
entry: the imported version (1 when the line has none), today's date and the export's file name.

Layout: ``flat`` puts every file in the target folder; ``integration`` puts it in a sub-folder named
after the rule's first related integration package (``custom`` when it has none). File names come
from the rule name in snake_case; two rules with the same name get a suffix from their rule_id.
A rule whose rule_id already has a file in the target folder replaces that file only with
``force``; so does a file already at the target path. Nothing is written unless every line is
usable, and each file is written atomically.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.atomic_write import write_atomic
from detection.diagnostics import DetectionError, Diagnostic, Location, Severity, sort_diagnostics
from detection.kibana_check import details_problems, import_problems, migrate_investigation_fields
from detection.kibana_ndjson import (
    CONNECTOR,
    DETAILS,
    EXCEPTION_ITEM,
    EXCEPTION_LIST,
    RULE,
    NdjsonLine,
    decode_text,
    read_ndjson,
)
from detection.loader import discover_rule_files, display, load_rule_file, parse_document
from detection.resources import load_schema
from detection.rule_writer import dump_rule_document
from detection.validation import schema_diagnostics

CODE_DUPLICATE_ID = "K105"
CODE_TARGET_EXISTS = "K106"
CODE_UNKNOWN_FIELD = "K107"
CODE_DETAILS = "K108"
CODE_SKIPPED = "K109"
CODE_UNREADABLE = "K110"
CODE_NO_VERSION = "K111"
CODE_NOT_A_RULE_FILE = "K113"

# What Kibana adds to a rule on the server: never part of a rule file.
SERVER_FIELDS = frozenset({
    "id", "created_at", "created_by", "updated_at", "updated_by", "immutable", "rule_source", "revision",
    "execution_summary", "outcome", "alias_target_id", "alias_purpose",
})
LAYOUTS = ("flat", "integration")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


@dataclass(frozen=True)
class ImportedRule:
    line: int
    rule_id: str
    name: str
    target: Path
    document: dict[str, Any]
    text: str
    replaces: bool = False


@dataclass(frozen=True)
class SkippedLine:
    line: int
    kind: str
    label: str


@dataclass
class ImportPlan:
    source: str
    rules: list[ImportedRule] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)
    details: dict[str, Any] | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors


def known_rule_fields() -> frozenset[str]:
    """Fields a rule table may hold (the project's rule schema), less Kibana's server-side ones."""
    properties = load_schema("rule.schema.json")["properties"]["rule"]["properties"]
    return frozenset(properties) - SERVER_FIELDS


def rule_from_kibana(obj: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The rule table for a Kibana rule object, and the unknown fields that were dropped."""
    known = known_rule_fields()
    rule: dict[str, Any] = {}
    unknown: list[str] = []
    for key, value in obj.items():
        if key in SERVER_FIELDS:
            continue
        if key in known:
            rule[key] = value
        else:
            unknown.append(key)
    return migrate_investigation_fields(rule), sorted(unknown)


def snake_name(name: str, fallback: str) -> str:
    """A file stem from a rule name: lower case, letters and digits joined by underscores."""
    stem = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")[:80].rstrip("_")
    return stem or re.sub(r"[^a-z0-9]+", "_", fallback.lower()).strip("_") or "rule"


def _slash_date(value: Any, today: str) -> str:
    match = _ISO_DATE.match(value) if isinstance(value, str) else None
    return f"{match[1]}/{match[2]}/{match[3]}" if match else today


def _content_hash(rule: Mapping[str, Any]) -> str | None:
    """The versioning code's content hash, when that module is part of this build."""
    for module_name in ("detection.versioning", "detection.content_hash"):
        try:
            function = importlib.import_module(module_name).content_hash
        except (ImportError, AttributeError):
            continue
        try:
            value = function(rule)
        except Exception:  # noqa: BLE001 - an unhashable rule is reported by `detection bump`, not here
            return None
        return value if isinstance(value, str) else None
    return None


def rule_document(obj: Mapping[str, Any], rule: dict[str, Any], *, source_name: str, today: str,
                  maturity: str = "production") -> dict[str, Any]:
    """The whole rule file (metadata, rule, history) for one imported rule object."""
    metadata: dict[str, Any] = {
        "creation_date": _slash_date(obj.get("created_at"), today),
        "updated_date": _slash_date(obj.get("updated_at"), today),
        "maturity": maturity,
    }
    packages = sorted({i["package"] for i in rule.get("related_integrations") or []
                       if isinstance(i, Mapping) and isinstance(i.get("package"), str)})
    if packages:
        metadata["integration"] = packages
    if any(key not in rule for key in ("required_fields", "related_integrations")):
        # Export must not add fields the imported object did not have.
        metadata["export_derived_fields"] = False
    if metadata["updated_date"] < metadata["creation_date"]:
        metadata["updated_date"] = metadata["creation_date"]
    entry: dict[str, Any] = {
        "version": rule["version"] if isinstance(rule.get("version"), int) and rule["version"] >= 1 else 1,
        "date": today,
        "kind": "created",
        "summary": f"Imported from Kibana export {source_name}",
    }
    digest = _content_hash(rule)
    if digest:
        entry["hash"] = digest
    return {"metadata": metadata, "rule": rule, "history": [entry]}


def _schema_header(target: Path, schema_file: Path | None) -> str | None:
    if schema_file is None or not schema_file.is_file():
        return None
    project = schema_file.resolve().parent.parent
    if not target.resolve().is_relative_to(project):
        return None  # a path out of the project would break as soon as the files move
    relative = os.path.relpath(schema_file.resolve(), target.parent.resolve())
    return f"yaml-language-server: $schema={Path(relative).as_posix()}"


def _existing_rule_ids(into: Path) -> dict[str, Path]:
    """rule_id -> file for the rules already in the target folder (broken files are skipped)."""
    found: dict[str, Path] = {}
    if not into.is_dir():
        return found
    for path in discover_rule_files([into]):
        try:
            rule = load_rule_file(path)
        except DetectionError:
            continue
        found.setdefault(rule.rule_id, path)
    return found


def _at(shown: str, line: NdjsonLine, key: str | None = None) -> Location:
    return Location(shown, line.number, line.key_column(key) if key else 1)


def _report_other(plan: ImportPlan, shown: str, line: NdjsonLine) -> None:
    value = line.value
    if line.kind == DETAILS:
        plan.details = value
        for problem in details_problems(value):
            plan.diagnostics.append(Diagnostic(_at(shown, line), CODE_DETAILS, f"export details line: {problem.message}",
                                               severity=Severity.WARNING))
        return
    label = str(value.get("item_id") or value.get("list_id") or value.get("id") or "?")
    what = {EXCEPTION_LIST: "exception list", EXCEPTION_ITEM: "exception list item",
            CONNECTOR: "action connector"}[line.kind]
    plan.skipped.append(SkippedLine(line.number, line.kind, label))
    plan.diagnostics.append(Diagnostic(
        _at(shown, line), CODE_SKIPPED, f"{what} {label!r} is not imported: rule files hold rules only",
        severity=Severity.WARNING,
        hint="the rules keep their references to it; import it into Kibana with the rules or manage it there"))


def _check_counts(plan: ImportPlan, shown: str, lines: list[NdjsonLine], rule_lines: int) -> None:
    details = plan.details
    if details is None:
        return
    where = next(Location(shown, ln.number, 1) for ln in lines if ln.kind == DETAILS)
    expected = details.get("exported_rules_count")
    if isinstance(expected, int) and expected != rule_lines:
        plan.diagnostics.append(Diagnostic(where, CODE_DETAILS, f"the export says it has {expected} rule(s) but "
                                           f"{rule_lines} rule line(s) were found", severity=Severity.WARNING,
                                           hint="the file may be truncated or edited; export it again"))
    missing = [m.get("rule_id") for m in details.get("missing_rules") or [] if isinstance(m, Mapping)]
    if missing:
        plan.diagnostics.append(Diagnostic(where, CODE_DETAILS, "Kibana could not export rule(s): "
                                           + ", ".join(map(str, missing)), severity=Severity.WARNING))


def plan_import(path: Path | str, into: Path | str, *, layout: str = "flat", today: str | None = None,
                maturity: str = "production", force: bool = False,
                schema_file: Path | None = None) -> ImportPlan:
    """Read an export and work out every file to write; nothing touches the disk here."""
    path, into = Path(path), Path(into)
    shown = display(path)
    plan = ImportPlan(source=shown)
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}")
    today = today or dt.date.today().strftime("%Y/%m/%d")
    if into.exists() and not into.is_dir():
        plan.diagnostics.append(Diagnostic(Location(display(into), 0, 0), CODE_UNREADABLE,
                                           "the import target is a file, not a folder",
                                           hint="pass --into with a folder for the rule files"))
        return plan
    try:
        data = path.read_bytes()
    except OSError as exc:
        plan.diagnostics.append(Diagnostic(Location(shown, 0, 0), CODE_UNREADABLE,
                                           f"cannot read the export: {exc.strerror or exc}"))
        return plan
    text, problems = decode_text(data, shown)
    plan.diagnostics.extend(problems)
    lines, problems = read_ndjson(text, shown)
    plan.diagnostics.extend(problems)
    existing = _existing_rule_ids(into)
    seen_ids: dict[str, int] = {}
    taken: dict[Path, str] = {}
    rule_lines = 0
    for line in lines:
        if line.kind != RULE:
            _report_other(plan, shown, line)
            continue
        rule_lines += 1
        imported = _plan_rule(plan, shown, line, into, layout=layout, today=today, maturity=maturity,
                              force=force, schema_file=schema_file, existing=existing, seen_ids=seen_ids,
                              taken=taken)
        if imported is not None:
            plan.rules.append(imported)
    if not lines and not plan.diagnostics:
        plan.diagnostics.append(Diagnostic(Location(shown, 1, 1), CODE_SKIPPED, "the file holds no rules",
                                           severity=Severity.WARNING))
    _check_counts(plan, shown, lines, rule_lines)
    plan.diagnostics = sort_diagnostics(plan.diagnostics)
    return plan


def _plan_rule(plan: ImportPlan, shown: str, line: NdjsonLine, into: Path, *, layout: str, today: str,
               maturity: str, force: bool, schema_file: Path | None, existing: dict[str, Path],
               seen_ids: dict[str, int], taken: dict[Path, str]) -> ImportedRule | None:
    obj = line.value
    rule, unknown = rule_from_kibana(obj)
    errors = [Diagnostic(_at(shown, line, p.path[0] if p.path and isinstance(p.path[0], str) else None),
                         p.code, f"Kibana would refuse this rule: {p.message}", hint=p.hint)
              for p in import_problems(rule)]
    rule_id = rule.get("rule_id") if isinstance(rule.get("rule_id"), str) else ""
    if rule_id and rule_id in seen_ids:
        errors.append(Diagnostic(_at(shown, line, "rule_id"), CODE_DUPLICATE_ID,
                                 f"rule_id {rule_id!r} is already on line {seen_ids[rule_id]}",
                                 hint="Kibana refuses duplicate rule_ids in one import; keep one of the lines"))
    if errors:
        plan.diagnostics.extend(errors)
        return None
    seen_ids[rule_id] = line.number
    for key in unknown:
        plan.diagnostics.append(Diagnostic(_at(shown, line, key), CODE_UNKNOWN_FIELD,
                                           f"field {key!r} is not a Kibana rule field; it is left out",
                                           severity=Severity.WARNING))
    if "version" not in rule:
        plan.diagnostics.append(Diagnostic(_at(shown, line), CODE_NO_VERSION, "the rule has no version; it is "
                                           "imported as version 1", severity=Severity.WARNING))
        rule["version"] = 1
    name = str(rule.get("name", ""))
    document = rule_document(obj, rule, source_name=Path(shown).name, today=today, maturity=maturity)
    folder = into
    if layout == "integration":
        packages = document["metadata"].get("integration") or []
        related = [i.get("package") for i in rule.get("related_integrations") or [] if isinstance(i, Mapping)]
        first = next((p for p in related if isinstance(p, str)), packages[0] if packages else "custom")
        folder = into / snake_name(first, "custom")
    target = folder / f"{snake_name(name, rule_id)}.yaml"
    owners = {p.resolve(): rid for rid, p in existing.items()}
    other_owner = owners.get(target.resolve())
    if (target in taken and taken[target] != rule_id) or (other_owner is not None and other_owner != rule_id):
        # Another rule already has this name's file: never replace it, pick a distinct name.
        target = folder / f"{target.stem}_{snake_name(rule_id, 'rule')[:8]}.yaml"
    replaces = False
    if rule_id in existing:
        if not force:
            plan.diagnostics.append(Diagnostic(_at(shown, line, "rule_id"), CODE_TARGET_EXISTS,
                                               f"rule_id {rule_id!r} already has a rule file: {display(existing[rule_id])}",
                                               hint="pass --force to replace that file (its history is replaced too)"))
            return None
        target, replaces = existing[rule_id], True
    elif target.exists():
        if not force:
            plan.diagnostics.append(Diagnostic(_at(shown, line, "name"), CODE_TARGET_EXISTS,
                                               f"{display(target)} already exists",
                                               hint="pass --force to replace it, or import into another folder"))
            return None
        replaces = True
    taken[target] = rule_id
    text = dump_rule_document(document, _schema_header(target, schema_file))
    check = _check_document(text, target)
    if check:
        plan.diagnostics.append(Diagnostic(_at(shown, line), CODE_NOT_A_RULE_FILE,
                                           f"the imported rule would not be a valid rule file: {check[0].message}",
                                           hint=check[0].hint))
        return None
    return ImportedRule(line.number, rule_id, name, target, document, text, replaces)


def _check_document(text: str, target: Path) -> list[Diagnostic]:
    try:
        data, source = parse_document(text, target, display(target))
    except DetectionError as exc:
        return exc.diagnostics
    return schema_diagnostics(data, source, display(target))


def apply_import(plan: ImportPlan) -> list[Path]:
    """Write the planned files (each atomically); refuse if the plan has errors."""
    if not plan.ok:
        raise DetectionError(plan.errors)
    written = []
    for rule in plan.rules:
        write_atomic(rule.target, rule.text)
        written.append(rule.target)
    return written
