"""The rules as they were at a git ref: what gates, bump and changelog compare against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from detection.content_hash import content_hash
from detection.diagnostics import DetectionError, Diagnostic, Location, Severity
from detection.git import Repo
from detection.loader import RULE_SUFFIXES, parse_document
from detection.model import HistoryEntry, RuleFile, normalise_rule


@dataclass
class Baseline:
    """Rules at ``ref`` by rule_id; ``paths`` maps each to its repository-relative path."""

    ref: str
    commit: str
    repo: Repo
    rules: dict[str, RuleFile] = field(default_factory=dict)
    paths: dict[str, str] = field(default_factory=dict)
    problems: list[Diagnostic] = field(default_factory=list)


def rule_from_text(text: str, path: Path, shown: str) -> RuleFile:
    """A rule from text without schema validation: old versions are compared, not judged.

    Raises ``DetectionError`` when the text does not parse or holds no ``rule`` table.
    """
    document, source = parse_document(text, path, shown)
    if not isinstance(document, dict) or not isinstance(document.get("rule"), dict):
        raise DetectionError([Diagnostic(Location(shown, 1, 1), "S105", "no rule table")])
    history = []
    for item in document.get("history") or []:
        try:
            history.append(HistoryEntry.from_dict(item))
        except (KeyError, TypeError, ValueError):
            continue  # a malformed old entry does not stop the comparison
    return RuleFile(path=path, display_path=shown, fmt="toml" if path.suffix == ".toml" else "yaml", text=text,
                    document=document, source=source, metadata=dict(document.get("metadata") or {}),
                    rule=normalise_rule(document["rule"]), history=history)


def load_baseline(repo: Repo, ref: str, rules_dirs: Sequence[Path]) -> Baseline:
    """Every rule file under ``rules_dirs`` at ``ref``; files that no longer parse become warnings."""
    commit = repo.resolve(ref)
    base = Baseline(ref=ref, commit=commit, repo=repo)
    folders = []
    for folder in rules_dirs:
        try:
            folders.append(repo.relative(folder))
        except ValueError:
            continue  # a rules folder outside the repository has no history here
    names = [p for p in repo.list_files(commit, folders) if p.endswith(RULE_SUFFIXES)
             and not any(part.startswith(".") for part in p.split("/"))]
    for name, text in repo.read_files(commit, names).items():
        if text is None:
            continue
        shown = f"{ref}:{name}"
        try:
            rule = rule_from_text(text, Path(name), shown)
        except DetectionError as exc:
            base.problems.extend(Diagnostic(d.location, d.code, f"at {ref}: {d.message}", severity=Severity.WARNING)
                                 for d in exc.diagnostics)
            continue
        if rule.rule_id and rule.rule_id not in base.rules:
            base.rules[rule.rule_id] = rule
            base.paths[rule.rule_id] = name
    return base


def find_version_content(repo: Repo, ref: str, path: str, wanted_hash: str, limit: int = 200) -> RuleFile | None:
    """The rule as committed at the newest commit (up to ``ref``) whose content hashes to
    ``wanted_hash``: where the recorded version's values come from when ``ref`` itself differs."""
    commits = repo.commits_touching(ref, path, limit)
    for commit in commits:
        text = repo.read_file(commit, path)
        if text is None:
            continue
        try:
            rule = rule_from_text(text, Path(path), f"{commit[:12]}:{path}")
        except DetectionError:
            continue
        if content_hash(rule.rule) == wanted_hash:
            return rule
    return None
