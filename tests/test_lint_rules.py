"""Lint behaviour beyond one code per rule: the seed's published query, positions in every scalar
style (YAML and TOML), other query languages, project-wide checks, settings and suppressions."""

from __future__ import annotations

from pathlib import Path

import pytest

from detection.attack import FINDING_KINDS
from detection.lint import CHECKS, LintSettings, lint_rules
from detection.lint.attack_checks import KIND_CODES
from detection.lint.positions import locate_in_value
from detection.lint.settings import Selection
from detection.loader import load_rule_file

from .lint_support import BASE_RULE, codes, lint_files, position, replace, write_rule

# The seed rule's query as Elastic published it (versions 2 to 100), in the seed file's layout.
PUBLISHED_SEED = replace(BASE_RULE, "  query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and "
                                    "event.action:AssumeRole\n",
                         "  query: >-\n"
                         "    event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumedRole and\n"
                         "    aws.cloudtrail.user_identity.session_context.session_issuer.type:Role and event.outcome:success\n")


def test_published_seed_query_is_flagged_with_assumerole(tmp_path: Path) -> None:
    findings = lint_files(write_rule(tmp_path, PUBLISHED_SEED)).findings
    assert codes(findings) == ["V102"]
    found = findings[0]
    assert (found.location.line, found.location.column) == position(PUBLISHED_SEED, "AssumedRole")
    assert found.data["suggestion"] == "AssumeRole"
    assert found.hint == "did you mean 'AssumeRole'?"
    assert "AssumedRole" in found.message and found.severity.value == "warning"


def test_fixed_seed_query_is_clean(tmp_path: Path) -> None:
    fixed = PUBLISHED_SEED.replace("event.action:AssumedRole", "event.action:AssumeRole")
    assert lint_files(write_rule(tmp_path, fixed)).findings == []


# ---------------------------------------------------------------------------------------- positions

@pytest.mark.parametrize("source,value,target", [
    # plain single line
    ("query: a:b and c:d\n", "a:b and c:d", "c:d"),
    # double-quoted with escapes before the target
    ('query: "p:\\"C:\\\\x\\" and c:d"\n', 'p:"C:\\x" and c:d', "c:d"),
    # single-quoted with a doubled quote
    ("query: 'it''s and c:d'\n", "it's and c:d", "c:d"),
    # literal block: lines keep their breaks
    ("query: |-\n  a:b and\n    c:d\n", "a:b and\n  c:d", "c:d"),
    # folded block: line breaks become spaces
    ("query: >-\n  a:b and\n  c:d or\n  e:f\n", "a:b and c:d or e:f", "e:f"),
    # TOML multi-line literal string
    ("query = '''\na:b and\n  c:d\n'''\n", "a:b and\n  c:d\n", "c:d"),
    # TOML basic string with escaped backslashes
    ('query = "f:\\"C:\\\\\\\\temp\\" and c:d"\n', 'f:"C:\\\\temp" and c:d', "c:d"),
])
def test_offsets_map_back_to_the_file(source: str, value: str, target: str) -> None:
    start_col = source.index(":") + 3 if source.startswith("query:") else source.index("=") + 3
    line, column = locate_in_value(source, (1, start_col), value, value.index(target))
    assert (line, column) == position(source, target)


def test_offset_inside_an_escaped_word() -> None:
    source = 'query: "f:\\"C:\\\\temp\\""\n'  # the value is f:"C:\temp"
    value = 'f:"C:\\temp"'
    line, column = locate_in_value(source, (1, 8), value, value.index("\\t"))
    assert (line, column) == position(source, "\\\\temp")


def test_toml_rule_positions(tmp_path: Path) -> None:
    text = (
        '[metadata]\ncreation_date = "2024/01/10"\n\n[rule]\nrule_id = "r1"\nname = "TOML rule"\n'
        'description = "d"\ntype = "query"\nrisk_score = 21\nseverity = "low"\nindex = ["logs-aws*"]\n'
        "query = '''\nevent.dataset:aws.cloudtrail and event.provider:iam.amazonaws.com\n"
        "  and event.action:CreatUser and event.outcome:sucess\n'''\n"
    )
    path = write_rule(tmp_path, text, "rule.toml")
    findings = lint_files(path).findings
    got = {(d.code, d.location.line, d.location.column) for d in findings}
    assert got == {("V102", *position(text, "CreatUser")), ("V101", *position(text, "sucess"))}
    assert {d.data.get("suggestion") for d in findings} == {"CreateUser", "success"}


# ---------------------------------------------------------------------------------------- languages

def eql_rule(query_block: str) -> str:
    text = replace(BASE_RULE, "  type: query\n  language: kuery\n", "  type: eql\n  language: eql\n")
    return replace(text, "  query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and "
                         "event.action:AssumeRole\n", query_block)


def test_eql_syntax_error_is_located_in_the_file(tmp_path: Path) -> None:
    text = eql_rule('  query: |-\n    process where process.name == "cmd.exe" and\n      process.args : ("a" "b")\n')
    findings = lint_files(write_rule(tmp_path, text)).findings
    assert codes(findings) == ["Q101"]
    assert findings[0].message.startswith("EQL syntax error")
    assert findings[0].location.line == position(text, "process.args")[0]


EQL_SEQUENCE = (
    "  query: |-\n"
    "    sequence by aws.cloudtrail.user_identiy.arn with maxspan=5m\n"
    '      [any where event.provider == "iam.amazonaws.com" and event.action == "CreatUser"] by user.name\n'
    '      [any where event.provider == "iam.amazonaws.com" and event.action in ("CreateAccessKey", "CreatLoginProfile")\n'
    '         and event.outcome == "Success"] by user.name\n'
)


def test_eql_fields_and_values_are_checked_at_their_position(tmp_path: Path) -> None:
    text = eql_rule(EQL_SEQUENCE)
    findings = lint_files(write_rule(tmp_path, text)).findings
    got = [(d.code, d.location.line, d.location.column, d.data.get("suggestion")) for d in findings]
    assert got == [
        ("Q102", *position(text, "aws.cloudtrail.user_identiy"), "aws.cloudtrail.user_identity.arn"),
        ("V102", *position(text, '"CreatUser"'), "CreateUser"),
        ("V102", *position(text, '"CreatLoginProfile"'), "CreateLoginProfile"),
        ("V101", *position(text, '"Success"'), "success"),
    ]


@pytest.mark.parametrize("condition", [
    'event.outcome : "Success"',  # ':' ignores case
    'event.outcome in~ ("SUCCESS", "failure")',
    '?acme.tenant == "blue"',  # an optional field may be missing by design
    'event.action : "Assume*"',  # a pattern that matches real names
    'event.action : "*"',
    'event.action == "AssumeRole" and event.provider != "iam.amazonaws.com"',  # not a provider the query needs
    'startsWith(event.action, "Assum")',  # function arguments are not compared constants
])
def test_eql_constants_that_can_match_are_clean(tmp_path: Path, condition: str) -> None:
    query = f'  query: |-\n    any where event.provider == "sts.amazonaws.com" and {condition}\n'
    assert [d.format() for d in lint_files(write_rule(tmp_path, eql_rule(query))).findings] == []


@pytest.mark.parametrize("condition,code,needle", [
    ('event.action : "Nothing*"', "V102", '"Nothing*"'),
    ('event.action : "assumerole"', None, None),  # ':' ignores case: fine
    ('event.action == "assumerole"', "V102", '"assumerole"'),  # '==' does not
    ('event.category == "proces"', "V101", '"proces"'),
    ('event.provider == "sts.amazonaws.co"', "V103", '"sts.amazonaws.co"'),
])
def test_eql_constants_that_cannot_match_are_flagged(tmp_path: Path, condition: str, code: str | None,
                                                     needle: str | None) -> None:
    query = f'  query: |-\n    any where event.provider == "sts.amazonaws.com" and {condition}\n'
    text = eql_rule(query)
    findings = lint_files(write_rule(tmp_path, text)).findings
    if code is None:
        assert findings == []
        return
    assert [(d.code, d.location.line, d.location.column) for d in findings] == [(code, *position(text, needle))]


def test_valid_eql_is_not_run_through_kql_checks(tmp_path: Path) -> None:
    text = eql_rule('  query: process where process.name == "cmd.exe"\n')
    assert lint_files(write_rule(tmp_path, text)).findings == []


def test_threat_match_indicator_query_is_parsed_too(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "  type: query\n", "  type: threat_match\n")
    text = replace(text, "  version: 1\n", "  threat_query: threat.indicator.type:(ipv4-addr\n  threat_index: [logs-ti_*]\n"
                                           "  threat_mapping:\n    - entries:\n        - {field: source.ip, type: mapping, "
                                           "value: threat.indicator.ip}\n  version: 1\n")
    findings = lint_files(write_rule(tmp_path, text)).findings
    assert codes(findings) == ["Q101"]
    assert findings[0].location.line == position(text, "threat_query")[0]


# ---------------------------------------------------------------------------------------- fields

def test_custom_field_files_and_opt_out(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "event.action:AssumeRole", "event.action:AssumeRole and acme.tenant:blue")
    path = write_rule(tmp_path / "rules", text)
    assert codes(lint_files(path).findings) == ["Q102"]
    (tmp_path / "pyproject.toml").write_text("[tool.detection]\nrules-dir = \"rules\"\n", encoding="utf-8")
    (tmp_path / "schemas" / "fields").mkdir(parents=True)
    (tmp_path / "schemas" / "fields" / "acme.yml").write_text("fields:\n  acme.tenant: keyword\n", encoding="utf-8")
    assert lint_files(path).findings == []
    opted_out = replace(text, "  maturity: production\n", "  maturity: production\n  query_schema_validation: false\n")
    assert lint_files(write_rule(tmp_path / "other", opted_out)).findings == []


def test_quoted_lone_star_is_a_literal_match_not_a_trap(tmp_path: Path) -> None:
    lone = replace(BASE_RULE, "event.action:AssumeRole", 'event.action:AssumeRole and process.name:"*"')
    assert lint_files(write_rule(tmp_path, lone)).findings == []
    pattern = replace(BASE_RULE, "event.action:AssumeRole", 'event.action:AssumeRole and process.name:"cmd*"')
    assert codes(lint_files(write_rule(tmp_path, pattern)).findings) == ["Q110"]


def test_unknown_field_suggests_the_close_name(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "event.action:AssumeRole", "event.actoin:AssumeRole")
    [found] = lint_files(write_rule(tmp_path, text)).findings
    assert found.code == "Q102" and found.data["suggestion"] == "event.action"


# ---------------------------------------------------------------------------------------- project-wide

def test_duplicate_ids_names_and_tag_spellings_across_rules(tmp_path: Path) -> None:
    first = BASE_RULE
    second = replace(BASE_RULE, '    - "Domain: Cloud"\n', '    - "domain:cloud"\n')
    third = replace(replace(BASE_RULE, "0f6c2a8e", "2f6c2a8e"), "Example STS Rule", "Third Rule")
    paths = [write_rule(tmp_path, t, n) for t, n in ((first, "a.yaml"), (second, "b.yaml"), (third, "c.yaml"))]
    findings = lint_files(*paths).findings
    got = [(Path(d.location.path).name, d.code, d.location.line, d.location.column) for d in findings]
    assert got == [
        ("b.yaml", "U101", *position(second, "0f6c2a8e")),
        ("b.yaml", "U102", *position(second, "Example STS Rule")),
        ("b.yaml", "H111", *position(second, '"domain:cloud"')),
    ]
    assert findings[2].data["suggestion"] == "Domain: Cloud"


# ---------------------------------------------------------------------------------------- settings

def test_settings_change_limits_and_tags(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "  max_signals: 100\n", "  max_signals: 500\n")
    path = write_rule(tmp_path, text)
    assert lint_files(path).findings == []
    strict = LintSettings(max_signals=200, allowed_tags=("Domain: Clouds",))
    found = lint_files(path, settings=strict).findings
    assert [(d.code, d.location.line) for d in found] == [
        ("H105", position(text, "500")[0]), ("H112", position(text, '"Domain: Cloud"')[0])]
    assert found[1].data["suggestion"] == "Domain: Clouds"


def test_suppression_silences_one_code_and_unused_ones_are_reported(tmp_path: Path) -> None:
    text = replace(replace(BASE_RULE, "event.action:AssumeRole", "event.action:*Role"),
                   "  maturity: production\n",
                   "  maturity: production\n  lint:\n    ignore:\n"
                   "      - {code: Q112, reason: few distinct actions}\n"
                   "      - {code: H1, reason: kept for the next change}\n")
    report = lint_files(write_rule(tmp_path, text))
    assert [(d.code, d.location.line) for d in report.findings] == [("L102", position(text, "H1,")[0])]
    assert [(d.code, reason) for d, reason in report.suppressed] == [("Q112", "few distinct actions")]
    # An unused suppression of a code that is not selected is not reported.
    narrow = LintSettings(selection=Selection(select=("Q",)))
    assert lint_files(write_rule(tmp_path, text), settings=narrow).findings == []


def test_a_crashing_check_becomes_a_finding(tmp_path: Path, monkeypatch) -> None:
    import detection.lint.hygiene as hygiene

    def broken(_text: str) -> int:
        raise RuntimeError("boom")

    monkeypatch.setattr(hygiene, "parse_interval", broken)
    findings = lint_files(write_rule(tmp_path, BASE_RULE)).findings
    assert [d.code for d in findings] == ["L105", "L105"]
    assert "RuntimeError: boom" in findings[0].message and "H102" in findings[0].message


def test_lint_rules_accepts_selection_arguments(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "  risk_score: 21\n", "  risk_score: 90\n")
    rule = load_rule_file(write_rule(tmp_path, text))
    assert codes(lint_rules([rule])) == ["H101"]
    assert lint_rules([rule], ignore="H") == []
    assert codes(lint_rules([rule], select=["H101", "Q"])) == ["H101"]


def test_every_attack_finding_kind_has_a_code() -> None:
    assert set(KIND_CODES) == set(FINDING_KINDS) - {"malformed"}
    assert set(KIND_CODES.values()) == {c for c in CHECKS if c.startswith("A")}


def test_bad_settings_are_findings_for_library_callers(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.detection]\n\n[tool.detection.lint]\nmax-signal = 10\n',
                                             encoding="utf-8")
    from detection.config import load_config

    rule = load_rule_file(write_rule(tmp_path / "rules", BASE_RULE))
    found = lint_rules([rule], load_config(tmp_path))
    assert [(d.code, d.location.line, d.location.column) for d in found] == [("L103", 4, 1)]
    assert "max-signal" in found[0].message


def test_a_field_repeated_in_a_value_list_is_one_finding(tmp_path: Path) -> None:
    text = replace(BASE_RULE, "  query: event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and "
                              "event.action:AssumeRole\n",
                   "  query: event.dataset:aws.cloudtrail and unknown.field:(a or b)\n")
    findings = lint_files(write_rule(tmp_path, text)).findings
    assert codes(findings) == ["Q102"]
    assert (findings[0].location.line, findings[0].location.column) == position(text, "unknown.field")


def test_rule_filters_cannot_be_tested(tmp_path: Path) -> None:
    text = BASE_RULE.replace("  severity:", "  filters:\n    - query: {match_phrase: {event.outcome: success}}\n  severity:", 1)
    assert text != BASE_RULE
    findings = lint_files(write_rule(tmp_path, text)).findings
    assert codes(findings) == ["Q114"]
    assert findings[0].location.line == position(text, "filters:")[0]
    assert "`filters`" in findings[0].message
