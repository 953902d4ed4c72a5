"""Each version gate fails where it should, says what to run, and stays quiet otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.content_hash import content_hash
from detection.gate import history_diagnostics
from detection.loader import load_rule_file

RULE = """\
metadata:
  creation_date: 2024/01/02
  maturity: experimental
rule:
  rule_id: 0f6f3c53-0000-4000-8000-000000000003
  name: Gate Rule
  description: Detects the thing.
  type: query
  index: [logs-*]
  query: event.action:Foo
  severity: low
  risk_score: 21
  version: 2
history:
  - version: 2
    date: 2024/02/01
    kind: fields
    summary: Wording.
    changed: [description]
    previous:
      description: Detects a thing.
    hash: HASH2
  - version: 1
    date: 2024/01/02
    kind: created
    summary: Created.
    hash: HASH1
"""


def with_hashes(text: str, tmp: Path) -> str:
    """Fill HASH2/HASH1 with the true hashes of versions 2 and 1."""
    probe = tmp / "probe.yaml"
    probe.write_text(text.replace("HASH2", "sha256:" + "0" * 64).replace("HASH1", "sha256:" + "0" * 64))
    rule = load_rule_file(probe).rule
    probe.unlink()
    v1 = dict(rule, description="Detects a thing.")
    return text.replace("HASH2", content_hash(rule)).replace("HASH1", content_hash(v1))


def codes_for(text: str, tmp: Path) -> list[str]:
    path = tmp / "rule.yaml"
    path.write_text(text)
    return [d.code for d in history_diagnostics(load_rule_file(path))]


@pytest.fixture
def good(tmp_path: Path) -> str:
    return with_hashes(RULE, tmp_path)


def test_a_recorded_rule_passes(good: str, tmp_path: Path) -> None:
    assert codes_for(good, tmp_path) == []


def test_g101_content_changed_without_bump(good: str, tmp_path: Path) -> None:
    path = tmp_path / "rule.yaml"
    path.write_text(good.replace("query: event.action:Foo", "query: event.action:Bar"))
    [diag] = history_diagnostics(load_rule_file(path))
    assert diag.code == "G101"
    assert "version was not raised" in diag.message
    assert diag.hint.startswith(f"run `detection bump {diag.location.path}`")
    assert diag.location.line == 13  # the rule's version line


def test_g102_version_below_the_history(good: str, tmp_path: Path) -> None:
    assert codes_for(good.replace("  version: 2\nhistory", "  version: 1\nhistory"), tmp_path) == ["G102"]


def test_g103_version_jumped(good: str, tmp_path: Path) -> None:
    assert codes_for(good.replace("  version: 2\nhistory", "  version: 4\nhistory"), tmp_path) == ["G103"]


def test_g104_chain_does_not_rebuild(good: str, tmp_path: Path) -> None:
    broken = good.replace("description: Detects a thing.", "description: Detects one thing.")
    path = tmp_path / "rule.yaml"
    path.write_text(broken)
    [diag] = history_diagnostics(load_rule_file(path))
    assert diag.code == "G104" and "version 1 rebuilt from the history hashes to" in diag.message
    hash_lines = [n for n, line in enumerate(broken.splitlines(), start=1) if line.startswith("    hash:")]
    assert diag.location.line == hash_lines[1]  # version 1's recorded hash


def test_g106_missing_hash(tmp_path: Path) -> None:
    assert codes_for(RULE.replace("    hash: HASH2\n", "").replace("    hash: HASH1\n", ""), tmp_path) == ["G106", "G106"]


def test_g107_history_out_of_order(good: str, tmp_path: Path) -> None:
    swapped = good.replace("  - version: 1\n", "  - version: 3\n")
    assert codes_for(swapped, tmp_path) == ["G107"]


def test_g108_version_raised_without_entry(good: str, tmp_path: Path) -> None:
    assert codes_for(good.replace("  version: 2\nhistory", "  version: 3\nhistory"), tmp_path) == ["G108"]


def test_g109_no_history(tmp_path: Path) -> None:
    assert codes_for(RULE.split("history:")[0], tmp_path) == ["G109"]


def test_g110_deprecated_without_entry(good: str, tmp_path: Path) -> None:
    assert codes_for(good.replace("maturity: experimental", "maturity: deprecated"), tmp_path) == ["G110"]


def test_g111_no_version(tmp_path: Path) -> None:
    assert codes_for(RULE.split("history:")[0].replace("  version: 2\n", ""), tmp_path) == ["G111"]
