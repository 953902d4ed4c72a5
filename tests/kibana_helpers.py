"""Small builders shared by the export, import, docs and package tests."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from detection.rule_writer import dump_rule_document

BASE_RULE: dict[str, Any] = {
    "metadata": {"creation_date": "2024/01/02", "updated_date": "2024/03/04", "maturity": "production"},
    "rule": {
        "rule_id": "00000000-0000-4000-8000-000000000001",
        "name": "Example Rule",
        "description": "An example rule for the tests.",
        "type": "query",
        "language": "kuery",
        "index": ["logs-*"],
        "query": "event.action:Example",
        "severity": "low",
        "risk_score": 21,
        "version": 1,
    },
    "history": [{"version": 1, "date": "2024/01/02", "kind": "created", "summary": "First version."}],
}


def rule_doc(**rule_changes: Any) -> dict[str, Any]:
    """A copy of BASE_RULE with fields of the rule table replaced (None removes a field)."""
    doc = copy.deepcopy(BASE_RULE)
    for key, value in rule_changes.items():
        if value is None:
            doc["rule"].pop(key, None)
        else:
            doc["rule"][key] = value
    return doc


def write_rule(folder: Path, stem: str, doc: dict[str, Any]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.yaml"
    path.write_text(dump_rule_document(doc), encoding="utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """1-based number of the first line of ``path`` containing ``needle``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")
