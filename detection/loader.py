"""Find rule files, load YAML or TOML safely with positions, validate, and build the model."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location, Severity, sort_diagnostics
from detection.model import HistoryEntry, RuleFile, normalise_rule, normalised_source
from detection.sourcemap import SourceMap
from detection.toml_source import TomlProblem, load_toml
from detection.validation import CODE_UNKNOWN as CODE_UNKNOWN_FIELD
from detection.validation import schema_diagnostics
from detection.yaml_safe import YamlProblem, load_yaml

RULE_SUFFIXES = (".yaml", ".yml", ".toml")
CODE_SYNTAX = "E101"
CODE_UNSAFE = "E102"
CODE_UNREADABLE = "E103"
CODE_DUPLICATE_KEY = "E104"
CODE_DUPLICATE_ID = "U101"
CODE_DUPLICATE_NAME = "U102"


def display(path: Path) -> str:
    """Paths as users read them: relative to the working directory when inside it, else absolute.

    A path outside the working directory stays absolute: ``../../tmp/x.yaml`` would depend on
    where the command ran and is harder to read than ``/tmp/x.yaml``.
    """
    try:
        shown = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)
    if shown == os.pardir or shown.startswith(os.pardir + os.sep):
        return os.path.abspath(path)
    return shown


def discover_rule_files(paths: Iterable[Path]) -> list[Path]:
    """Rule files under the given files or folders, sorted, skipping hidden folders."""
    found: set[Path] = set()
    for base in paths:
        base = Path(base)
        if base.is_file():
            found.add(base)
            continue
        if not base.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            for name in filenames:
                if name.endswith(RULE_SUFFIXES) and not name.startswith("."):
                    found.add(Path(dirpath) / name)
    return sorted(found)


def read_text(path: Path, shown: str) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DetectionError([Diagnostic(Location(shown, 1, 1), CODE_UNREADABLE, f"cannot read file: {exc.strerror or exc}")]) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise DetectionError([Diagnostic(Location(shown, line, col), CODE_UNREADABLE, "file is not valid UTF-8",
                                         hint="save the file as UTF-8")]) from None


def parse_document(text: str, path: Path, shown: str) -> tuple[Any, SourceMap]:
    """YAML or TOML text to plain data and positions; syntax problems raise DetectionError."""
    if path.suffix == ".toml":
        try:
            return load_toml(text)
        except TomlProblem as exc:
            raise DetectionError([Diagnostic(Location(shown, exc.line, exc.column), CODE_SYNTAX, exc.message,
                                             hint="fix the TOML syntax at this position")]) from None
    try:
        return load_yaml(text)
    except YamlProblem as exc:
        code = {"unsafe": CODE_UNSAFE, "duplicate": CODE_DUPLICATE_KEY}.get(exc.kind, CODE_SYNTAX)
        hint = exc.hint or "fix the YAML syntax at this position"
        raise DetectionError([Diagnostic(Location(shown, exc.line, exc.column), code, exc.message, hint=hint)]) from None


def load_rule_file(path: Path | str) -> RuleFile:
    """Load and validate one rule file; raise DetectionError listing every problem found."""
    path = Path(path)
    shown = display(path)
    text = read_text(path, shown)
    document, source = parse_document(text, path, shown)
    if not isinstance(document, dict):
        raise DetectionError([Diagnostic(Location(shown, 1, 1), "S105", "a rule file must be a mapping with the tables metadata, rule and history")])
    problems = schema_diagnostics(document, source, shown)
    problems, warnings = soften_for_deprecated(document, problems)
    if problems:
        raise DetectionError(sort_diagnostics(problems))
    history = [HistoryEntry.from_dict(h) for h in document.get("history", []) or []]
    return RuleFile(
        path=path,
        display_path=shown,
        fmt="toml" if path.suffix == ".toml" else "yaml",
        text=text,
        document=document,
        source=normalised_source(document["rule"], source),
        metadata=dict(document.get("metadata", {})),
        rule=normalise_rule(document["rule"]),
        history=history,
        warnings=warnings,
    )


def soften_for_deprecated(document: dict[str, Any], problems: list[Diagnostic]) -> tuple[list[Diagnostic], list[Diagnostic]]:
    """A deprecated rule is frozen (elastic/detection-rules forbids editing it) and never exported,
    so an obsolete key in its rule table (Kibana drops unknown keys anyway) is a warning, and the
    key is left out, instead of an error that blocks the whole checkout."""
    metadata = document.get("metadata")
    if not (isinstance(metadata, dict) and metadata.get("maturity") == "deprecated"):
        return problems, []
    kept, warnings = [], []
    for diag in problems:
        path = diag.data.get("path", ())
        if diag.code == CODE_UNKNOWN_FIELD and len(path) == 2 and path[0] == "rule":
            document["rule"].pop(path[1], None)
            warnings.append(replace(diag, severity=Severity.WARNING,
                                    message=diag.message + " (ignored: the rule is deprecated)"))
        else:
            kept.append(diag)
    return kept, warnings


@dataclass
class LoadResult:
    rules: list[RuleFile] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # errors: the rule did not load
    warnings: list[Diagnostic] = field(default_factory=list)  # reported, but nothing is blocked

    @property
    def ok(self) -> bool:
        return not self.diagnostics


def load_rules(paths: Sequence[Path | str]) -> LoadResult:
    """Load every rule under ``paths``; collect all problems, including duplicate ids and names."""
    result = LoadResult()
    for path in discover_rule_files(Path(p) for p in paths):
        try:
            result.rules.append(load_rule_file(path))
        except DetectionError as exc:
            result.diagnostics.extend(exc.diagnostics)
    result.diagnostics.extend(duplicate_diagnostics(result.rules))
    result.diagnostics = sort_diagnostics(result.diagnostics)
    result.warnings = sort_diagnostics(w for rule in result.rules for w in rule.warnings)
    return result


def duplicate_diagnostics(rules: Sequence[RuleFile]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for attr, code, label in (("rule_id", CODE_DUPLICATE_ID, "rule_id"), ("name", CODE_DUPLICATE_NAME, "name")):
        first: dict[str, RuleFile] = {}
        for rule in rules:
            value = getattr(rule, attr)
            if not value:
                continue
            if value in first:
                other = first[value]
                loc = other.location(("rule", attr))
                out.append(Diagnostic(rule.location(("rule", attr)), code,
                                      f"duplicate {label} {value!r}: also used by {loc}",
                                      hint=f"each rule needs its own {label}; change one of the two"))
            else:
                first[value] = rule
    return out


def missing_paths(paths: Sequence[Path | str]) -> list[Diagnostic]:
    """Usage errors for paths that do not exist."""
    return [Diagnostic(Location(str(p), 0, 0), CODE_UNREADABLE, "no such file or directory")
            for p in paths if not Path(p).exists()]
