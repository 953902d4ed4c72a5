"""What `detection check --changed-only` tests: the rules and fixture files a change can affect.

A fixture case reads more than its own file: an ``events_file`` anywhere in the repository, the
project's settings and its custom field definitions. A change to any of them must re-run the
cases that depend on it, or the gate passes on a broken fixture.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from detection.config import ProjectConfig
from detection.diagnostics import DetectionError
from detection.fixtures import EVENT_FILE_SUFFIXES, FIXTURE_SUFFIXES, discover_fixture_files, mirrored_key
from detection.loader import RULE_SUFFIXES, parse_document, read_text


def changed_selection(repo: Any, base: str, config: ProjectConfig) -> list[Path]:
    """Rule files, fixture files and folders to test because they or their inputs differ from ``base``.

    Changed rule and fixture files are selected as they are; a changed (or deleted) event file
    selects the fixture files that read it; a deleted fixture file selects its mirrored rule (which
    now has fewer cases); a change to pyproject.toml or to the custom field definitions selects
    everything. Deleted rules are left to the version gates.
    """
    commit = repo.resolve(base)
    root = Path(config.root).resolve()
    fixtures_dir = Path(config.fixtures_dir).resolve()
    rules_dirs = [Path(d).resolve() for d in config.rules_dirs]
    fields_dir = Path(config.fields_dir).resolve()
    picked: set[Path] = set()
    event_files: set[Path] = set()
    for name in repo.changed_files(commit):
        path = Path(repo.root) / name
        if path == root / "pyproject.toml" or fields_dir in path.parents:
            everything = [*rules_dirs, fixtures_dir]
            return sorted(p for p in everything if p.exists())
        if path.suffix in EVENT_FILE_SUFFIXES:
            event_files.add(path)
        elif fixtures_dir in path.parents and path.suffix in FIXTURE_SUFFIXES:
            if path.exists():
                picked.add(path)
            else:
                picked.update(_mirrored_rules(path, fixtures_dir, rules_dirs))
        elif path.suffix in RULE_SUFFIXES and path.exists() and any(d in path.parents for d in rules_dirs):
            picked.add(path)
    if event_files:
        picked.update(fixtures_reading(event_files, fixtures_dir))
    return sorted(picked)


def fixtures_reading(event_files: Iterable[Path], fixtures_dir: Path) -> list[Path]:
    """Fixture files under ``fixtures_dir`` with a case whose ``events_file`` is one of ``event_files``.

    Only the documents are parsed (no schema, no events), so a fixture file is found even when the
    event file it names is now broken or gone: its test run then reports the problem.
    """
    wanted = {Path(p).resolve() for p in event_files}
    found = []
    for path in discover_fixture_files([fixtures_dir] if Path(fixtures_dir).is_dir() else []):
        try:
            document, _ = parse_document(read_text(path, str(path)), path, str(path))
        except DetectionError:
            continue  # a broken fixture file is itself a change worth testing only if it changed
        cases = document.get("cases") if isinstance(document, dict) else None
        for case in cases if isinstance(cases, list) else []:
            name = case.get("events_file") if isinstance(case, dict) else None
            if isinstance(name, str) and (path.parent / name).resolve() in wanted:
                found.append(path)
                break
    return found


def _mirrored_rules(fixture: Path, fixtures_dir: Path, rules_dirs: list[Path]) -> list[Path]:
    key = mirrored_key(fixture, fixtures_dir)
    if key is None:
        return []
    stems = [Path(base, *key) for base in rules_dirs]
    return [stem.with_name(stem.name + suffix) for stem in stems for suffix in RULE_SUFFIXES
            if stem.with_name(stem.name + suffix).is_file()]
