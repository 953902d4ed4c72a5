"""Rules of every type for runner tests: the seed rule with its type, query and settings replaced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from detection.loader import load_rule_file
from detection.model import RuleFile

from .conftest import SEED_RULE

AWS_INDEX = ["logs-aws*"]


def make_rule(tmp_path: Path, filename: str = "rule.yaml", drop: tuple[str, ...] = (), **settings: Any) -> RuleFile:
    """The seed rule file with ``settings`` merged into its rule table (a key set to None is
    removed), written to ``tmp_path`` and loaded like any rule."""
    document = yaml.safe_load(SEED_RULE.read_text(encoding="utf-8"))
    rule = document["rule"]
    for key in drop:
        rule.pop(key, None)
    for key, value in settings.items():
        if value is None:
            rule.pop(key, None)
        else:
            rule[key] = value
    document.pop("history", None)
    path = tmp_path / filename
    path.write_text(yaml.safe_dump(document, sort_keys=False, width=1000), encoding="utf-8")
    return load_rule_file(path)


def at(minute: int, second: int = 0, day: int = 1) -> str:
    """A timestamp on 2024-05-<day> at 12:<minute>:<second> UTC."""
    return f"2024-05-{day:02d}T12:{minute:02d}:{second:02d}.000Z"


def with_block_query(rule: RuleFile, query: str) -> RuleFile:
    """The rule file rewritten with ``query`` as a YAML literal block (``|-``), reloaded: errors
    must then point at lines and columns inside the block."""
    text = rule.path.read_text(encoding="utf-8")
    lines = text.splitlines()
    at_line = next(i for i, line in enumerate(lines) if line.startswith("  query:"))
    end = at_line + 1
    while end < len(lines) and lines[end].startswith("    "):
        end += 1  # a long query dumped over several lines
    block = ["  query: |-"] + ["    " + line for line in query.split("\n")]
    rule.path.write_text("\n".join(lines[:at_line] + block + lines[end:]) + "\n", encoding="utf-8")
    return load_rule_file(rule.path)


def block_position(rule: RuleFile, query_line: int, query_column: int) -> tuple[int, int]:
    """Where line/column of the block query are in the file (the block is indented by 4)."""
    first = next(i for i, line in enumerate(rule.text.splitlines(), 1) if line.startswith("  query: |-")) + 1
    return first + query_line - 1, query_column + 4
