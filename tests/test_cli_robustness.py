"""Every command, fed bad input, answers with a located message and exit 1 or 2, never a traceback.

Each scenario breaks one input in a scratch project (a rule, a query, a fixture,
an events file, a Kibana export, or a path that is missing, empty, binary, a folder or unreadable)
and says where the problem is. Each (command, scenario) pair that makes sense runs the command in
this process and checks the exit code, that some output line reads ``path:line:col: CODE message``
for the broken file (at the expected line and column for the main cases), and that nothing in the
output looks like a crash.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from detection import cli

SEED = Path("rules/aws/privilege_escalation_sts_assumerole_usage.yaml")
SEED_FIXTURE = Path("fixtures/aws/privilege_escalation_sts_assumerole_usage.yaml")
SEED_ID = "93075852-b0f5-4b8b-89c3-a226efae5726"
EVENTS = Path("events.ndjson")
GOOD_EVENT = '{"event": {"action": "AssumeRole", "dataset": "aws.cloudtrail"}}'
CRASH_WORDS = ("Traceback", "internal error")

# Commands whose argument is one rule (a file, rule_id or name) rather than a set of rule paths.
ONE_RULE = ("history", "show")


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


def run_cli(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> Outcome:
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("DETECTION_DEBUG", raising=False)
    capsys.readouterr()
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse: --help and usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


def located(text: str, path: str) -> list[tuple[int, int, str]]:
    """(line, column, code) of every ``path:line:col: CODE`` message about ``path``; a report may
    indent the message or put a label before it (``error:    path:1:2: F130 ...``)."""
    pattern = re.compile(rf"(?:^|\s){re.escape(path)}:(\d+):(\d+): ([A-Z]+\d+) \S", re.M)
    return [(int(m[1]), int(m[2]), m[3]) for m in pattern.finditer(text)]


@pytest.fixture
def seed_repo(tmp_path: Path) -> Path:
    """A scratch project holding the seed rule alone, with its fixture file, the event files and
    the schemas: every command runs on it as on the repository, in a fraction of the time."""
    repo = Path(__file__).resolve().parents[1]
    for rel in (SEED, SEED_FIXTURE):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo / rel, tmp_path / rel)
    shutil.copytree(repo / "fixtures" / "aws" / "events", tmp_path / "fixtures" / "aws" / "events")
    shutil.copytree(repo / "schemas", tmp_path / "schemas")
    shutil.copy(repo / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


# --------------------------------------------------------------------------- building bad inputs


@dataclass(frozen=True)
class Broken:
    """What a scenario broke: the file a message must name and, when known, where."""

    path: str
    lines: tuple[int, ...] | None = None  # acceptable lines (None: any)
    column: int | None = None


def _replace_query(root: Path, rule_type: str, language: str, query_lines: list[str]) -> Broken:
    """Give the seed rule another type and a block-scalar query; the lines the query occupies."""
    rule = root / SEED
    text = rule.read_text(encoding="utf-8")
    start, end = text.index("  query: >-\n"), text.index("  severity:")
    block = "  query: |-\n" + "".join(f"    {line}\n" for line in query_lines)
    text = text[:start] + block + text[end:]
    text = text.replace("  type: query\n", f"  type: {rule_type}\n", 1)
    text = text.replace("  language: kuery\n", f"  language: {language}\n", 1)
    rule.write_text(text, encoding="utf-8")
    first = text[:start].count("\n") + 1
    return Broken(str(SEED), tuple(range(first, first + len(query_lines) + 1)))


def rule_yaml_syntax(root: Path) -> Broken:
    rule = root / SEED
    lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
    index = lines.index("  severity: low\n")
    lines[index] = "  severity: low: high\n"
    rule.write_text("".join(lines), encoding="utf-8")
    return Broken(str(SEED), (index + 1,), lines[index].index(": high") + 1)


def rule_bad_kql(root: Path) -> Broken:
    return _replace_query(root, "query", "kuery", [
        "event.dataset:aws.cloudtrail and",
        "(event.action:AssumeRole or event.action:GetSessionToken",
    ])


def rule_bad_eql(root: Path) -> Broken:
    return _replace_query(root, "eql", "eql", [
        'any where event.dataset == "aws.cloudtrail" and',
        '  (event.action == "AssumeRole" or',
    ])


def rule_bad_esql(root: Path) -> Broken:
    return _replace_query(root, "esql", "esql", [
        "FROM logs-aws*",
        '| WHERE event.action == "AssumeRole" AND (',
        "| STATS n = COUNT(*) BY user.name",
    ])


def rule_empty(root: Path) -> Broken:
    (root / SEED).write_text("", encoding="utf-8")
    return Broken(str(SEED))


def rule_binary(root: Path) -> Broken:
    (root / SEED).write_bytes(b"\x00\x01\xfe\xff\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return Broken(str(SEED))


def rule_unreadable(root: Path) -> Broken:
    os.chmod(root / SEED, 0)
    return Broken(str(SEED))


def _cases(root: Path, body: str) -> Path:
    fixture = root / SEED_FIXTURE
    fixture.write_text(f"rule: {SEED_ID}\ncases:\n" + body, encoding="utf-8")
    return fixture


def fixture_yaml_syntax(root: Path) -> Broken:
    _cases(root, "  - name: broken\n    expect: alert: yes\n    event: {event: {action: AssumeRole}}\n")
    return Broken(str(SEED_FIXTURE), (4,), len("    expect: alert") + 1)


def fixture_events_file_bad_json(root: Path) -> Broken:
    events = root / "fixtures" / "aws" / "events" / "broken.ndjson"
    events.write_text(f"{GOOD_EVENT}\n{GOOD_EVENT}\n" + '{"event": {"action": AssumeRole}}\n', encoding="utf-8")
    _cases(root, "  - name: from-file\n    expect: {alerts: 3}\n    events_file: events/broken.ndjson\n")
    return Broken("fixtures/aws/events/broken.ndjson", (3,), len('{"event": {"action": ') + 1)


def fixture_missing_expectation(root: Path) -> Broken:
    _cases(root, "  - name: no-expectation\n    event: {event: {action: AssumeRole}}\n")
    return Broken(str(SEED_FIXTURE), (3,), 5)


def fixture_events_outside(root: Path) -> Broken:
    _cases(root, "  - name: escape\n    expect: no_alert\n    events_file: ../../etc/passwd\n")
    return Broken(str(SEED_FIXTURE), (5,), len("    events_file: ") + 1)


def events_bad_line(root: Path) -> Broken:
    (root / EVENTS).write_text(f"{GOOD_EVENT}\n\n{GOOD_EVENT}\n" + '{"event": {"action": "AssumeRole"}\n',
                               encoding="utf-8")
    return Broken(str(EVENTS), (4,))


def events_binary(root: Path) -> Broken:
    (root / EVENTS).write_bytes(b'{"a": 1}\n\xff\xfe\x00garbage\x89\n')
    return Broken(str(EVENTS), (2,))


def events_unreadable(root: Path) -> Broken:
    (root / EVENTS).write_text(GOOD_EVENT + "\n", encoding="utf-8")
    os.chmod(root / EVENTS, 0)
    return Broken(str(EVENTS))


def events_directory(root: Path) -> Broken:
    (root / EVENTS).mkdir()
    return Broken(str(EVENTS))


KIBANA = Path("export.ndjson")


def _kibana_line(root: Path) -> str:
    from detection.kibana_export import ExportSettings, export_paths

    return export_paths([root / SEED], ExportSettings()).ndjson().splitlines()[0]


def kibana_bad_line(root: Path) -> Broken:
    good = _kibana_line(root)
    (root / KIBANA).write_text(good + "\n" + good.replace(SEED_ID, "b" + SEED_ID[1:])[:-7] + "\n",
                               encoding="utf-8")
    return Broken(str(KIBANA), (2,))


def kibana_empty(root: Path) -> Broken:
    (root / KIBANA).write_text("", encoding="utf-8")
    return Broken(str(KIBANA))


def kibana_binary(root: Path) -> Broken:
    (root / KIBANA).write_bytes(b"\x1f\x8b\x08\x00" + bytes(range(200)))
    return Broken(str(KIBANA))


def kibana_unreadable(root: Path) -> Broken:
    (root / KIBANA).write_text(_kibana_line(root) + "\n", encoding="utf-8")
    os.chmod(root / KIBANA, 0)
    return Broken(str(KIBANA))


def kibana_directory(root: Path) -> Broken:
    (root / KIBANA).mkdir()
    return Broken(str(KIBANA))


def missing_path(root: Path) -> Broken:
    return Broken("no/such/file.yaml")


def rule_directory(root: Path) -> Broken:
    (root / "rules" / "aws" / "folder.yaml").mkdir()
    return Broken("rules/aws/folder.yaml")


def _good_events(root: Path) -> None:
    if not (root / EVENTS).exists():
        (root / EVENTS).write_text(GOOD_EVENT + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- command lines per input

Argv = Callable[[Broken], list[str]]


def _rule_argv(command: str) -> Argv | None:
    """How a command is pointed at one rule file (None: the command takes no rule)."""
    return {
        "validate": lambda b: ["validate", b.path],
        "lint": lambda b: ["lint", b.path],
        "test": lambda b: ["test", b.path],
        "export": lambda b: ["export", b.path, "-o", "out.ndjson"],
        "docs": lambda b: ["docs", b.path, "-o", "docs-out"],
        "package": lambda b: ["package", b.path, "-o", "dist-out"],
        "history": lambda b: ["history", b.path],
        "show": lambda b: ["show", b.path],
        "bump": lambda b: ["bump", b.path],
        "check": lambda b: ["check", b.path],
        "match": lambda b: ["match", "--rule", b.path, str(EVENTS)],
        "backtest": lambda b: ["backtest", b.path, str(EVENTS)],
        "fmt": lambda b: ["fmt", b.path],
    }.get(command)


QUERY_COMMANDS = ("lint", "test", "check", "match", "backtest")
# These warn (K120: required_fields cannot be derived) and still write: a broken query is lint's
# finding, and `check` runs lint. The warning must still be located in the query.
WARN_ON_QUERY = ("export", "package")
FIXTURE_COMMANDS = {
    "test": lambda b: ["test", str(SEED_FIXTURE)],
    "check": lambda b: ["check", str(SEED)],
}
EVENTS_COMMANDS = {
    "match": lambda b: ["match", "event.action:AssumeRole", b.path],
    # --no-prefilter: with the byte prefilter on, a line no rule can match is skipped undecoded,
    # so a malformed line is only reported when some rule could match it (or here, always).
    "backtest": lambda b: ["backtest", "--no-prefilter", str(SEED), b.path],
}
IMPORT_COMMANDS = {"import": lambda b: ["import", b.path, "--into", "imported"]}


@dataclass(frozen=True)
class Pair:
    command: str
    scenario: Callable[[Path], Broken]
    argv: Argv
    exits: tuple[int, ...] = (1, 2)
    exact: bool = False  # the located line (and column, when known) must be right

    @property
    def id(self) -> str:
        return f"{self.command}-{self.scenario.__name__}"


def _pairs() -> list[Pair]:
    pairs: list[Pair] = []
    for command in cli.COMMANDS:
        argv = _rule_argv(command)
        if argv is not None:
            pairs.append(Pair(command, rule_yaml_syntax, argv, exact=True))
            for scenario in (rule_empty, rule_binary, rule_unreadable):
                if command == "fmt" and scenario is rule_empty:
                    continue  # fmt leaves a file with no `rule` table alone; validate is the one to report it
                pairs.append(Pair(command, scenario, argv))
            for scenario in (rule_bad_kql, rule_bad_eql, rule_bad_esql):
                if command == "backtest" and scenario is rule_bad_esql:
                    continue  # backtest reports every ES|QL rule as not supported, without parsing it
                if command in QUERY_COMMANDS:
                    pairs.append(Pair(command, scenario, argv, exact=True))
                elif command in WARN_ON_QUERY:
                    pairs.append(Pair(command, scenario, argv, exits=(0, 1, 2), exact=True))
            pairs.append(Pair(command, missing_path, argv, exits=(2,)))
        if command in ONE_RULE:
            pairs.append(Pair(command, rule_directory, argv, exits=(2,)))
        if command in FIXTURE_COMMANDS:
            for scenario in (fixture_yaml_syntax, fixture_events_file_bad_json, fixture_missing_expectation,
                             fixture_events_outside):
                pairs.append(Pair(command, scenario, FIXTURE_COMMANDS[command], exact=True))
        if command in EVENTS_COMMANDS:
            pairs.append(Pair(command, events_bad_line, EVENTS_COMMANDS[command], exits=(2,), exact=True))
            pairs.append(Pair(command, events_binary, EVENTS_COMMANDS[command], exits=(2,), exact=True))
            for scenario in (events_unreadable, events_directory, missing_path):
                pairs.append(Pair(command, scenario, EVENTS_COMMANDS[command], exits=(2,)))
        if command in IMPORT_COMMANDS:
            pairs.append(Pair(command, kibana_bad_line, IMPORT_COMMANDS[command], exits=(2,), exact=True))
            # An empty export holds no rules: a located warning, nothing written, exit 0.
            pairs.append(Pair(command, kibana_empty, IMPORT_COMMANDS[command], exits=(0,)))
            for scenario in (kibana_binary, kibana_unreadable, kibana_directory, missing_path):
                pairs.append(Pair(command, scenario, IMPORT_COMMANDS[command], exits=(2,)))
    return pairs


PAIRS = _pairs()


def _deny_reading(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod 0 does not stop root, so for root make opening this one file fail as it would for
    anyone else: every read in the project goes through io.open (Path.open, read_bytes, open)."""
    import builtins
    import io

    target, real_open = path.resolve(), io.open

    def guarded(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and Path(file).resolve() == target:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(io, "open", guarded)
    monkeypatch.setattr(builtins, "open", guarded)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.id for p in PAIRS])
def test_bad_input_gives_located_error(pair: Pair, seed_repo: Path, monkeypatch, capsys):
    broken = pair.scenario(seed_repo)
    if pair.scenario.__name__.endswith("_unreadable") and os.access(seed_repo / broken.path, os.R_OK):
        _deny_reading(seed_repo / broken.path, monkeypatch)
    _good_events(seed_repo)
    result = run_cli(pair.argv(broken), seed_repo, monkeypatch, capsys)

    for word in CRASH_WORDS:
        assert word not in result.text, result.text
    assert result.code in pair.exits, f"exit {result.code}\n{result.text}"
    found = located(result.text, broken.path)
    assert found, f"no `{broken.path}:line:col: CODE message` in:\n{result.text}"
    if pair.exact:
        lines = broken.lines or ()
        good = [f for f in found if f[0] in lines and (broken.column is None or f[1] == broken.column)]
        assert good, f"expected {broken.path} at line(s) {lines} column {broken.column}, got {found}\n{result.text}"


def test_the_rule_yaml_error_names_the_exact_spot(seed_repo: Path, monkeypatch, capsys):
    broken = rule_yaml_syntax(seed_repo)
    result = run_cli(["validate", broken.path], seed_repo, monkeypatch, capsys)
    assert result.code == 1
    assert located(result.text, broken.path) == [(broken.lines[0], broken.column, "E101")]


def test_a_bad_kql_query_in_a_rule_is_located_at_the_open_parenthesis_end(seed_repo: Path, monkeypatch, capsys):
    broken = rule_bad_kql(seed_repo)
    _good_events(seed_repo)
    result = run_cli(["match", "--rule", broken.path, str(EVENTS)], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    second_line = broken.lines[2]  # the query key, then its two lines
    text = (seed_repo / SEED).read_text(encoding="utf-8").splitlines()[second_line - 1]
    assert (second_line, len(text) + 1) in [f[:2] for f in located(result.text, broken.path)], result.text


def test_a_bad_query_on_the_command_line_is_located_in_the_query(seed_repo: Path, monkeypatch, capsys):
    _good_events(seed_repo)
    result = run_cli(["match", "event.action:(AssumeRole", str(EVENTS)], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    assert re.search(r"^<query>:1:25: [A-Z]+\d+ ", result.err, re.M), result.err
    assert "Traceback" not in result.text


def test_events_bad_line_names_line_and_column(seed_repo: Path, monkeypatch, capsys):
    broken = events_bad_line(seed_repo)
    result = run_cli(["match", "event.action:AssumeRole", broken.path], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    (line, column, code), = located(result.err, broken.path)
    assert (line, code) == (4, "E201")
    assert column == len('{"event": {"action": "AssumeRole"}') + 1


# --------------------------------------------------------------------------- every command: help, usage


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_help_exits_0_with_a_usage_line(command: str, seed_repo: Path, monkeypatch, capsys):
    result = run_cli([command, "--help"], seed_repo, monkeypatch, capsys)
    assert result.code == 0
    assert result.out.startswith(f"usage: detection {command}"), result.out[:200]


@pytest.mark.parametrize("command", cli.COMMANDS)
def test_unknown_option_is_a_usage_error(command: str, seed_repo: Path, monkeypatch, capsys):
    result = run_cli([command, "--no-such-option"], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    # argparse names the unknown option, or first the required argument that is missing
    assert re.search(r"^detection( \w+)?: error: (unrecognized arguments: --no-such-option|the following "
                     r"arguments are required)", result.err, re.M), result.err
    assert "Traceback" not in result.text


def test_top_level_help_lists_every_command(seed_repo: Path, monkeypatch, capsys):
    result = run_cli(["--help"], seed_repo, monkeypatch, capsys)
    assert result.code == 0
    for command in cli.COMMANDS:
        assert re.search(rf"^\s+{command}\b", result.out, re.M), command


def test_no_command_prints_help_and_exits_2(seed_repo: Path, monkeypatch, capsys):
    result = run_cli([], seed_repo, monkeypatch, capsys)
    assert result.code == 2 and "usage: detection" in result.out


# --------------------------------------------------------------------------- the crash guard


def _crashing_run(args) -> int:
    raise RuntimeError("simulated failure in a command")


def test_an_unexpected_exception_is_reported_not_dumped(seed_repo: Path, monkeypatch, capsys):
    import detection.commands.validate as validate

    monkeypatch.setattr(validate, "run", _crashing_run)
    result = run_cli(["validate"], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    assert "detection: internal error: RuntimeError: simulated failure in a command" in result.err
    assert "please report this" in result.err and "Traceback" not in result.text


@pytest.mark.parametrize("how", ["env", "flag"])
def test_debug_keeps_the_traceback(how: str, seed_repo: Path, monkeypatch, capsys):
    import detection.commands.validate as validate

    monkeypatch.setattr(validate, "run", _crashing_run)
    monkeypatch.chdir(seed_repo)
    argv = ["validate"]
    if how == "env":
        monkeypatch.setenv("DETECTION_DEBUG", "1")
    else:
        monkeypatch.delenv("DETECTION_DEBUG", raising=False)
        argv = ["--debug", "validate"]
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback (most recent call last)" in err and "simulated failure in a command" in err


def test_the_console_script_reports_bad_input_without_a_traceback(seed_repo: Path):
    """One real process, as users run it: the exit code and stderr survive the interpreter."""
    import subprocess

    broken = rule_yaml_syntax(seed_repo)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    env.pop("DETECTION_DEBUG", None)
    proc = subprocess.run([sys.executable, "-m", "detection", "validate", broken.path], cwd=seed_repo,
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert f"{broken.path}:{broken.lines[0]}:{broken.column}: E101 " in proc.stdout
    assert "Traceback" not in proc.stdout + proc.stderr


# --------------------------------------------------------------------------- no half-written files


def _stage_bump(root: Path) -> tuple[list[str], Path]:
    """The newest history entry without its hash: bump fills it in, rewriting the rule file
    (outside git, this is a rewrite bump can do without previous versions)."""
    rule = root / SEED
    lines = rule.read_text(encoding="utf-8").splitlines(keepends=True)
    first_hash = next(i for i, line in enumerate(lines) if line.startswith("    hash: sha256:"))
    rule.write_text("".join(lines[:first_hash] + lines[first_hash + 1:]), encoding="utf-8")
    return ["bump", str(SEED), "--date", "2026-12-01"], rule


def _stage_import(root: Path) -> tuple[list[str], Path]:
    """Re-importing the seed rule over its own file (--force): the file would be replaced."""
    (root / KIBANA).write_text(_kibana_line(root) + "\n", encoding="utf-8")
    return ["import", str(KIBANA), "--into", "rules/aws", "--force"], root / SEED


def _stage_docs(root: Path) -> tuple[list[str], Path]:
    old = root / "docs-out" / "index.md"
    old.parent.mkdir()
    old.write_text("stale index\n", encoding="utf-8")
    return ["docs", str(SEED), "-o", "docs-out"], old


def _stage_package(root: Path) -> tuple[list[str], Path]:
    old = root / "dist-out" / "rules.ndjson"
    old.parent.mkdir()
    old.write_text("{}\n", encoding="utf-8")
    return ["package", str(SEED), "-o", "dist-out"], old


def _stage_export(root: Path) -> tuple[list[str], Path]:
    old = root / "out.ndjson"
    old.write_text("previous export\n", encoding="utf-8")
    return ["export", str(SEED), "-o", str(old.name)], old


def _stage_new(root: Path) -> tuple[list[str], Path]:
    return ["new", "--name", "Robustness Probe", "--type", "query", "--severity", "low", "--index", "logs-*",
            "--no-input", "--dir", "aws"], root / "rules" / "aws" / "robustness_probe.yaml"


def _stage_fmt(root: Path) -> tuple[list[str], Path]:
    rule = root / SEED
    text = rule.read_text(encoding="utf-8")
    # severity and risk_score swapped: out of the canonical key order, so fmt rewrites the file
    text = text.replace("  severity: low\n  risk_score: 21\n", "  risk_score: 21\n  severity: low\n", 1)
    rule.write_text(text, encoding="utf-8")
    return ["fmt", str(SEED)], rule


WRITERS = {"bump": _stage_bump, "import": _stage_import, "docs": _stage_docs, "package": _stage_package,
           "export": _stage_export, "new": _stage_new, "fmt": _stage_fmt}
WRITING = [c for c in cli.COMMANDS if c in WRITERS]


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("failure", ["replace", "fsync"])
@pytest.mark.parametrize("command", WRITING)
def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(command: str, failure: str, seed_repo: Path,
                                                                 monkeypatch, capsys):
    argv, target = WRITERS[command](seed_repo)
    before = _snapshot(seed_repo)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, failure, disk_full)
    result = run_cli(argv, seed_repo, monkeypatch, capsys)

    for word in CRASH_WORDS:
        assert word not in result.text, result.text
    assert result.code == 2, f"exit {result.code}\n{result.text}"
    assert "No space left on device" in result.err
    # Nothing changed on disk: the target keeps its bytes (or still does not exist), no temp file.
    assert _snapshot(seed_repo) == before
    assert target.exists() == (str(target.relative_to(seed_repo)) in before)


@pytest.mark.parametrize("command", WRITING)
def test_the_write_scenarios_do_write_without_a_failure(command: str, seed_repo: Path, monkeypatch, capsys):
    """The failure test above means something only if these command lines do write the target."""
    argv, target = WRITERS[command](seed_repo)
    before = target.read_bytes() if target.exists() else None
    result = run_cli(argv, seed_repo, monkeypatch, capsys)
    assert result.code == 0, result.text
    assert target.read_bytes() != before
    assert not [p for p in seed_repo.rglob("*.tmp")]
    if command in ("bump", "fmt"):  # rule rewriters keep every comment the author wrote
        comments = [line.strip() for line in before.decode().splitlines() if line.lstrip().startswith("#")]
        after = target.read_text(encoding="utf-8")
        assert comments and all(c in after for c in comments)


REPORT_OUTPUTS = {
    "test": ["test", str(SEED), "-o", "report-dir"],
    "lint": ["lint", str(SEED), "-o", "report-dir"],
    "check": ["check", str(SEED), "--junit", "report-dir"],
    "export": ["export", str(SEED), "-o", "report-dir"],
    "backtest": ["backtest", str(SEED), str(EVENTS), "--out", "report-dir"],
}


@pytest.mark.parametrize("command", [c for c in cli.COMMANDS if c in REPORT_OUTPUTS])
def test_a_folder_as_the_output_file_is_an_error(command: str, seed_repo: Path, monkeypatch, capsys):
    (seed_repo / "report-dir").mkdir()
    _good_events(seed_repo)
    result = run_cli(REPORT_OUTPUTS[command], seed_repo, monkeypatch, capsys)
    for word in CRASH_WORDS:
        assert word not in result.text, result.text
    assert result.code == 2, result.text
    assert "report-dir" in result.err
    assert (seed_repo / "report-dir").is_dir() and not any((seed_repo / "report-dir").iterdir())


@pytest.mark.skipif("backtest" not in cli.COMMANDS, reason="no backtest command in this build")
def test_backtest_reports_a_bad_line_that_a_rule_could_match(seed_repo: Path, monkeypatch, capsys):
    """With the prefilter on (the default), a line holding a rule's literal is decoded and reported."""
    broken = events_bad_line(seed_repo)
    result = run_cli(["backtest", str(SEED), broken.path], seed_repo, monkeypatch, capsys)
    assert result.code == 2, result.text
    assert (4, "E201") in [(line, code) for line, _, code in located(result.text, broken.path)], result.text


RULES_DIR_ARGV = {
    "validate": [], "lint": [], "test": [], "check": [], "export": [], "docs": ["-o", "docs-out"],
    "package": ["-o", "dist-out"], "bump": [], "history": [SEED_ID], "show": [SEED_ID],
}


@pytest.mark.parametrize("command", [c for c in cli.COMMANDS if c in RULES_DIR_ARGV])
def test_a_missing_rules_dir_is_an_input_error(command: str, seed_repo: Path, monkeypatch, capsys):
    """A mistyped --rules-dir must not pass as a project with no rules."""
    result = run_cli([command, "--rules-dir", "no-such-rules", *RULES_DIR_ARGV[command]], seed_repo,
                     monkeypatch, capsys)
    for word in CRASH_WORDS:
        assert word not in result.text, result.text
    assert result.code == 2, result.text
    assert located(result.text, "no-such-rules") or "no-such-rules" in result.err, result.text
    assert not (seed_repo / "docs-out").exists() and not (seed_repo / "dist-out").exists()


@pytest.mark.parametrize(("settings", "position", "code"), [
    ("[tool.detection\nrules-dir = 'rules'\n", (1, 16), "E101"),
    ("[tool.detection]\nrules-dir = 1\n", (2, 13), "S103"),
    ("[tool.detection]\n[tool.detection.policy]\nrequire-positive = 'yes'\n", (3, 20), "S103"),
], ids=["syntax", "folder-as-number", "string-as-bool"])
@pytest.mark.parametrize("command", [c for c in ("validate", "test", "check") if c in cli.COMMANDS])
def test_bad_project_settings_are_located_in_pyproject(command: str, settings: str, position: tuple[int, int],
                                                       code: str, seed_repo: Path, monkeypatch, capsys):
    (seed_repo / "pyproject.toml").write_text(settings, encoding="utf-8")
    result = run_cli([command], seed_repo, monkeypatch, capsys)
    for word in CRASH_WORDS:
        assert word not in result.text, result.text
    assert result.code == 2, result.text
    shown = str((seed_repo / "pyproject.toml").resolve())
    assert (*position, code) in located(result.text, shown), result.text


JSON_ARGV = {
    "validate": lambda b: ["validate", "--format", "json", b.path],
    "lint": lambda b: ["lint", "--format", "json", b.path],
    "test": lambda b: ["test", "--format", "json", b.path],
    "check": lambda b: ["check", "--format", "json", b.path],
    "backtest": lambda b: ["backtest", "--format", "json", b.path, str(EVENTS)],
}


def _json_positions(value) -> list[tuple[int, int, str]]:
    """Every (line, column, code) found in a JSON report, wherever it nests them."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("line"), int) and isinstance(value.get("code"), str):
            found.append((value["line"], value.get("column"), value["code"]))
        for item in value.values():
            found += _json_positions(item)
    elif isinstance(value, list):
        for item in value:
            found += _json_positions(item)
    return found


@pytest.mark.parametrize("command", [c for c in cli.COMMANDS if c in JSON_ARGV])
def test_json_output_stays_json_and_carries_the_located_error(command: str, seed_repo: Path, monkeypatch, capsys):
    import json

    broken = rule_yaml_syntax(seed_repo)
    _good_events(seed_repo)
    result = run_cli(JSON_ARGV[command](broken), seed_repo, monkeypatch, capsys)
    assert result.code in (1, 2), result.text
    report = json.loads(result.out)
    assert (broken.lines[0], broken.column, "E101") in _json_positions(report), result.out


@pytest.mark.skipif("show" not in cli.COMMANDS, reason="no show command in this build")
def test_show_of_an_unrecorded_version_points_at_the_history(seed_repo: Path, monkeypatch, capsys):
    result = run_cli(["show", str(SEED), "--version", "999"], seed_repo, monkeypatch, capsys)
    assert result.code == 2
    history_line = (seed_repo / SEED).read_text(encoding="utf-8").splitlines().index("history:") + 1
    assert (history_line, 1, "G141") in located(result.err, str(SEED)), result.err
