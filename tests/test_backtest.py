"""detection backtest: the optimised path (prefilter, index, workers, chunks) equals the plain loop."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from detection import kql
from detection.backtest import (
    Span,
    discover_event_files,
    event_predicate,
    iter_chunks,
    iter_tasks,
    plain_backtest,
    prepare_backtest,
    run_backtest,
    task_bytes,
)
from detection.cli import main
from detection.diagnostics import DetectionError
from detection.fields import FieldSchema
from detection.loader import load_rules
from detection.testing import fields_for
from tests.backtest_support import FIELDS, encode_line, make_event, make_query
from tests.kibana_helpers import rule_doc, write_rule

SCHEMA = FieldSchema.from_mapping(FIELDS)


def rule_id(i: int) -> str:
    return f"00000000-0000-4000-8000-{i:012d}"


def write_generated_rules(folder: Path, queries: list[str]) -> None:
    for i, query in enumerate(queries):
        write_rule(folder, f"r{i:03d}", rule_doc(rule_id=rule_id(i), name=f"Rule {i}", query=query))


def write_events(folder: Path, rng: random.Random, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [encode_line(rng, make_event(rng)) for _ in range(n)]
    third = n // 3
    plain = folder / "a.ndjson"
    plain.write_bytes(b"".join(lines[:third]) + b"\n  \n")  # blank lines count as lines, match nothing
    with gzip.open(folder / "b.ndjson.gz", "wb") as handle:
        handle.write(b"".join(lines[third:2 * third]))
    (folder / "sub").mkdir(exist_ok=True)
    (folder / "sub" / "c.jsonl").write_bytes(b"".join(lines[2 * third:]).rstrip(b"\n"))  # no final newline
    return discover_event_files([folder])


def alerts_of(out: Path) -> list[tuple[str, int, str]]:
    records = [json.loads(line) for line in out.read_bytes().splitlines()]
    return [(r["file"], r["line"], r["rule_id"]) for r in records]


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    rng = random.Random(42)
    root = tmp_path_factory.mktemp("backtest")
    queries = [make_query(rng) for _ in range(60)]
    write_generated_rules(root / "rules", queries)
    files = write_events(root / "events", rng, 900)
    rules = load_rules([root / "rules"]).rules
    predicates = [(r.rule_id, event_predicate(r, fields_for(SCHEMA, r))[0]) for r in rules]
    return root, rules, files, plain_backtest(predicates, files)


@pytest.mark.parametrize("jobs, chunk_size, index, prefilter", [
    (1, 1 << 20, True, True),
    (1, 700, True, True),  # many chunks, lines cut at every boundary
    (2, 2000, True, True),  # worker processes
    (1, 5000, False, False),  # neither optimisation: must agree too
])
def test_optimised_paths_give_the_plain_loops_alerts(generated, tmp_path, jobs, chunk_size, index, prefilter):
    _, rules, files, expected = generated
    assert len(expected) > 200  # generated rules really fire
    plan = prepare_backtest(rules, SCHEMA, use_index=index, use_prefilter=prefilter)
    out = tmp_path / "alerts.ndjson"
    with out.open("wb") as handle:
        result = run_backtest(plan, files, jobs=jobs, out=handle, chunk_size=chunk_size)
    assert alerts_of(out) == expected
    assert result.alerts == len(expected) and not result.diagnostics
    assert result.lines == 902  # 900 events and the two blank-ish lines of a.ndjson
    by_rule = {c.rule.rule_id: c.alerts for c in result.counts}
    for rid in {a[2] for a in expected}:
        assert by_rule[rid] == sum(1 for a in expected if a[2] == rid)


def test_prefilter_skips_lines_for_a_selective_rule(tmp_path):
    write_rule(tmp_path / "rules", "one", rule_doc(query="event.action:AssumeRole and event.outcome:success"))
    lines = [json.dumps({"event": {"action": a, "outcome": "success"}}).encode() + b"\n"
             for a in ["GetObject"] * 50 + ["AssumeRole"] * 3 + ["Assume\\u0052ole"] * 2]
    (tmp_path / "e.ndjson").write_bytes(b"".join(lines).replace(b"Assume\\\\u0052ole", b"Assume\\u0052ole"))
    plan = prepare_backtest(load_rules([tmp_path / "rules"]).rules)
    result = run_backtest(plan, [tmp_path / "e.ndjson"], jobs=1)
    assert result.prefilter == "scan"
    assert result.alerts == 5  # the escaped spelling decodes to AssumeRole and is found
    assert result.decoded == 5 and result.lines == 55


def test_bad_lines_are_located_and_the_rest_still_runs(tmp_path):
    write_rule(tmp_path / "rules", "one", rule_doc(query="event.action:x"))
    (tmp_path / "e.ndjson").write_bytes(b'{"event":{"action":"x"}}\n{"event":{"action":"x"\n[1,2]\n{"event":{"action":"x"}}\n')
    plan = prepare_backtest(load_rules([tmp_path / "rules"]).rules, use_prefilter=False)
    result = run_backtest(plan, [tmp_path / "e.ndjson"], jobs=1)
    assert result.alerts == 2
    assert [(d.code, d.location.line) for d in result.diagnostics] == [("E201", 2), ("E202", 3)]
    assert result.diagnostics[0].location.column > 1


def test_rules_a_backtest_cannot_run_are_listed_with_the_reason_and_multi_event_rules_are_replayed(tmp_path):
    folder = tmp_path / "rules"
    write_rule(folder, "thr", rule_doc(rule_id=rule_id(1), name="T", type="threshold", query="event.action:x",
                                       threshold={"field": ["user.name"], "value": 5}))
    write_rule(folder, "seq", rule_doc(rule_id=rule_id(2), name="S", type="eql", language="eql",
                                       query="sequence [any where true] [any where true]"))
    write_rule(folder, "flt", rule_doc(rule_id=rule_id(3), name="F", filters=[{"query": {"match_all": {}}}]))
    write_rule(folder, "ev", rule_doc(rule_id=rule_id(4), name="E", type="eql", language="eql",
                                      query='any where event.action == "x"'))
    rules = load_rules([folder]).rules
    plan = prepare_backtest(rules)
    reasons = {s.rule.name: s.reason for s in plan.skipped}
    assert set(reasons) == {"F"} and "filters" in reasons["F"]
    assert [r.name for r in plan.rules] == ["E", "S", "T"]  # threshold and sequence: replayed (scheduled)
    assert {plan.rules[p].name for p in plan.scheduled} == {"S", "T"}
    assert plan.matcher.prefilter.strings is None  # the sequence's `any where true` may keep any line
    alone = prepare_backtest([r for r in rules if r.name == "E"])
    assert alone.matcher.prefilter.strings == frozenset({b"x"})  # from the EQL equality


def test_chunks_hold_whole_lines_and_gzip_is_recognised(tmp_path):
    data = b"".join(b'{"n":%d}\n' % i for i in range(500))
    (tmp_path / "x.ndjson").write_bytes(data)
    with gzip.open(tmp_path / "x.ndjson.gz", "wb") as handle:
        handle.write(data)
    for name in ("x.ndjson", "x.ndjson.gz"):
        chunks = [c for c, _ in iter_chunks(tmp_path / name, 64)]
        assert b"".join(chunks) == data and all(c.endswith(b"\n") for c in chunks) and len(chunks) > 50


@pytest.mark.parametrize("size", [1, 7, 64, 10_000])
def test_plain_files_are_cut_into_spans_of_whole_lines(tmp_path, size):
    data = b"".join(b'{"n":%d}\n' % i for i in range(300)) + b'{"last":1}'  # no final newline
    (tmp_path / "x.ndjson").write_bytes(data)
    tasks = list(iter_tasks(tmp_path / "x.ndjson", size))
    assert all(isinstance(t, Span) for t, _ in tasks)
    pieces = [task_bytes(t) for t, _ in tasks]
    assert b"".join(pieces) == data and all(p.endswith(b"\n") for p in pieces[:-1])
    assert tasks[-1][1] == len(data)  # progress reaches the file size


def test_missing_and_empty_inputs_are_located_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DetectionError) as caught:
        discover_event_files([tmp_path / "empty", tmp_path / "nope.ndjson"])
    assert [d.code for d in caught.value.diagnostics] == ["E204", "E203"]


# --------------------------------------------------------------------------- the command


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n', encoding="utf-8")
    write_rule(tmp_path / "rules", "assume", rule_doc(rule_id=rule_id(1), name="Assume", query="event.action:AssumeRole"))
    write_rule(tmp_path / "rules", "create", rule_doc(rule_id=rule_id(2), name="Create",
                                                      query="event.action:CreateUser and event.outcome:success"))
    write_rule(tmp_path / "rules", "thr", rule_doc(rule_id=rule_id(3), name="Thr", type="threshold",
                                                   query="event.action:x", threshold={"field": ["user.name"], "value": 5}))
    events = tmp_path / "events"
    events.mkdir()
    rows = [{"event": {"action": "AssumeRole"}}, {"event": {"action": "CreateUser", "outcome": "success"}},
            {"event": {"action": "AssumeRole"}}, {"event": {"action": "GetObject"}}]
    (events / "day1.ndjson").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_command_text_report_counts_alerts_per_rule(project, capsys):
    assert main(["backtest", "events", "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert "4 lines" in out
    assert "2  Assume (rules/assume.yaml)" in out and "1  Create (rules/create.yaml)" in out
    assert "Replayed on their schedule (1 rule(s)):" in out and "rules/thr.yaml: Thr: threshold every 5m" in out
    assert "Not supported" not in out
    assert "3 alert(s) from 2 of 3 rule(s)." in out


def test_command_json_out_file_and_rule_selection(project, capsys):
    code = main(["backtest", "rules/assume.yaml", "events/day1.ndjson", "--format", "json", "--out", "alerts.ndjson"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert [(r["name"], r["alerts"]) for r in report["rules"]] == [("Assume", 2)]
    records = [json.loads(line) for line in (project / "alerts.ndjson").read_text().splitlines()]
    assert [(r["rule_name"], r["file"], r["line"], r["event"]["event"]["action"]) for r in records] == [
        ("Assume", "events/day1.ndjson", 1, "AssumeRole"), ("Assume", "events/day1.ndjson", 3, "AssumeRole")]
    assert main(["backtest", "--rule", "Create", "events", "--format", "json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)["rules"]] == ["Create"]


def test_command_usage_errors_exit_2_with_located_messages(project, capsys):
    (project / "notes.txt").write_text("x", encoding="utf-8")
    assert main(["backtest", "notes.txt", "events"]) == 2
    assert "notes.txt:0:0: E205 neither a rule file nor an events file" in capsys.readouterr().err
    assert main(["backtest", "rules"]) == 2
    assert "no events given" in capsys.readouterr().err
    assert main(["backtest", "events", "--rule", "nope"]) == 2
    assert "no rule has the rule_id or name 'nope'" in capsys.readouterr().err
    assert main(["backtest", "events", "--jobs", "0"]) == 2


def test_no_progress_bar_when_stderr_is_not_a_terminal(project, capsys):
    assert main(["backtest", "events", "--jobs", "1"]) == 0
    assert "\r" not in capsys.readouterr().err


def test_compiled_predicate_is_the_engine_one(generated):
    _, rules, _, _ = generated
    rule = rules[0]
    predicate, _ = event_predicate(rule, fields_for(SCHEMA, rule))
    assert predicate.kql_query == kql.compile(rule.query, SCHEMA).kql_query


def test_a_named_command_imports_only_its_own_module():
    import subprocess
    import sys

    probe = ("import sys; from detection import cli; cli.build_parser(cli._command_in(['--debug', 'backtest', 'x'])); "
             "print(sorted(m for m in sys.modules if m.startswith('detection.commands.')))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip() == "['detection.commands.backtest', 'detection.commands.common']"


def test_progress_line_overwrites_itself_and_is_cleared():
    import io

    from detection.commands.backtest import Progress

    stream = io.StringIO()
    progress = Progress(stream)
    progress(50_000_000, 200_000_000, 1234, 5)
    progress(60_000_000, 200_000_000, 2000, 6)  # within 0.2 s of the first: not redrawn
    progress.close()
    text = stream.getvalue()
    assert text.startswith("\r 25.0% 50.0/200.0 MB  1,234 lines  5 alerts")
    assert "2,000" not in text and text.endswith("\r")


def test_an_event_a_rule_cannot_evaluate_is_reported_not_fatal(tmp_path):
    from detection.backtest import Matcher
    from detection.kql.requirements import RequiredTerms
    from detection.prefilter import Prefilter
    from detection.rule_index import IndexedRule, RuleIndex

    def fragile(event):
        return 1 / event["n"] > 0

    matcher = Matcher(RuleIndex([IndexedRule(0, fragile, RequiredTerms())]), Prefilter(None))
    result = matcher.scan(b'{"n": 1}\n{"n": 0}\n{"n": 2}\n', keep_events=False)
    assert result.hits == [(0, 0), (2, 0)]
    assert [(e[0], e[2]) for e in result.errors] == [(1, "E207")] and "division by zero" in result.errors[0][3]


def test_default_jobs_are_the_cores_this_process_may_use(monkeypatch):
    import os

    from detection.backtest import default_jobs

    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert default_jobs() == 2  # a CI container limited to two of the host's 64 cores
    monkeypatch.delattr(os, "sched_getaffinity")
    assert default_jobs() == 64
