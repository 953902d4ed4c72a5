"""bump without git, and the round-trip rewriter it edits files with."""

from __future__ import annotations

import datetime as dt
import difflib
from pathlib import Path

import pytest

from detection.bump import NoPrevious, bump_rules, plan_bump
from detection.cli import main
from detection.content_hash import content_hash
from detection.diagnostics import DetectionError
from detection.gate import history_diagnostics
from detection.history import rebuild_versions
from detection.loader import load_rule_file, parse_document
from detection.rewrite import InsertItem, SetValue, edit_file, edit_text

DAY = dt.date(2026, 11, 28)
RULE = """\
# top comment
metadata:
  creation_date: 2024/01/02
  updated_date: "2024/01/02"  # quoted on purpose
  maturity: experimental

rule:
  rule_id: 0f6f3c53-0000-4000-8000-000000000001
  name: Test Rule
  description: >-
    Detects the thing. It also
    spans lines.
  type: query
  language: kuery
  index: [logs-*]
  # why the query looks like this
  query: event.action:Foo and event.outcome:success
  severity: low
  risk_score: 21
  version: 1

history:
  - version: 1
    date: 2024/01/02
    kind: created
    summary: Created.
"""

TOML_RULE = """\
[metadata]
creation_date = "2024/01/02"
maturity = "experimental"
updated_date = "2024/01/02"

[rule]
author = ["Elastic"]
description = "Detects the thing."
index = ["logs-*"]
language = "kuery"
name = "Toml Rule"
risk_score = 21
rule_id = "0f6f3c53-0000-4000-8000-000000000002"
severity = "low"
type = "new_terms"  # a comment that must stay
query = '''
event.action:Foo
'''

[rule.new_terms]
field = "new_terms_fields"
value = ["user.id"]
[[rule.new_terms.history_window_start]]
field = "history_window_start"
value = "now-7d"
"""


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8"))
    return path


def recorded(text: str, tmp: Path) -> str:
    """``text`` with the hash of its newest (only) entry filled in."""
    path = write(tmp / "hashing.yaml", text)
    digest = content_hash(load_rule_file(path).rule)
    path.unlink()
    return text + f"    hash: {digest}\n"


def added_and_removed(old: str, new: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(old.splitlines(), new.splitlines()))
    return [d[2:] for d in diff if d.startswith("+ ")], [d[2:] for d in diff if d.startswith("- ")]


# -- bump without git -------------------------------------------------------------------------------

def test_fills_a_missing_hash_and_touches_nothing_else(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", RULE)
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert outcome.filled == [1] and not outcome.added and not outcome.diagnostics
    added, removed = added_and_removed(RULE, path.read_text())
    assert removed == []
    assert len(added) == 1 and added[0].startswith("    hash: sha256:")
    assert history_diagnostics(load_rule_file(path)) == []


def test_content_change_without_git_says_what_to_do(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", recorded(RULE, tmp_path).replace("Detects the thing.", "Detects things."))
    before = path.read_text()
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert [d.code for d in outcome.diagnostics] == ["G121"]
    assert "previous values are unknown" in outcome.diagnostics[0].message
    assert "add a history entry with `changed` and `previous`" in outcome.diagnostics[0].hint
    assert path.read_text() == before


def test_hand_written_entry_is_completed_from_the_recorded_history(tmp_path: Path) -> None:
    # Outside git, the author records the change by hand; bump fills in the hash and the chain verifies.
    text = recorded(RULE, tmp_path).replace("Detects the thing.", "Detects things.").replace("version: 1\n\nhistory:\n", (
        "version: 2\n\nhistory:\n"
        "  - version: 2\n    date: 2026/11/28\n    kind: fields\n    summary: Wording.\n"
        "    changed: [description]\n    previous:\n"
        "      description: Detects the thing. It also spans lines.\n"))
    path = write(tmp_path / "r.yaml", text)
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert outcome.filled == [2] and not outcome.diagnostics
    rule = load_rule_file(path)
    assert [s.verified for s in rebuild_versions(rule.rule, rule.history)] == [True, True]


def test_rule_without_history_is_recorded_as_created(tmp_path: Path) -> None:
    text = RULE.split("\nhistory:")[0].replace("  version: 1\n", "") + "\n"
    path = write(tmp_path / "r.yaml", text)
    assert main(["bump", str(path), "--date", "2026-11-28"]) == 0
    rule = load_rule_file(path)
    assert rule.version == 1
    assert [(h.version, h.kind, h.date) for h in rule.history] == [(1, "created", "2026/11/28")]
    assert rule.history[0].hash == content_hash(rule.rule)
    assert rule.metadata["updated_date"] == "2026/11/28"
    assert path.read_text().startswith("# top comment\n")


def test_version_raised_by_hand_without_change_is_recorded(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", recorded(RULE, tmp_path).replace("  version: 1\n\n", "  version: 2\n\n"))
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert [(e.version, e.kind, e.summary) for e in outcome.added] == [
        (2, "formatting", "Version raised without a content change.")]
    assert history_diagnostics(load_rule_file(path)) == []


@pytest.mark.parametrize(("version", "code"), [(5, "G103"), (0, "G102")])
def test_version_jump_or_drop_is_refused(tmp_path: Path, version: int, code: str) -> None:
    text = recorded(RULE, tmp_path).replace("history:\n  - version: 1", "history:\n  - version: 2").replace(
        "  version: 1\n\n", f"  version: {version}\n\n" if version else "  version: 1\n\n")
    if version == 0:  # newest entry says 2, the rule says 1
        text = text.replace("kind: created", "kind: fields")
    path = write(tmp_path / "r.yaml", text)
    before = path.read_text()
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert [d.code for d in outcome.diagnostics] == [code]
    assert path.read_text() == before


def test_deprecation_is_recorded_as_a_version(tmp_path: Path) -> None:
    text = recorded(RULE, tmp_path).replace("maturity: experimental", "maturity: deprecated\n  deprecated_reason: Replaced by X.")
    path = write(tmp_path / "r.yaml", text)
    assert [d.code for d in history_diagnostics(load_rule_file(path))] == ["G110"]
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert [(e.version, e.kind, e.summary) for e in outcome.added] == [(2, "deprecated", "Deprecated: Replaced by X.")]
    rule = load_rule_file(path)
    assert rule.version == 2 and rule.metadata["deprecation_date"] == "2026/11/28"
    assert history_diagnostics(rule) == []


def test_dry_run_prints_a_diff_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path / "r.yaml", RULE)
    assert main(["bump", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "filled hashes of version(s) 1" in out
    assert "+    hash: sha256:" in out
    assert path.read_text() == RULE


def test_plan_uses_the_rules_date_style(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", recorded(RULE, tmp_path).replace("2024/01/02", "2024-01-02").replace(
        "  version: 1\n\n", "  version: 2\n\n"))
    plan = plan_bump(load_rule_file(path), NoPrevious(), "2026-11-28")
    assert plan.added[0].date == "2026-11-28"


# -- TOML without git -------------------------------------------------------------------------------

def test_toml_rule_gets_version_and_history_with_comments_kept(tmp_path: Path) -> None:
    path = write(tmp_path / "r.toml", TOML_RULE)
    [outcome] = bump_rules([load_rule_file(path)], NoPrevious(), DAY)
    assert not outcome.diagnostics
    text = path.read_text()
    added, removed = added_and_removed(TOML_RULE, text)
    assert removed == ['updated_date = "2024/01/02"']
    assert 'type = "new_terms"  # a comment that must stay' in text
    assert "version = 1" in added and "[[history]]" in added and 'kind = "created"' in added
    rule = load_rule_file(path)
    assert rule.version == 1 and rule.history[0].hash == content_hash(rule.rule)
    assert history_diagnostics(rule) == []


# -- the rewriter -----------------------------------------------------------------------------------

def test_yaml_edits_keep_comments_quotes_and_order(tmp_path: Path) -> None:
    entry = {"version": 2, "date": "2026/11/28", "kind": "fields", "summary": "s", "changed": ["description", "note"],
             "previous": {"description": "x " * 80 + "end", "note": None}, "hash": "sha256:" + "0" * 64}
    new = edit_text(RULE, "yaml", [SetValue(("metadata", "updated_date"), "2026/11/28"),
                                   SetValue(("rule", "version"), 2), InsertItem(("history",), 0, entry)])
    added, removed = added_and_removed(RULE, new)
    assert removed == ['  updated_date: "2024/01/02"  # quoted on purpose', "  version: 1"]
    assert '  updated_date: "2026/11/28"  # quoted on purpose' in added
    assert "      note: null" in added and "    changed: [description, note]" in added
    data, _ = parse_document(new, Path("x.yaml"), "x")
    assert data["history"][0]["previous"] == {"description": "x " * 80 + "end", "note": None}
    assert max(len(line) for line in new.splitlines()) < 110  # long prose is folded


def test_odd_spacing_falls_back_to_double_quotes(tmp_path: Path) -> None:
    odd = "  leading and trailing  \nsecond line with trailing space \n"
    new = edit_text(RULE, "yaml", [InsertItem(("history",), 0, {"version": 2, "date": "d", "kind": "fields",
                                                                "summary": "s", "previous": {"note": odd}})])
    data, _ = parse_document(new, Path("x.yaml"), "x")
    assert data["history"][0]["previous"]["note"] == odd


def test_toml_drops_nulls_and_writes_multiline_literals() -> None:
    entry = {"version": 2, "date": "2026/11/28", "kind": "query", "summary": "s", "changed": ["query", "note"],
             "previous": {"query": "a:b\nand c:d\n", "note": None}}
    new = edit_text(TOML_RULE, "toml", [InsertItem(("history",), 0, entry)])
    assert "[history.previous]\nquery = '''\na:b\nand c:d\n'''" in new
    data, _ = parse_document(new, Path("x.toml"), "x")
    assert data["history"][0]["previous"] == {"query": "a:b\nand c:d\n"}
    assert data["history"][0]["changed"] == ["query", "note"]


def test_crlf_files_stay_crlf(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", RULE.replace("\n", "\r\n"))
    edit_file(path, [SetValue(("rule", "version"), 2)])
    raw = path.read_bytes()
    assert b"  version: 2\r\n" in raw and raw.count(b"\r\n") == RULE.count("\n")


def test_mixed_indentation_is_refused_without_writing(tmp_path: Path) -> None:
    mixed = RULE.replace("  index: [logs-*]\n", "  index:\n  - logs-*\n").replace(
        "  rule_id:", "  tags:\n    - a\n  rule_id:")
    path = write(tmp_path / "r.yaml", mixed)
    with pytest.raises(DetectionError) as caught:
        edit_file(path, [SetValue(("rule", "version"), 2)])
    diag = caught.value.diagnostics[0]
    assert diag.code == "G120" and "re-indenting" in diag.message
    assert path.read_text() == mixed


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path: Path) -> None:
    path = write(tmp_path / "r.yaml", RULE)
    path.chmod(0o640)
    edit_file(path, [SetValue(("rule", "version"), 2)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.yaml"]
    assert path.stat().st_mode & 0o777 == 0o640
