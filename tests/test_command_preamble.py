"""The commands' shared preamble: missing paths and unusable input end as located diagnostics, exit 2."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from detection import cli
from detection.commands.common import existing_rule_paths, require_existing
from detection.diagnostics import DetectionError, Diagnostic, Location


def test_require_existing_names_every_missing_path(tmp_path: Path):
    present = tmp_path / "here.yaml"
    present.write_text("x: 1\n")
    require_existing([present])  # nothing missing: no error
    with pytest.raises(DetectionError) as info:
        require_existing([present, tmp_path / "a.yaml", tmp_path / "b"])
    assert [d.format() for d in info.value.diagnostics] == [
        f"{tmp_path / 'a.yaml'}:0:0: E103 no such file or directory",
        f"{tmp_path / 'b'}:0:0: E103 no such file or directory",
    ]


def test_existing_rule_paths_returns_the_given_paths(tmp_path: Path):
    args = argparse.Namespace(paths=[tmp_path], rules_dir=None)
    assert existing_rule_paths(args) == [tmp_path]
    with pytest.raises(DetectionError):
        existing_rule_paths(argparse.Namespace(paths=[tmp_path / "gone"], rules_dir=None))


def test_main_reports_a_commands_detection_error_and_exits_2(monkeypatch, capsys):
    import detection.commands.validate as validate

    def refuse(args: argparse.Namespace) -> int:
        raise DetectionError([Diagnostic(Location("rules/x.yaml", 3, 5), "E999", "cannot use this", hint="fix it")])

    monkeypatch.setattr(validate, "run", refuse)
    assert cli.main(["validate"]) == 2
    captured = capsys.readouterr()
    assert captured.err == "rules/x.yaml:3:5: E999 cannot use this\n    hint: fix it\n"
    assert captured.out == ""
