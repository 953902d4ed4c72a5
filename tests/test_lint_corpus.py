"""A corpus of broken rules: each is the clean base rule with one mistake, and the test asserts the
exact code and the file position of the offending text (found by plain string search here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .lint_support import BASE_RULE, lint_files, position, replace, write_rule

BASE_QUERY = "event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.com and event.action:AssumeRole"


EQL = ("  type: query\n  language: kuery\n", "  type: eql\n  language: eql\n")
LUCENE = ("  language: kuery\n", "  language: lucene\n")
# ES|QL rules name their indices in FROM, not in index.
ESQL = ("  type: query\n  language: kuery\n  index:\n    - logs-aws*\n", "  type: esql\n  language: esql\n")
LUCENE_QUERY = "event.dataset:aws.cloudtrail AND event.provider:sts.amazonaws.com AND event.action:AssumeRole"
ESQL_FROM = "|-\n    from logs-aws* metadata _id, _index\n    | where event.dataset == \"aws.cloudtrail\""


def q(new_query: str) -> tuple[str, str]:
    """A mutation replacing the base rule's query line."""
    return (f"  query: {BASE_QUERY}\n", f"  query: {new_query}\n")


# (id, [(old, new) replacements], expected code, needle whose first character is the position, occurrence)
CORPUS = [
    # -- query syntax and fields
    ("syntax-paren", [q("event.dataset:aws.cloudtrail and event.action:Assume)Role")], "Q101", ")Role", 1),
    ("syntax-folded-third-line", [q(">-\n    event.dataset:aws.cloudtrail and\n    event.provider:sts.amazonaws.com\n"
                                     "    and event.action:Assume)Role and event.outcome:success")], "Q101", ")Role", 1),
    ("syntax-end-of-input", [q("event.dataset:aws.cloudtrail and event.action:(AssumeRole or GetSessionToken")],
     "Q101", "\n  severity", 1),
    ("syntax-windows-path", [q("process.executable:C:\\Windows and event.dataset:aws.cloudtrail")],
     "Q101", ":\\Windows", 1),
    ("unknown-field", [q("event.dataset:aws.cloudtrail and event.actoin:AssumeRole")], "Q102", "event.actoin", 1),
    ("unknown-field-literal-block", [q("|-\n    event.dataset:aws.cloudtrail\n      and aws.cloudtrail.user_identiy.type:Root")],
     "Q102", "aws.cloudtrail.user_identiy", 1),
    ("unknown-new-terms-field", [("  type: query\n", "  type: new_terms\n"),
                                 ("  version: 1\n", "  new_terms_fields: [user.nmae]\n  history_window_start: now-14d\n"
                                                    "  version: 1\n")], "Q102", "user.nmae", 1),
    ("word-on-number-field", [q("event.dataset:aws.cloudtrail and source.port:ssh")], "Q103", "ssh", 1),
    ("word-on-ip-field", [q("event.dataset:aws.cloudtrail and source.ip:localhost")], "Q103", "localhost", 1),
    ("wildcard-on-ip-field", [q("event.dataset:aws.cloudtrail and source.ip:10.0.*")], "Q104", "10.0.*", 1),
    ("cidr-on-keyword-field", [q("event.dataset:aws.cloudtrail and source.address:10.0.0.0/8")], "Q105",
     "10.0.0.0/8", 1),
    # -- KQL traps
    ("value-list-without-parens", [q("event.dataset:aws.cloudtrail and (event.action:AssumeRole or GetSessionToken)")],
     "Q106", "GetSessionToken", 1),
    ("free-text", [q("event.dataset:aws.cloudtrail and AssumeRole")], "Q107", "AssumeRole", 1),
    ("escaped-not", [q("event.dataset:aws.cloudtrail and process.title:do \\not disturb")], "Q108", "\\not", 1),
    ("tab-in-windows-path", [q("|-\n    event.dataset:aws.cloudtrail and file.path:\"C:\\temp\\x.txt\"")], "Q109",
     "\\temp", 1),
    ("question-mark", [q("event.dataset:aws.cloudtrail and process.name:power?hell.exe")], "Q110", "?hell", 1),
    ("lucene-range", [q("event.dataset:aws.cloudtrail and event.code:[4624 TO 4625]")], "Q111", "[4624", 1),
    ("leading-wildcard", [q("event.dataset:aws.cloudtrail and event.action:*Role")], "Q112", "*Role", 1),
    ("keyword-range", [q("event.dataset:aws.cloudtrail and event.code > 4000")], "Q113", "event.code >", 1),
    # -- values
    ("ecs-outcome-case", [q(f"{BASE_QUERY} and event.outcome:Success")], "V101", "Success", 1),
    ("aws-action-typo", [q("event.dataset:aws.cloudtrail and event.provider:iam.amazonaws.com and "
                           "event.action:CreatUser")], "V102", "CreatUser", 1),
    ("aws-provider-typo", [q("event.dataset:aws.cloudtrail and event.provider:sts.amazonaws.co and "
                             "event.action:AssumeRole")], "V103", "sts.amazonaws.co ", 1),
    # -- EQL fields and values
    ("eql-unknown-field", [EQL, q('any where event.dataset == "aws.cloudtrail" and event.actoin == "AssumeRole"')],
     "Q102", "event.actoin", 1),
    ("eql-aws-action", [EQL, q('any where event.provider == "sts.amazonaws.com" and event.action == "AssumedRole"')],
     "V102", '"AssumedRole"', 1),
    # -- Lucene fields and values (positions inside the query, also on later lines of a block)
    ("lucene-unknown-field", [LUCENE, q("event.dataset:aws.cloudtrail AND event.actoin:AssumeRole")], "Q102",
     "event.actoin", 1),
    ("lucene-unknown-field-of-group", [LUCENE, q(">-\n    event.dataset:aws.cloudtrail AND\n"
                                                 "    evnt.action:(AssumeRole OR GetSessionToken)")], "Q102",
     "evnt.action", 1),
    ("lucene-unknown-field-under-not", [LUCENE, q(f"{LUCENE_QUERY} AND NOT event.outcom:failure")], "Q102",
     "event.outcom", 1),
    ("lucene-word-on-number-field", [LUCENE, q(f"{LUCENE_QUERY} AND source.port:ssh")], "Q103", "ssh", 1),
    ("lucene-wildcard-on-ip-field", [LUCENE, q(f"{LUCENE_QUERY} AND source.ip:10.0.*")], "Q104", "10.0.*", 1),
    ("lucene-ecs-outcome-case", [LUCENE, q(f"|-\n    {LUCENE_QUERY}\n      AND event.outcome:Success")], "V101",
     "Success", 1),
    ("lucene-ecs-regex", [LUCENE, q(f"{LUCENE_QUERY} AND event.outcome:/succes/")], "V101", "/succes/", 1),
    ("lucene-aws-action", [LUCENE, q("event.dataset:aws.cloudtrail AND event.provider:sts.amazonaws.com AND "
                                     "event.action:(AssumedRole OR GetSessionToken)")], "V102", "AssumedRole", 1),
    ("lucene-aws-action-regex", [LUCENE, q("event.dataset:aws.cloudtrail AND event.provider:sts.amazonaws.com AND "
                                           "event.action:/Asume(Role|RoleWithSAML)/")], "V102", "/Asume", 1),
    ("lucene-aws-provider", [LUCENE, q("event.dataset:aws.cloudtrail AND event.provider:sts.amazonaws.co AND "
                                       "event.action:AssumeRole")], "V103", "sts.amazonaws.co ", 1),
    # -- ES|QL fields and values
    ("esql-unknown-field", [ESQL, q(f"{ESQL_FROM} and event.actoin == \"AssumeRole\"")], "Q102", "event.actoin", 1),
    ("esql-unknown-field-backticks", [ESQL, q(f"{ESQL_FROM}\n    | where `event.actoin` == \"AssumeRole\"")], "Q102",
     "`event.actoin`", 1),
    ("esql-unknown-field-in-keep", [ESQL, q(f"{ESQL_FROM}\n    | keep @timestamp, user.nmae, _id")], "Q102",
     "user.nmae", 1),
    ("esql-unknown-field-in-stats", [ESQL, q(f"{ESQL_FROM}\n    | stats n = count(*) by cloud.acount.id")], "Q102",
     "cloud.acount.id", 1),
    ("esql-ecs-outcome-case", [ESQL, q(f"{ESQL_FROM}\n        and event.outcome == \"Success\"")], "V101",
     '"Success"', 1),
    ("esql-ecs-like", [ESQL, q(f"{ESQL_FROM} and event.type like \"chnge*\"")], "V101", '"chnge*"', 1),
    ("esql-aws-action-in", [ESQL, q(f"{ESQL_FROM}\n    | where event.provider == \"sts.amazonaws.com\"\n"
                                    "        and event.action in (\"GetSessionToken\", \"AssumedRole\")")], "V102",
     '"AssumedRole"', 1),
    ("esql-aws-action-negated-provider-first", [ESQL, q(f"{ESQL_FROM} and \"sts.amazonaws.com\" == event.provider "
                                                        "and not event.action != \"AssumedRole\"")], "V102",
     '"AssumedRole"', 1),
    ("esql-aws-provider", [ESQL, q(f"{ESQL_FROM} and event.provider == \"sts.amazonaws.co\"")], "V103",
     '"sts.amazonaws.co"', 1),
    # -- ATT&CK
    ("attack-framework", [("- framework: MITRE ATT&CK", "- framework: Mitre Attack")], "A101", "Mitre Attack", 1),
    ("attack-unknown-tactic", [("id: TA0004", "id: TA0044")], "A102", "TA0044", 1),
    ("attack-tactic-v18-name", [("id: TA0004", "id: TA0005"), ("name: Privilege Escalation", "name: Defense Evasion"),
                                ("tactics/TA0004/", "tactics/TA0005/"), ("id: T1548", "id: T1078"),
                                ("name: Abuse Elevation Control Mechanism", "name: Valid Accounts"),
                                ("techniques/T1548/", "techniques/T1078/")], "A103", "Defense Evasion", 1),
    ("attack-tactic-reference", [("tactics/TA0004/", "tactics/TA0008/")], "A104", "https://attack.mitre.org/tactics", 1),
    ("attack-unknown-technique", [("id: T1548", "id: T1549")], "A106", "T1549", 1),
    ("attack-technique-name", [("name: Abuse Elevation Control Mechanism", "name: Abuse Elevation Control")],
     "A107", "Abuse Elevation Control", 1),
    ("attack-technique-reference", [("techniques/T1548/", "techniques/T1548/001/")], "A108",
     "https://attack.mitre.org/techniques", 1),
    ("attack-technique-not-in-tactic", [("id: T1548", "id: T1110"), ("name: Abuse Elevation Control Mechanism",
                                                                      "name: Brute Force"),
                                        ("techniques/T1548/", "techniques/T1110/")], "A109", "T1110", 1),
    ("attack-revoked", [("id: T1548", "id: T1562"), ("name: Abuse Elevation Control Mechanism", "name: Impair Defenses"),
                        ("techniques/T1548/", "techniques/T1562/")], "A113", "T1562", 1),
    # -- hygiene
    ("severity-risk", [("  risk_score: 21\n", "  risk_score: 73\n")], "H101", "73", 1),
    ("look-back-gap", [("  interval: 5m\n", "  interval: 10m\n")], "H102", "now-6m", 1),
    ("look-back-no-margin", [("  from: now-6m\n", "  from: now-5m\n")], "H103", "now-5m", 1),
    ("invalid-date-math", [("  max_signals: 100\n", "  max_signals: 100\n  to: now-1min\n")], "H104", "now-1min", 1),
    ("max-signals", [("  max_signals: 100\n", "  max_signals: 5000\n")], "H105", "5000", 1),
    ("updated-before-created", [("  updated_date: 2024/01/10\n", "  updated_date: 2023/12/24\n")], "H106",
     "2023/12/24", 1),
    ("impossible-date", [("  updated_date: 2024/01/10\n", "  updated_date: 2024/02/30\n")], "H107", "2024/02/30", 1),
    ("history-after-update", [("    date: 2024/01/10\n", "    date: 2024/03/01\n")], "H108", "2024/03/01", 1),
    ("reference-not-url", [("    - https://docs.aws.amazon.com/STS/", "    - docs.aws.amazon.com/STS/")], "H109",
     "docs.aws.amazon.com/STS", 1),
    ("duplicate-tag", [('    - "Domain: Cloud"\n', '    - "Domain: Cloud"\n    - "Domain: Cloud"\n')], "H110",
     '"Domain: Cloud"', 2),
    ("deprecated-without-reason", [("  maturity: production\n", "  maturity: deprecated\n")], "H113", "deprecated", 1),
    ("index-and-data-view", [("  max_signals: 100\n", "  max_signals: 100\n  data_view_id: security-default\n")],
     "H114", "data_view_id", 1),
    # -- suppressions
    ("unknown-suppression", [("  maturity: production\n", "  maturity: production\n  lint:\n    ignore:\n"
                                                          "      - {code: Q912, reason: misspelt code}\n")],
     "L101", "Q912", 1),
]


@pytest.mark.parametrize("case_id,mutations,code,needle,occurrence", CORPUS, ids=[c[0] for c in CORPUS])
def test_broken_rule_is_reported_at_the_offending_text(tmp_path: Path, case_id: str, mutations, code: str,
                                                       needle: str, occurrence: int) -> None:
    text = BASE_RULE
    for old, new in mutations:
        text = replace(text, old, new)
    path = write_rule(tmp_path, text)
    findings = lint_files(path).findings
    matching = [d for d in findings if d.code == code]
    assert matching, f"{case_id}: expected {code}, got {[d.format() for d in findings]}"
    line, column = position(text, needle, occurrence)
    assert (matching[0].location.line, matching[0].location.column) == (line, column), matching[0].format()
    assert matching[0].location.path.endswith("rule.yaml")


# Lucene and ES|QL rules that are right: nothing may be reported (false-positive guards).
CLEAN = [
    ("lucene-base", [LUCENE, q(LUCENE_QUERY)]),
    ("lucene-group-regex-wildcard-range", [LUCENE, q(
        "event.dataset:aws.cloudtrail AND event.provider:(sts.amazonaws.com OR iam.amazonaws.com) AND "
        "event.action:/Assume(Role|RoleWithSAML)/ AND NOT event.outcome:failure AND event.type:chan?e AND "
        "source.port:[1024 TO *] AND _exists_:user.name")]),
    ("esql-base", [ESQL, q(f"{ESQL_FROM} and event.provider == \"sts.amazonaws.com\" and event.action == \"AssumeRole\"")]),
    ("esql-eval-column", [ESQL, q(f"{ESQL_FROM}\n    | eval action_lc = to_lower(event.action), one = 1\n"
                                  "    | where action_lc == \"assumerole\" and one == 1")]),
    ("esql-eval-redefines-field", [ESQL, q(f"{ESQL_FROM} and event.provider == \"sts.amazonaws.com\"\n"
                                           "    | eval event.action = concat(event.provider, \"/\", event.action)\n"
                                           "    | where event.action == \"sts.amazonaws.com/AssumeRole\"")]),
    ("esql-rename", [ESQL, q(f"{ESQL_FROM}\n    | rename event.outcome as outcome, event.action as api\n"
                             "    | where outcome == \"success\" and api == \"AssumeRole\"\n    | keep api, outcome")]),
    ("esql-metadata", [ESQL, q(f"{ESQL_FROM}\n    | where _index like \".ds-logs-aws*\"\n"
                               "    | keep @timestamp, event.action, _id, _index")]),
    ("esql-stats-outputs", [ESQL, q(f"{ESQL_FROM}\n    | stats attempts = count(*), users = count_distinct(user.name)"
                                    " by source.ip\n    | where attempts > 5\n    | sort users desc\n"
                                    "    | keep source.ip, attempts, users"),
                            ("  version: 1\n", "  alert_suppression:\n    group_by: [users]\n  version: 1\n")]),
]


@pytest.mark.parametrize("case_id,mutations", CLEAN, ids=[c[0] for c in CLEAN])
def test_right_lucene_and_esql_rules_are_clean(tmp_path: Path, case_id: str, mutations) -> None:
    text = BASE_RULE
    for old, new in mutations:
        text = replace(text, old, new)
    findings = lint_files(write_rule(tmp_path, text)).findings
    assert [d.format() for d in findings] == [], case_id


def test_corpus_is_big_and_distinct() -> None:
    assert len(CORPUS) >= 25
    assert len({c[0] for c in CORPUS}) == len(CORPUS)
    assert len({tuple(c[1]) for c in CORPUS}) == len(CORPUS)


def test_base_rule_is_clean(tmp_path: Path) -> None:
    assert lint_files(write_rule(tmp_path, BASE_RULE)).findings == []
