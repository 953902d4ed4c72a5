"""A deprecated rule with an obsolete key loads with a warning instead of blocking the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.cli import main
from detection.diagnostics import Severity
from detection.loader import load_rules

from .conftest import SEED_RULE

SEED = SEED_RULE.read_text(encoding="utf-8")


def write(folder: Path, maturity: str) -> Path:
    text = SEED.replace("  maturity: production", f"  maturity: {maturity}")
    text = text.replace("  max_signals: 100\n", "  max_signals: 100\n  telemetry: false\n")
    path = folder / "rule.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_obsolete_key_in_a_deprecated_rule_is_a_warning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "deprecated")
    result = load_rules([tmp_path])
    assert result.diagnostics == []
    (warning,) = result.warnings
    assert warning.code == "S102" and warning.severity == Severity.WARNING
    assert "telemetry" in warning.message and "deprecated" in warning.message
    assert warning.location.line == SEED.splitlines().index("  max_signals: 100") + 2
    assert "telemetry" not in result.rules[0].rule, "Kibana drops unknown keys; so do we"
    assert main(["validate", str(path)]) == 0
    assert "S102" in capsys.readouterr().out


def test_the_same_key_in_a_production_rule_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "production")
    result = load_rules([tmp_path])
    assert [d.code for d in result.diagnostics] == ["S102"] and result.rules == []
