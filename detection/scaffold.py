"""Scaffold a new rule: the rule file and a fixture file whose cases fail until they are filled in.

``plan_new_rule`` works out both files from a ``NewRule`` (pure apart from reading the project's
folders); ``write_new_rule`` writes them, refusing to replace anything. The rule is version 1 with
a ``created`` history entry and no content hash yet: the author still edits the query and the
description, and ``detection bump`` records the hash of the finished rule (a hash written now would
go stale with the first edit, and bump would then read that edit as a change to a released version).

The fixture file has one positive and one negative case with empty events. The positive case fails
(an empty event raises no alert) until a real event is written in, so ``detection check`` stays red
until the rule has been shown to fire. Both files start with the ``yaml-language-server`` modeline
so editors validate and complete them against the project's schemas.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from detection.atomic_write import write_atomic
from detection.config import ProjectConfig
from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.kibana_import import snake_name
from detection.loader import display
from detection.model import DEFAULT_LANGUAGE
from detection.resources import schema_path
from detection.rule_writer import dump_rule_document

CODE_EXISTS = "N101"  # the rule or fixture file is already there
CODE_OPTION = "N102"  # an option value that cannot make a rule
CODE_ATTACK = "N103"  # an unknown ATT&CK tactic or technique
CODE_FOLDER = "N104"  # the target folder is outside the rule folders or is a file

# Types the fixture tests can run or that need only a query to start from. Machine learning,
# indicator match and saved-query rules depend on objects that live in Kibana.
TYPES = ("query", "eql", "esql", "threshold", "new_terms")
LANGUAGES = {"query": ("kuery", "lucene"), "threshold": ("kuery", "lucene"), "new_terms": ("kuery", "lucene"),
             "eql": ("eql",), "esql": ("esql",)}
SEVERITIES = ("low", "medium", "high", "critical")
# The top of each of Kibana's severity bands, so severity and risk agree (lint H101).
DEFAULT_RISK = {"low": 21, "medium": 47, "high": 73, "critical": 99}
MATURITIES = ("development", "experimental", "beta", "production")
DEFAULT_INDEX = ("logs-*",)
DEFAULT_FOLDER = "custom"
# Obvious stand-ins that parse, so validate and lint look at the rest of the rule meanwhile.
QUERY_PLACEHOLDER = {
    "kuery": 'event.action:"REPLACE-ME"',
    "lucene": 'event.action:"REPLACE-ME"',
    "eql": 'any where event.action == "REPLACE-ME"',
    "esql": 'FROM logs-* METADATA _id, _index, _version | WHERE event.action == "REPLACE-ME"',
}
DESCRIPTION_PLACEHOLDER = ("REPLACE ME: what the rule detects, why it matters, and what to check first "
                           "when it fires.")
SCHEMAS = {"rule": "rule.schema.json", "fixture": "fixture.schema.json"}


@dataclass(frozen=True)
class NewRule:
    """What the author asked for; ``None`` means "use the default"."""

    name: str
    type: str = "query"
    language: str | None = None
    index: tuple[str, ...] = ()
    severity: str = "low"
    risk_score: int | None = None
    tactics: tuple[str, ...] = ()  # ATT&CK tactic names or ids
    techniques: tuple[str, ...] = ()  # ATT&CK technique ids (T1078, T1078.004)
    description: str | None = None
    query: str | None = None
    folder: str | Path | None = None  # under the first rules folder, or a path inside a rules folder
    maturity: str = "production"
    author: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scaffold:
    """The files ``detection new`` will write, with their text."""

    rule_path: Path
    fixture_path: Path
    rule_text: str
    fixture_text: str
    rule_id: str
    schema_copies: tuple[tuple[Path, Path], ...] = ()  # (shipped schema, project copy) to write


@dataclass
class _Problems:
    items: list[Diagnostic] = field(default_factory=list)

    def add(self, option: str, code: str, message: str, hint: str | None = None) -> None:
        self.items.append(Diagnostic(Location(option, 0, 0), code, message, hint=hint))


# --------------------------------------------------------------------------- planning


def plan_new_rule(spec: NewRule, config: ProjectConfig, *, today: dt.date | None = None,
                  rule_id: str | None = None) -> Scaffold:
    """Both files for ``spec``; raises DetectionError listing every problem (nothing is written)."""
    problems = _Problems()
    spec = _checked(spec, problems)
    threat = _threat(spec, problems)
    rules_base, relative = _target_folder(spec, config, problems)
    if problems.items:
        raise DetectionError(problems.items)

    rule_id = rule_id or str(uuid.uuid4())
    stem = snake_name(spec.name, rule_id)
    rule_path = rules_base / relative / f"{stem}.yaml"
    fixture_path = config.fixtures_dir / relative / f"{stem}.yaml"
    for path in (rule_path, fixture_path):
        if path.exists():
            problems.add(display(path), CODE_EXISTS, "the file already exists; nothing was written",
                         hint="choose another --name or --dir, or edit the existing file")
    if problems.items:
        raise DetectionError(problems.items)

    day = (today or dt.date.today()).strftime("%Y/%m/%d")
    index = spec.index or _usual_index(rules_base / relative)
    document = rule_document(spec, rule_id=rule_id, day=day, index=index, threat=threat)
    copies = _schema_copies(config.root)
    rule_header = modeline(rule_path, _project_schema(config.root, "rule"))
    rule_text = dump_rule_document(document, rule_header)
    fixture_text = fixture_document(spec.name, rule_id, document["rule"], modeline(fixture_path, _project_schema(
        config.root, "fixture")))
    return Scaffold(rule_path, fixture_path, rule_text, fixture_text, rule_id, copies)


def _checked(spec: NewRule, problems: _Problems) -> NewRule:
    """``spec`` with defaults filled in; what cannot be used goes to ``problems``."""
    name = " ".join(spec.name.split())
    if not name:
        problems.add("--name", CODE_OPTION, "the rule needs a name", hint="pass --name 'What the rule detects'")
    kind = spec.type
    if kind not in TYPES:
        problems.add("--type", CODE_OPTION, f"cannot scaffold a {kind!r} rule",
                     hint=f"choose one of {', '.join(TYPES)}; other types need objects that live in Kibana")
        return replace(spec, name=name)
    language = spec.language or DEFAULT_LANGUAGE[kind]
    if language not in LANGUAGES[kind]:
        problems.add("--language", CODE_OPTION, f"{kind} rules cannot be written in {language!r}",
                     hint=f"use {' or '.join(LANGUAGES[kind])}")
    if spec.severity not in SEVERITIES:
        problems.add("--severity", CODE_OPTION, f"unknown severity {spec.severity!r}",
                     hint=f"choose one of {', '.join(SEVERITIES)}")
    risk = DEFAULT_RISK.get(spec.severity, 21) if spec.risk_score is None else spec.risk_score
    if not 0 <= risk <= 100:
        problems.add("--risk-score", CODE_OPTION, f"risk score {risk} is outside 0-100")
    if spec.maturity not in MATURITIES:
        problems.add("--maturity", CODE_OPTION, f"unknown maturity {spec.maturity!r}",
                     hint=f"choose one of {', '.join(MATURITIES)}")
    index = tuple(dict.fromkeys(p.strip() for p in spec.index if p.strip()))
    if kind == "esql" and index:
        problems.add("--index", CODE_OPTION, "an ES|QL rule names its indices in the query (FROM ...), not in index",
                     hint="leave out --index and write FROM <pattern> in --query")
    return replace(spec, name=name, language=language, risk_score=risk, index=index)


def _threat(spec: NewRule, problems: _Problems) -> list[dict[str, Any]]:
    """The Kibana ``threat`` list for the requested tactics and techniques (techniques are placed
    under each requested tactic they belong to, or under their first tactic when none was asked)."""
    if not spec.tactics and not spec.techniques:
        return []
    from detection.attack import ATTACK_FRAMEWORK, load_attack, rule_url

    data = load_attack()
    tactics = []
    for wanted in spec.tactics:
        tactic = data.tactic(wanted.strip().upper()) or data.tactic_by_name(wanted.strip())
        if tactic is None:
            names = ", ".join(sorted(t.name for t in data.tactics.values()))
            problems.add("--tactic", CODE_ATTACK, f"unknown ATT&CK tactic {wanted!r}", hint=f"use an id (TA0004) or one of: {names}")
        elif tactic not in tactics:
            tactics.append(tactic)
    placed: dict[str, list[Any]] = {t.id: [] for t in tactics}
    for wanted in spec.techniques:
        tech = data.technique(wanted.strip().upper())
        if tech is None:
            problems.add("--technique", CODE_ATTACK, f"unknown ATT&CK technique {wanted!r}",
                         hint="use an id from https://attack.mitre.org/techniques/, e.g. T1078 or T1078.004")
            continue
        home = [t for t in tactics if t.shortname in tech.tactics]
        if not home:
            if tactics:
                problems.add("--technique", CODE_ATTACK, f"{tech.id} ({tech.name}) is not in the tactic(s) asked for",
                             hint="add one of its tactics with --tactic: " + ", ".join(tech.tactics))
                continue
            first = next((t for t in data.tactics.values() if t.shortname in tech.tactics), None)
            if first is None:
                continue
            tactics.append(first)
            placed[first.id] = []
            home = [first]
        for tactic in home:
            placed[tactic.id].append(tech)
    out = []
    for tactic in tactics:
        entry: dict[str, Any] = {"framework": ATTACK_FRAMEWORK,
                                 "tactic": {"id": tactic.id, "name": tactic.name, "reference": rule_url(tactic.url)}}
        techniques = _technique_tree(placed[tactic.id], data, rule_url)
        if techniques:
            entry["technique"] = techniques
        out.append(entry)
    return out


def _technique_tree(techniques: Sequence[Any], data: Any, rule_url: Callable[[str], str]) -> list[dict[str, Any]]:
    """Techniques with their sub-techniques nested under the parent, as Kibana expects."""
    tree: dict[str, dict[str, Any]] = {}
    for tech in techniques:
        parent = data.technique(tech.parent) if tech.subtechnique and tech.parent else tech
        node = tree.setdefault(parent.id, {"id": parent.id, "name": parent.name, "reference": rule_url(parent.url)})
        if parent is not tech:
            subs = node.setdefault("subtechnique", [])
            if all(s["id"] != tech.id for s in subs):
                subs.append({"id": tech.id, "name": tech.name, "reference": rule_url(tech.url)})
    return list(tree.values())


def _target_folder(spec: NewRule, config: ProjectConfig, problems: _Problems) -> tuple[Path, Path]:
    """(the rules folder, the sub-folder inside it) for the new rule. ``--dir`` is a path inside a
    rules folder (``rules/aws``) or a folder name under the first one (``aws``)."""
    bases = [Path(b) for b in config.rules_dirs]
    first = bases[0]
    if spec.folder is None:
        return first, Path(default_folder(first))
    wanted = Path(spec.folder)
    for candidate in ([wanted] if wanted.is_absolute() else [Path.cwd() / wanted, config.root / wanted]):
        for base in bases:
            if candidate.resolve().is_relative_to(base.resolve()):
                return _folder_checked(base, candidate.resolve().relative_to(base.resolve()), problems)
    if wanted.is_absolute() or ".." in wanted.parts:
        problems.add("--dir", CODE_FOLDER, f"{spec.folder} is not inside a rules folder "
                     f"({', '.join(display(b) for b in bases)})", hint="pass a folder under the rules folder, e.g. --dir aws")
        return first, Path(DEFAULT_FOLDER)
    return _folder_checked(first, wanted, problems)


def _folder_checked(base: Path, relative: Path, problems: _Problems) -> tuple[Path, Path]:
    if (base / relative).exists() and not (base / relative).is_dir():
        problems.add("--dir", CODE_FOLDER, f"{display(base / relative)} is a file, not a folder",
                     hint="pass the folder that should hold the rule")
    return base, relative


def default_folder(rules_dir: Path) -> str:
    """The first sub-folder of the rules folder (by name), else ``custom``."""
    if rules_dir.is_dir():
        folders = sorted(p.name for p in rules_dir.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        if folders:
            return folders[0]
    return DEFAULT_FOLDER


def _usual_index(folder: Path) -> tuple[str, ...]:
    """The index patterns most rules in ``folder`` use, so a new AWS rule reads the AWS indices."""
    from detection.loader import discover_rule_files, load_rule_file

    counts: dict[tuple[str, ...], int] = {}
    if folder.is_dir():
        for path in discover_rule_files([folder]):
            try:
                index = load_rule_file(path).index
            except DetectionError:
                continue
            if index:
                key = tuple(index)
                counts[key] = counts.get(key, 0) + 1
    if not counts:
        return DEFAULT_INDEX
    return max(sorted(counts), key=lambda k: counts[k])


# --------------------------------------------------------------------------- documents


def rule_document(spec: NewRule, *, rule_id: str, day: str, index: Sequence[str],
                  threat: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """The whole rule file as data: metadata, the rule at version 1, and its ``created`` entry."""
    language = spec.language or DEFAULT_LANGUAGE[spec.type]
    rule: dict[str, Any] = {
        "rule_id": rule_id,
        "name": spec.name,
        "description": spec.description or DESCRIPTION_PLACEHOLDER,
        "type": spec.type,
        "language": language,
    }
    if spec.type != "esql":
        rule["index"] = list(index)
    rule["query"] = spec.query or QUERY_PLACEHOLDER[language]
    if spec.type == "threshold":
        rule["threshold"] = {"field": ["user.name"], "value": 10}
    if spec.type == "new_terms":
        rule["new_terms_fields"] = ["user.name"]
        rule["history_window_start"] = "now-7d"
    rule.update({"severity": spec.severity, "risk_score": spec.risk_score, "interval": "5m", "from": "now-6m"})
    if spec.author:
        rule["author"] = list(spec.author)
    if threat:
        rule["threat"] = [dict(t) for t in threat]
    rule["version"] = 1
    metadata = {"creation_date": day, "updated_date": day, "maturity": spec.maturity}
    history = [{"version": 1, "date": day, "kind": "created", "summary": "Created."}]
    return {"metadata": metadata, "rule": rule, "history": history}


def fixture_document(name: str, rule_id: str, rule: Mapping[str, Any], header: str | None) -> str:
    """The fixture file: one positive and one negative case, both to be filled in."""
    fields = _query_fields(rule)
    lines = [f"# {header}", "#"] if header else []
    lines += [f"# Cases for {json.dumps(name, ensure_ascii=False)}. Each event is one document as Elasticsearch",
              "# stores it (nested or dotted keys). The positive case fails until its event is filled in."]
    if fields:
        lines += ["# Fields the query reads: " + ", ".join(fields) + "."]
    lines += [
        f"rule: {rule_id}",
        "description: REPLACE ME - where the events come from (a real record, a sandbox, a vendor sample).",
        "",
        "cases:",
        "  - name: fires-on-the-activity",
        "    description: REPLACE ME - the activity the rule exists to catch.",
        "    expect: alert",
        "    event: {}",
        "",
        "  - name: quiet-on-similar-activity",
        "    description: REPLACE ME - a look-alike that must not alert (another action, a failure, a trusted caller).",
        "    expect: no_alert",
        "    event: {}",
    ]
    return "\n".join(lines) + "\n"


def _query_fields(rule: Mapping[str, Any]) -> list[str]:
    try:
        from detection.kibana_fields import rule_field_names

        return rule_field_names(rule)
    except Exception:  # noqa: BLE001 - a hint in a comment; an unparsable placeholder only loses it
        return []


# --------------------------------------------------------------------------- schemas and modelines


def _project_schema(root: Path, kind: str) -> Path:
    return Path(root) / "schemas" / SCHEMAS[kind]


def _schema_copies(root: Path) -> tuple[tuple[Path, Path], ...]:
    """Shipped schemas the project lacks: copied into ``schemas/`` so the modelines resolve."""
    out = []
    for kind in SCHEMAS:
        target = _project_schema(root, kind)
        if not target.exists():
            out.append((schema_path(SCHEMAS[kind]), target))
    return tuple(out)


def modeline(target: Path, schema: Path) -> str:
    """The ``yaml-language-server`` comment (without ``# ``) pointing from ``target`` to ``schema``."""
    relative = os.path.relpath(Path(schema).resolve(), Path(target).parent.resolve())
    return f"yaml-language-server: $schema={Path(relative).as_posix()}"


# --------------------------------------------------------------------------- writing


def write_new_rule(scaffold: Scaffold) -> list[Path]:
    """Write the files (each atomically); refuses when one appeared since planning."""
    for path in (scaffold.rule_path, scaffold.fixture_path):
        if path.exists():
            raise DetectionError([Diagnostic(Location(display(path), 0, 0), CODE_EXISTS,
                                             "the file already exists; nothing was written")])
    written = []
    for source, target in scaffold.schema_copies:
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            written.append(target)
    write_atomic(scaffold.rule_path, scaffold.rule_text)
    written.append(scaffold.rule_path)
    write_atomic(scaffold.fixture_path, scaffold.fixture_text)
    written.append(scaffold.fixture_path)
    return written


# --------------------------------------------------------------------------- prompting


Ask = Callable[[str, str], str]


def prompt_missing(values: Mapping[str, Any], ask: Ask) -> dict[str, Any]:
    """``values`` with the missing ones asked for: ``ask(question, default)`` returns the answer
    (empty for the default). Only what the command line left out is asked."""
    out = dict(values)
    while not (out.get("name") or "").strip():
        out["name"] = ask("Rule name (what it detects)", "")
    if out.get("type") is None:
        out["type"] = ask(f"Type ({', '.join(TYPES)})", "query") or "query"
    if out.get("language") is None and len(LANGUAGES.get(out["type"], ())) > 1:
        default = DEFAULT_LANGUAGE.get(out["type"], "kuery")
        out["language"] = ask(f"Language ({', '.join(LANGUAGES[out['type']])})", default) or default
    if not out.get("index") and out["type"] != "esql":
        answer = ask("Index patterns, comma-separated (empty: the folder's usual ones)", "")
        out["index"] = [p.strip() for p in answer.split(",") if p.strip()]
    if out.get("severity") is None:
        out["severity"] = ask(f"Severity ({', '.join(SEVERITIES)})", "low") or "low"
    if not out.get("tactic"):
        answer = ask("ATT&CK tactic(s), comma-separated names or ids (empty: none)", "")
        out["tactic"] = [p.strip() for p in answer.split(",") if p.strip()]
    return out
