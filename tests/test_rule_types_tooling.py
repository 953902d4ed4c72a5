"""lint, export and docs on rules of every type: EQL (event and sequence), ES|QL, threshold,
new_terms and Lucene query rules (KQL query rules are covered by their own tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.cli import main
from detection.docs import rule_page

from .runner_support import make_rule, with_block_query

QUERY = "event.dataset:aws.cloudtrail and event.action:ConsoleLogin and event.outcome:failure"


@pytest.fixture
def typed_rules(tmp_path: Path) -> dict[str, Path]:
    """One rule file of each type (distinct ids and names) in ``tmp_path/rules``."""
    folder = tmp_path / "rules"
    folder.mkdir()
    specs = {
        "eql_event": dict(type="eql", language="eql", query='authentication where event.action == "ConsoleLogin"'),
        "eql_sequence": dict(type="eql", language="eql", query=(
            'sequence by user.name with maxspan=10m [iam where event.action == "CreateUser"] '
            '[iam where event.action == "CreateAccessKey"]'), tiebreaker_field="event.sequence",
            **{"from": "now-11m"}),  # the look-back covers the maxspan (H117)
        "esql": dict(type="esql", language="esql", query=(
            'FROM logs-aws* | WHERE event.action == "ConsoleLogin" | STATS n = COUNT(*) BY source.ip | WHERE n >= 10'),
            drop=("index",)),
        "threshold": dict(type="threshold", query=QUERY, threshold={"field": ["source.ip"], "value": 10,
                                                                     "cardinality": [{"field": "user.name", "value": 3}]}),
        "new_terms": dict(type="new_terms", query=QUERY, new_terms_fields=["user.name"], history_window_start="now-14d"),
        "lucene": dict(type="query", language="lucene",
                       query="event.dataset:aws.cloudtrail AND event.action:/Delete(WebACL|RuleGroup)/"),
        "threshold_lucene": dict(type="threshold", language="lucene", query="event.action:ConsoleLogin",
                                 threshold={"field": [], "value": 100}),
    }
    out = {}
    for number, (name, spec) in enumerate(specs.items()):
        drop = spec.pop("drop", ())
        rule = make_rule(folder, f"{name}.yaml", drop=drop, rule_id=f"00000000-0000-4000-8000-{number:012d}",
                         name=f"Typed rule {name}", **spec)
        out[name] = rule.path
    return out


def test_lint_runs_clean_on_every_type(typed_rules: dict[str, Path], capsys):
    code = main(["lint", "--format", "json", *map(str, typed_rules.values())])
    report = json.loads(capsys.readouterr().out)
    assert report["rules"] == len(typed_rules)
    assert (code, report["findings"]) == (0, [])


def test_lint_reports_lucene_syntax_errors_in_place(tmp_path: Path, capsys):
    rule = with_block_query(make_rule(tmp_path, type="query", language="lucene", query="x"),
                            "event.action:StopLogging AND\n  event.outcome:(success OR")
    assert main(["lint", "--select", "Q101", str(rule.path)]) == 1
    out = capsys.readouterr().out
    line = next(i for i, text in enumerate(rule.text.splitlines(), 1) if text.startswith("  query: |-")) + 2
    assert f"rule.yaml:{line}:" in out and "Q101 Lucene syntax error: the query ends after an operator" in out


def test_export_writes_every_type_with_its_fields(typed_rules: dict[str, Path], tmp_path: Path):
    target = tmp_path / "rules.ndjson"
    assert main(["export", "-o", str(target), *map(str, typed_rules.values())]) == 0
    exported = {json.loads(line)["name"]: json.loads(line) for line in target.read_text().splitlines()}
    assert len(exported) == len(typed_rules)
    fields = {name: [f["name"] for f in rule.get("required_fields", [])] for name, rule in exported.items()}
    assert fields["Typed rule lucene"] == ["event.action", "event.dataset"]
    assert {"source.ip", "user.name", "event.action"} <= set(fields["Typed rule threshold"])
    assert "user.name" in fields["Typed rule new_terms"] and "user.name" in fields["Typed rule eql_sequence"]
    assert exported["Typed rule threshold"]["threshold"]["cardinality"] == [{"field": "user.name", "value": 3}]
    assert exported["Typed rule new_terms"]["history_window_start"] == "now-14d"


def test_docs_pages_show_each_types_settings(typed_rules: dict[str, Path], tmp_path: Path):
    out = tmp_path / "docs"
    assert main(["docs", "-o", str(out), *map(str, typed_rules.values())]) == 0
    pages = {p.stem: p.read_text() for p in out.glob("*.md")}
    assert "- **Threshold**: at least 10 events grouped by `source.ip`" in pages["threshold"]
    assert "- **Threshold cardinality**: at least 3 distinct `user.name`" in pages["threshold"]
    assert "grouped by nothing (all matching events)" in pages["threshold_lucene"]
    assert "- **New terms fields**: `user.name`" in pages["new_terms"]
    assert "- **History window starts**: `now-14d`" in pages["new_terms"]
    assert "- **Tiebreaker field**: `event.sequence`" in pages["eql_sequence"]
    assert "- **Query language**: Lucene" in pages["lucene"] and "```lucene" in pages["lucene"]
    assert "- **Query language**: ES|QL" in pages["esql"]


def test_rule_page_for_a_kql_rule_names_its_language(tmp_path: Path):
    assert "- **Query language**: KQL" in rule_page(make_rule(tmp_path))
