"""`detection lint` on 1,000 generated rules, against loading the same rules in the same run.

The rules are CloudTrail rules in YAML with varied queries (value lists, wildcards, negations,
ranges), tags and ATT&CK mappings, a few of them with mistakes so that findings are formatted too.
Figures: best-of-N seconds for ``load_rules`` (the reference: read, parse, schema-validate) and for
``lint_rules`` on the loaded rules, ms per rule, and the ratio lint / load.

Measured on the 2-core development machine: load 0.69-0.86 s, lint 0.33-0.36 s for 1,000 rules
(about 0.35 ms per rule, lint / load = 0.42-0.48); the whole benchmark, generation included, 7 s.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

N_RULES = 1000
REPEATS = 3

_ACTIONS = {
    "sts.amazonaws.com": ["AssumeRole", "GetSessionToken", "AssumeRoleWithSAML", "GetFederationToken"],
    "iam.amazonaws.com": ["CreateUser", "AttachUserPolicy", "CreateAccessKey", "PutRolePolicy", "DeleteUser"],
    "s3.amazonaws.com": ["PutBucketPolicy", "DeleteBucket", "PutBucketAcl", "GetObject"],
    "ec2.amazonaws.com": ["RunInstances", "AuthorizeSecurityGroupIngress", "CreateSnapshot"],
    "cloudtrail.amazonaws.com": ["StopLogging", "DeleteTrail", "UpdateTrail"],
}
_TACTICS = [("TA0004", "Privilege Escalation", "T1548", "Abuse Elevation Control Mechanism"),
            ("TA0003", "Persistence", "T1098", "Account Manipulation"),
            ("TA0001", "Initial Access", "T1078", "Valid Accounts"),
            ("TA0006", "Credential Access", "T1552", "Unsecured Credentials")]
_SEVERITY = [("low", 21), ("medium", 47), ("high", 73), ("critical", 99)]


def _query(rng: random.Random, i: int) -> str:
    provider = rng.choice(list(_ACTIONS))
    actions = rng.sample(_ACTIONS[provider], k=min(len(_ACTIONS[provider]), rng.randint(1, 3)))
    action = actions[0] if len(actions) == 1 else "(" + " or ".join(actions) + ")"
    if i % 97 == 0:
        action = actions[0] + "d"  # an event name that does not exist: a V102 finding
    parts = [f"event.dataset:aws.cloudtrail and event.provider:{provider} and event.action:{action}"]
    extra = rng.random()
    if extra < 0.3:
        parts.append("event.outcome:success")
    elif extra < 0.5:
        parts.append("not aws.cloudtrail.user_identity.type:AssumedRole")
    elif extra < 0.65:
        parts.append("aws.cloudtrail.user_identity.arn:*admin*")
    elif extra < 0.8:
        parts.append("source.ip:10.0.0.0/8 and not user_agent.original:aws-internal*")
    return " and\n    ".join(parts)


def make_rule(rng: random.Random, i: int) -> str:
    from synthetic import rule_yaml

    severity, score = rng.choice(_SEVERITY)
    tactic_id, tactic, tech_id, tech = rng.choice(_TACTICS)
    interval = rng.choice([5, 10, 60])
    # What lint reads beyond the shared template: references, tags and an ATT&CK mapping.
    extra = f"""\
  references: [https://docs.aws.amazon.com/awscloudtrail/latest/userguide/]
  tags: ["Domain: Cloud", "Data Source: AWS", "Tactic: {tactic}"]
  threat:
    - framework: MITRE ATT&CK
      tactic: {{id: {tactic_id}, name: {tactic}, reference: "https://attack.mitre.org/tactics/{tactic_id}/"}}
      technique:
        - {{id: {tech_id}, name: {tech}, reference: "https://attack.mitre.org/techniques/{tech_id}/"}}
"""
    history = f"history:\n  - {{version: 1, date: 2024/01/{1 + i % 28:02d}, kind: created, summary: Created.}}\n"
    return rule_yaml(i, _query(rng, i), description="Generated for the lint benchmark.", updated_month=2,
                     severity=severity, risk_score=score, interval_minutes=interval, extra=extra, history=history)


def _best(fn, repeats: int = REPEATS) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def main() -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parent))  # for synthetic.py, under run.py too
    from detection.config import load_config
    from detection.lint import lint_rules
    from detection.loader import load_rules

    rng = random.Random(20240614)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "pyproject.toml").write_text('[tool.detection]\nrules-dir = "rules"\n', encoding="utf-8")
        folder = root / "rules"
        folder.mkdir()
        for i in range(N_RULES):
            (folder / f"rule_{i:04d}.yaml").write_text(make_rule(rng, i), encoding="utf-8")
        config = load_config(root)

        # Warm the shared data (ECS, ATT&CK, AWS tables) once, as any second run would have it.
        first = load_rules([folder])
        lint_rules(first.rules[:5], config)

        load_s, loaded = _best(lambda: load_rules([folder]))
        assert not loaded.diagnostics, loaded.diagnostics[:3]
        lint_s, findings = _best(lambda: lint_rules(loaded.rules, config))

    figures = {
        "rules": N_RULES,
        "load_s": round(load_s, 3),
        "lint_s": round(lint_s, 3),
        "lint_ms_per_rule": round(1000 * lint_s / N_RULES, 3),
        "load_ms_per_rule": round(1000 * load_s / N_RULES, 3),
        "total_s": round(load_s + lint_s, 3),
        "lint_to_load_ratio": round(lint_s / load_s, 2),
        "findings": len(findings),
    }
    print(f"   {N_RULES} rules: load {load_s:.2f} s ({figures['load_ms_per_rule']} ms/rule), "
          f"lint {lint_s:.2f} s ({figures['lint_ms_per_rule']} ms/rule)")
    print(f"   lint / load = {figures['lint_to_load_ratio']}; load + lint = {figures['total_s']} s; "
          f"{len(findings)} findings")
    return figures


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    main()
