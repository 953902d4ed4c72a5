"""detection fmt: canonical key order, string style and layout, located findings, safe rewrites."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection.cli import main
from detection.formatting import fold_positions, format_file, format_paths, format_text
from detection.yaml_safe import load_yaml

from .conftest import REPO, SEED_RULE

RULE = """\
# yaml-language-server: $schema=../../schemas/rule.schema.json
metadata:
  creation_date: 2024/01/01
  updated_date: 2024/01/02
  maturity: production

rule:
  rule_id: 11111111-2222-3333-4444-555555555555
  name: Canonical Rule
  description: Finds things.
  type: query
  language: kuery
  index:
    - logs-*
  # why the query reads event.action
  query: event.action:CreateUser
  severity: low
  risk_score: 21
  threat:
    - framework: MITRE ATT&CK
      tactic:
        id: TA0003
        name: Persistence
        reference: https://attack.mitre.org/tactics/TA0003/
  version: 2

history:
  - version: 2
    date: 2024/01/02
    kind: query
    summary: Changed.
    changed: [query]
    previous:
      query: event.action:CreateUsers
    hash: sha256:abc
  - version: 1
    date: 2024/01/01
    kind: created
    summary: Created.
"""


def _swap(text: str, first: str, second: str) -> str:
    """``text`` with the line starting ``first`` and the line starting ``second`` exchanged."""
    lines = text.splitlines(keepends=True)
    i = next(n for n, line in enumerate(lines) if line.startswith(first))
    j = next(n for n, line in enumerate(lines) if line.startswith(second))
    lines[i], lines[j] = lines[j], lines[i]
    return "".join(lines)


def test_this_repository_is_in_canonical_form() -> None:
    results = format_paths([REPO / "rules"])
    assert results, "no rule files found"
    assert [r.shown for r in results if r.changed or r.failed] == [], "run `detection fmt` on the rules"


def test_canonical_text_is_left_alone() -> None:
    assert format_text(RULE, "r.yaml") == (RULE, [])


def test_keys_out_of_order_give_a_located_finding_and_are_fixed(tmp_path: Path, capsys) -> None:
    bad = _swap(RULE, "  severity: low", "  risk_score: 21")
    path = tmp_path / "rule.yaml"
    path.write_text(bad)
    assert main(["fmt", "--check", str(path)]) == 1
    out = capsys.readouterr().out
    assert f"{path}:17:3: FMT101 keys out of canonical order (expected 'severity' before 'risk_score')" in out
    assert path.read_text() == bad  # --check writes nothing

    assert main(["fmt", str(path)]) == 0
    assert path.read_text() == RULE
    assert main(["fmt", "--check", str(path)]) == 0


def test_keys_take_their_comments_along_and_the_header_stays_on_top() -> None:
    moved = RULE.replace("  # why the query reads event.action\n  query: event.action:CreateUser\n", "")
    moved = moved.replace("  version: 2\n", "  # why the query reads event.action\n  query: event.action:CreateUser\n"
                          "  version: 2\n")
    first, rule, history = moved.split("\n\n")
    header, metadata = first.split("metadata:")
    bad = header + rule + "\n\nmetadata:" + metadata + "\n\n" + history
    assert bad.splitlines()[1] == "rule:"
    formatted, findings = format_text(bad, "r.yaml")
    assert formatted == RULE
    assert [d.message for d in findings if d.location.line == 2] == [
        "keys out of canonical order (expected 'metadata' before 'rule')"]


def test_history_entries_and_attack_mappings_are_ordered_inside_list_items() -> None:
    bad = RULE.replace("  - version: 1\n    date: 2024/01/01\n", "  - date: 2024/01/01\n    version: 1\n")
    bad = bad.replace("        id: TA0003\n        name: Persistence\n", "        name: Persistence\n        id: TA0003\n")
    bad = bad.replace("    - framework: MITRE ATT&CK\n      tactic:\n", "    - tactic:\n")
    bad = bad.replace("reference: https://attack.mitre.org/tactics/TA0003/\n",
                      "reference: https://attack.mitre.org/tactics/TA0003/\n      framework: MITRE ATT&CK\n")
    formatted, findings = format_text(bad, "r.yaml")
    assert formatted == RULE
    assert [(d.location.line, d.message) for d in findings if d.code == "FMT101"] == [
        (20, "keys out of canonical order (expected 'framework' before 'tactic')"),
        (21, "keys out of canonical order (expected 'id' before 'name')"),
        (36, "keys out of canonical order (expected 'version' before 'date')"),
    ]


def test_string_styles() -> None:
    long_summary = "A summary long enough to run well past the hundredth column of the file when it sits on one line."
    text = RULE.replace("    summary: Created.\n", f'    summary: "{long_summary}"\n')
    text = text.replace("  description: Finds things.\n", '  description: "Finds\\nthings."\n')
    text = text.replace("  severity: low\n", '  severity: "low"\n')
    text = text.replace("    date: 2024/01/01\n", '    date: "2024/01/01"\n')
    text = text.replace("  name: Canonical Rule\n", "  name: Canonical Rule\n  tags: [\"yes\", \"1.10\", \"2012-10-17\"]\n")
    formatted, findings = format_text(text, "r.yaml")
    styles = sorted((d.location.line, d.message) for d in findings if d.code == "FMT102")
    assert styles == [
        (11, "a multi-line string in quotes; write it as a literal block (|)"),
        (18, "quotes that a plain scalar does not need"),
        (38, "quotes that a plain scalar does not need"),
        (40, "a one-line string past column 100; write it as a folded block (>-)"),
    ]
    assert "  description: |-\n    Finds\n    things.\n" in formatted
    assert "  severity: low\n" in formatted and "    date: 2024/01/01\n" in formatted
    assert '  tags: ["yes", "1.10", "2012-10-17"]\n' in formatted  # flow lists and needed quotes stay
    assert "    summary: >-\n      A summary long enough" in formatted
    assert all(len(line) <= 100 for line in formatted.splitlines())
    assert load_yaml(formatted)[0] == load_yaml(text)[0]
    assert format_text(formatted, "r.yaml") == (formatted, [])


def test_quotes_that_change_the_meaning_stay() -> None:
    for value in ('"yes"', '"1.10"', '"2012-10-17"', '"a: b"', '"*"', '" padded "', "'#tag'", '"null"', '"@timestamp"',
                  "'?'", "':'", "'? x'", "'- x'"):  # leading indicators (fmt crashed on '?')
        text = RULE.replace("  description: Finds things.\n", f"  description: {value}\n")
        formatted, findings = format_text(text, "r.yaml")
        assert formatted == text, value
        assert findings == [], value


def test_block_scalars_keep_the_authors_line_breaks() -> None:
    seed = SEED_RULE.read_text()
    query = "  query: >-\n    event.action:(A or\n      B)\n    and event.outcome:success\n"
    text = RULE.replace("  query: event.action:CreateUser\n", query)
    assert format_text(text, "r.yaml") == (text, [])
    assert "  query: >-\n    event.dataset:aws.cloudtrail" in format_text(seed, "seed.yaml")[0]


def test_mixed_indentation_is_normalised_with_comments_following_their_keys() -> None:
    lines = RULE.splitlines(keepends=True)
    begin, end = lines.index("rule:\n") + 1, lines.index("history:\n") - 1
    # The rule table shifted right by two (keys at four), the rest by two: no single setting
    # reproduces the file, so it is re-indented and the comment must follow its key.
    shifted = ["  " + line if line.strip() else line for line in lines[begin:end]]
    text = "".join(lines[:begin] + shifted + lines[end:])
    assert "    # why the query reads event.action\n    query:" in text
    formatted, findings = format_text(text, "r.yaml")
    assert formatted == RULE
    assert [(d.code, d.location.line, d.message) for d in findings] == [
        ("FMT103", 8, "indentation differs from the canonical layout")]


def test_blank_lines_between_tables() -> None:
    text = RULE.replace("\n\nrule:", "\nrule:").replace("\n\nhistory:", "\n\n\nhistory:") + "\n\n"
    formatted, findings = format_text(text, "r.yaml")
    assert formatted == RULE
    assert sorted(d.message for d in findings) == [
        "0 blank lines before 'rule'; the top-level tables are separated by one",
        "2 blank lines before 'history'; the top-level tables are separated by one",
        "blank lines at the end of the file",
    ]


def test_crlf_files_keep_their_line_endings() -> None:
    bad = _swap(RULE, "  severity: low", "  risk_score: 21").replace("\n", "\r\n")
    formatted, findings = format_text(bad, "r.yaml")
    assert formatted == RULE.replace("\n", "\r\n")
    assert [d.code for d in findings] == ["FMT101"]


def test_toml_is_skipped_and_broken_yaml_is_an_input_error(tmp_path: Path, capsys) -> None:
    toml = tmp_path / "rules" / "r.toml"
    toml.parent.mkdir()
    toml.write_text('[rule]\nname = "x"\nrule_id = "y"\n')
    broken = tmp_path / "rules" / "broken.yaml"
    broken.write_text("rule:\n  name: [unclosed\n")
    not_a_rule = tmp_path / "rules" / "cases.yaml"
    not_a_rule.write_text("description: d\ncases: []\nrule: x\n")  # a fixture file: keys would reorder
    results = {r.path.name: r for r in format_paths([tmp_path / "rules"])}
    assert results["r.toml"].skipped and not results["r.toml"].failed
    assert results["cases.yaml"].skipped == "not a rule file (no `rule` table)"
    assert results["broken.yaml"].failed and results["broken.yaml"].findings[0].code == "E101"
    assert main(["fmt", "--check", str(tmp_path / "rules")]) == 2
    err = capsys.readouterr().err
    assert f"{broken}:3:1: E101" in err or f"{broken}:2:" in err
    assert "2 left as they are (TOML, or not a rule file)" in err and "1 could not be formatted" in err


def test_diff_prints_the_change_and_writes_nothing(tmp_path: Path, capsys) -> None:
    path = tmp_path / "rule.yaml"
    bad = _swap(RULE, "  severity: low", "  risk_score: 21")
    path.write_text(bad)
    assert main(["fmt", "--diff", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("--- a/") and "\n+++ b/" in out
    assert "\n-  severity: low\n" in out and "\n+  severity: low\n" in out
    assert path.read_text() == bad
    assert format_file(path).changed


def test_fold_positions_keep_lines_within_the_width() -> None:
    words = " ".join(f"word{i}" for i in range(60))
    folds = fold_positions(words, indent=6)
    lines, start = [], 0
    for pos in folds:
        lines.append(words[start:pos])
        start = pos + 1
    lines.append(words[start:])
    assert all(6 + len(line) <= 100 for line in lines) and len(lines) > 1
    assert " ".join(lines) == words
    assert fold_positions("x" * 150, indent=4) == []  # one long word cannot fold


_KEYS = ["rule_id", "name", "description", "type", "language", "index", "query", "severity", "risk_score",
         "interval", "from", "tags", "note", "setup", "version", "enabled", "timestamp_override"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10**6), top=st.permutations(["metadata", "rule", "history"]))
def test_any_key_order_formats_to_one_canonical_text(seed: int, top: list[str]) -> None:
    from ruamel.yaml import YAML

    rng = random.Random(seed)
    keys = _KEYS[:]
    rng.shuffle(keys)
    values = {"index": ["logs-*"], "risk_score": 21, "version": 3, "enabled": True, "tags": ["A", "B"],
              "note": "## Triage\n\nLook at the user.\n"}
    rule = {k: values.get(k, f"value of {k}") for k in keys}
    history_entry = dict(sorted({"version": 3, "date": "2024/01/01", "kind": "created", "summary": "Created."}.items(),
                                key=lambda _: rng.random()))
    document = {"metadata": {"maturity": "production", "creation_date": "2024/01/01"}, "rule": rule,
                "history": [history_entry]}
    yaml = YAML()
    out = io.StringIO()
    yaml.dump({k: document[k] for k in top}, out)
    formatted, _ = format_text(out.getvalue(), "r.yaml")
    assert load_yaml(formatted)[0] == document
    assert list(load_yaml(formatted)[0]) == ["metadata", "rule", "history"]
    assert format_text(formatted, "r.yaml") == (formatted, [])
    canonical, _ = format_text(_dump_sorted(document), "r.yaml")
    assert formatted == canonical


def _dump_sorted(document: dict) -> str:
    from ruamel.yaml import YAML

    out = io.StringIO()
    YAML().dump({k: (dict(sorted(v.items())) if isinstance(v, dict) else v) for k, v in document.items()}, out)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "rules" / "aws").glob("*.yaml"))[:6])
def test_formatting_keeps_every_rules_data(name: str) -> None:
    text = (REPO / "rules" / "aws" / name).read_text()
    shuffled = _swap(text, "  name:", "  rule_id:")
    formatted, findings = format_text(shuffled, name)
    assert load_yaml(formatted)[0] == load_yaml(text)[0]
    assert findings and findings[0].code == "FMT101"
