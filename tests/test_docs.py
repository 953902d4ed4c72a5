"""detection docs: rule pages with their version history, index, ATT&CK coverage and Navigator layer."""

from __future__ import annotations

import json

from detection.cli import main
from detection.docs import (
    COVERAGE_PAGE,
    INDEX_PAGE,
    LAYER_FILE,
    build_docs,
    rule_page,
    version_notes,
    write_docs,
)
from detection.loader import load_rule_file, load_rules
from detection.navigator import coverage, navigator_layer
from detection.query_compare import queries_equivalent
from tests.conftest import SEED_RULE
from tests.kibana_helpers import rule_doc, write_rule

SEED_PAGE = "privilege_escalation_sts_assumerole_usage.md"


def seed():
    return load_rule_file(SEED_RULE)


def test_seed_page_carries_its_full_version_history():
    rule = seed()
    page = rule_page(rule)
    history = page.split("## Rule version history", 1)[1]
    headings = [line for line in history.splitlines() if line.startswith("### ")]
    assert len(headings) == len(rule.history) >= 3
    for heading, entry in zip(headings, sorted(rule.history, key=lambda h: -h.version), strict=True):
        assert heading.startswith(f"### Version {entry.version} (")
        assert entry.date in heading and (entry.stack is None or f"{entry.stack} release" in heading)
    # Elastic published v4 as "Updated query"; it only removed a trailing space.
    v4 = history.split("### Version 4 (8.4.0 release, 2022/07/18)", 1)[1].split("### ", 1)[0]
    assert "Formatting only" in v4 and "Updated query" not in v4
    assert "changed only in whitespace" in v4
    assert "### Version 100 (8.5.0 release, 2022/08/24)\n\nFormatting only" in history
    for note in version_notes(rule):
        if note.change == "query":  # a real query change shows the old query
            assert note.old_query is not None and note.old_query in page


def test_seed_page_shows_what_elastics_reference_shows():
    page = rule_page(seed())
    for fact in ("# AWS STS AssumeRole Usage", "- **Rule type**: query", "  - `logs-aws*`", "- **Severity**: low",
                 "- **Risk score**: 21", "- **Runs every**: 5 minutes", "- **Searches indices from**: `now-6m`",
                 "- **Maximum alerts per execution**: 100",
                 "  - <https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html>",
                 "  - Identity and Access", f"- **Version**: {seed().version} ([version history]",
                 "- **Added**: 7.16.0 release, 2021/10/15", "- **Rule authors**: Austin Songer",
                 "- **Rule license**: Elastic License v2", "## Potential false positives", "## Setup",
                 "## Rule query", "```kql\nevent.dataset:aws.cloudtrail and", "## Threat mapping",
                 "  - ID: TA0004", "  - Name: Use Alternate Authentication Material"):
        assert fact in page, fact


def history_rule(tmp_path, history, **rule):
    doc = rule_doc(**rule)
    doc["history"] = history
    return load_rule_file(write_rule(tmp_path, "hist", doc))


def test_real_query_changes_show_each_old_query(tmp_path):
    rule = history_rule(tmp_path, [
        {"version": 3, "date": "2024/03/01", "kind": "query", "summary": "Fixed the action name.",
         "changed": ["query"], "previous": {"query": "event.action:Exampel"}},
        {"version": 2, "date": "2024/02/01", "stack": "8.12.0", "kind": "query", "summary": "Narrowed.",
         "changed": ["query", "severity"], "previous": {"query": "event.action:*", "severity": "medium"}},
        {"version": 1, "date": "2024/01/01", "kind": "created", "summary": "First version."},
    ], version=3)
    notes = version_notes(rule)
    assert [(n.version, n.change) for n in notes] == [(3, "query"), (2, "query"), (1, "added")]
    assert notes[0].old_query == "event.action:Exampel"
    assert notes[1].old_query == "event.action:*" and notes[1].detail == "Narrowed. Also changed: severity."
    assert notes[1].heading == "Version 2 (8.12.0 release, 2024/02/01)"
    page = rule_page(rule)
    assert page.count("Updated query, changed from:") == 2
    assert "```kql\nevent.action:Exampel\n```" in page


def test_whitespace_inside_quotes_is_a_real_change(tmp_path):
    rule = history_rule(tmp_path, [
        {"version": 2, "date": "2024/02/01", "kind": "query", "summary": "s", "changed": ["query"],
         "previous": {"query": 'user.name:"a  b"'}},
    ], query='user.name:"a b"', version=2)
    assert version_notes(rule)[0].change == "query"
    assert queries_equivalent("kuery", "a:b   and  c:d\n", "a:b and c:d")
    assert not queries_equivalent("kuery", 'a:"x  y"', 'a:"x y"')
    assert not queries_equivalent("eql", "a == 1", "a == 2")


def test_other_field_changes_are_named(tmp_path):
    rule = history_rule(tmp_path, [
        {"version": 2, "date": "2024/02/01", "kind": "fields", "summary": "Raised the severity.",
         "changed": ["severity", "risk_score"], "previous": {"severity": "low", "risk_score": 21}},
        {"version": 1, "date": "2024/01/01", "kind": "created", "summary": "First version."},
    ], severity="high", risk_score=73, version=2)
    [newest, _] = version_notes(rule)
    assert (newest.change, newest.text, newest.detail) == ("fields", "Changed: severity, risk_score",
                                                           "Raised the severity.")


def test_docs_set_index_coverage_and_layer(tmp_path):
    write_rule(tmp_path, "second", rule_doc(rule_id="r2", name="Second | Rule", threat=[{
        "framework": "MITRE ATT&CK",
        "tactic": {"id": "TA0004", "name": "Privilege Escalation", "reference": "https://attack.mitre.org/tactics/TA0004/"},
        "technique": [{"id": "T1548", "name": "Abuse Elevation Control Mechanism",
                       "reference": "https://attack.mitre.org/techniques/T1548/",
                       "subtechnique": [{"id": "T1548.005", "name": "Temporary Elevated Cloud Access",
                                         "reference": "https://attack.mitre.org/techniques/T1548/005/"}]}]}]))
    write_rule(tmp_path, "unmapped", rule_doc(rule_id="r3", name="Unmapped"))
    rules = load_rules([SEED_RULE, tmp_path]).rules
    files = build_docs(rules)
    assert set(files) == {SEED_PAGE, "second.md", "unmapped.md", INDEX_PAGE, COVERAGE_PAGE, LAYER_FILE}
    index = files[INDEX_PAGE]
    assert f"[AWS STS AssumeRole Usage]({SEED_PAGE})" in index and "Second \\| Rule" in index
    assert "Privilege Escalation, Lateral Movement" in index
    cov = files[COVERAGE_PAGE]
    assert cov.index("## Privilege Escalation (TA0004)") < cov.index("## Lateral Movement (TA0008)")
    assert "| T1548 Abuse Elevation Control Mechanism (2) | T1550 Use Alternate Authentication Material (1) |" in cov
    assert "## Rules without an ATT&CK mapping" in cov and "(unmapped.md)" in cov
    layer = json.loads(files[LAYER_FILE])
    assert layer["versions"] == {"attack": "19", "navigator": "5.1.0", "layer": "4.5"}
    assert layer["domain"] == "enterprise-attack"
    cells = {(t["techniqueID"], t["tactic"]): t["score"] for t in layer["techniques"]}
    assert cells == {("T1548", "privilege-escalation"): 2, ("T1548.005", "privilege-escalation"): 1,
                     ("T1550", "lateral-movement"): 1}
    assert all("comment" in t for t in layer["techniques"])


def test_tactic_shortnames_come_from_the_attack_release(tmp_path):
    path = write_rule(tmp_path, "stealth", rule_doc(threat=[{
        "framework": "MITRE ATT&CK",
        "tactic": {"id": "TA0005", "name": "Defense Evasion", "reference": "https://attack.mitre.org/tactics/TA0005/"},
        "technique": []}]))
    cov = coverage([load_rule_file(path)])
    assert [(t.id, t.name, t.shortname) for t in cov.tactics] == [("TA0005", "Stealth", "stealth")]
    assert navigator_layer(cov)["techniques"] == []


def test_docs_are_deterministic_and_rewrites_only_changes(tmp_path):
    rules = load_rules([SEED_RULE]).rules
    first, second = build_docs(rules), build_docs(load_rules([SEED_RULE]).rules)
    assert first == second
    out = tmp_path / "docs"
    assert len(write_docs(first, out)) == 4
    assert write_docs(first, out) == []
    assert (out / SEED_PAGE).read_text(encoding="utf-8") == first[SEED_PAGE]


def test_guide_headings_are_nested_and_code_fences_survive(tmp_path):
    path = write_rule(tmp_path, "guide", rule_doc(note="## Triage and analysis\n\n```\n# not a heading\n```\n",
                                                  query="a:```b```"))
    page = rule_page(load_rule_file(path))
    assert "#### Triage and analysis" in page and "\n# not a heading\n" in page
    assert "````kql\na:```b```\n````" in page


def test_cli_docs_writes_and_checks(tmp_path, capsys):
    out = tmp_path / "site"
    assert main(["docs", str(SEED_RULE), "-o", str(out)]) == 0
    assert (out / SEED_PAGE).is_file() and (out / LAYER_FILE).is_file()
    assert main(["docs", str(SEED_RULE), "-o", str(out), "--check"]) == 0
    (out / INDEX_PAGE).write_text("stale\n", encoding="utf-8")
    assert main(["docs", str(SEED_RULE), "-o", str(out), "--check"]) == 1
    assert "index.md: out of date" in capsys.readouterr().err
