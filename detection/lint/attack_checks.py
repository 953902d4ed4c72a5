"""A1xx: the rule's ``threat`` mapping against the pinned MITRE ATT&CK release.

``detection.attack.check_threat`` does the work and tags each finding with a stable ``kind``;
this module gives every kind a lint code and turns the finding's path into a file position. Shape
problems (the ``malformed`` kind) are left to the rule schema, which reports them while loading.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import MappingProxyType

from detection.diagnostics import Diagnostic
from detection.lint.context import RuleContext
from detection.lint.registry import Check, check

_ENTRY = """
threat:
  - framework: MITRE ATT&CK
    tactic: {{id: TA0004, name: {tactic}, reference: "https://attack.mitre.org/tactics/TA0004/"}}
    technique:
      - {{id: {tech}, name: {name}, reference: "https://attack.mitre.org/techniques/{tech}/"}}
"""


def _example(tactic: str = "Privilege Escalation", tech: str = "T1548",
             name: str = "Abuse Elevation Control Mechanism") -> str:
    return _ENTRY.format(tactic=tactic, tech=tech, name=name)


GOOD = _example()
_SUB_UNDER_T1548 = """\
      - id: T1548
        name: Abuse Elevation Control Mechanism
        reference: https://attack.mitre.org/techniques/T1548/
        subtechnique:
          - {id: T1078.004, name: Cloud Accounts, reference: "https://attack.mitre.org/techniques/T1078/004/"}"""


# detection.attack finding kind -> lint code. "malformed" is missing on purpose: the rule schema
# reports shape problems while loading, before lint runs.
KIND_CODES: Mapping[str, str] = MappingProxyType({
    "unknown-framework": "A101",
    "unknown-tactic": "A102",
    "tactic-name": "A103",
    "tactic-reference": "A104",
    "duplicate-tactic": "A105",
    "unknown-technique": "A106",
    "technique-name": "A107",
    "technique-reference": "A108",
    "technique-tactic-mismatch": "A109",
    "duplicate-technique": "A110",
    "misplaced-subtechnique": "A111",
    "not-a-subtechnique": "A111",
    "subtechnique-parent-mismatch": "A112",
    "revoked": "A113",
    "deprecated": "A114",
})


def _hint(kind: str, suggestion: str | None) -> str | None:
    if not suggestion:
        return None
    if kind in ("tactic-name", "technique-name", "unknown-framework"):
        return f"use '{suggestion}'"
    if kind in ("tactic-reference", "technique-reference"):
        return f"use {suggestion}"
    return suggestion


def _for_kinds(code: str, *kinds: str):
    def run(ctx: RuleContext) -> Iterator[Diagnostic]:
        for finding in ctx.threat_findings:
            if finding.kind in kinds:
                data = {"kind": finding.kind}
                if finding.suggestion:
                    data["suggestion"] = finding.suggestion
                yield Diagnostic(ctx.at(("rule",) + tuple(finding.path)), code, finding.message,
                                 hint=_hint(finding.kind, finding.suggestion), data=data)
    return run


def _attack_check(code: str, name: str, summary: str, explanation: str, bad: str, good: str = GOOD) -> Check:
    kinds = tuple(kind for kind, mapped in KIND_CODES.items() if mapped == code)
    return check(code, name, summary, explanation=explanation, bad=bad, good=good)(_for_kinds(code, *kinds))


CHECKS = (
    _attack_check("A101", "unknown-framework", "the framework is not MITRE ATT&CK", """
                  Kibana and the ATT&CK coverage views only understand `MITRE ATT&CK` (entries for
                  `MITRE ATLAS` are left alone). Any other spelling hides the mapping.
                  """, _ENTRY.replace("MITRE ATT&CK", "Mitre Attack").format(
                      tactic="Privilege Escalation", tech="T1548", name="Abuse Elevation Control Mechanism")),
    _attack_check("A102", "unknown-tactic", "the tactic id does not exist", """
                  The tactic id is not in the pinned ATT&CK release. Tactic ids look like `TA0004`.
                  """, _example().replace("id: TA0004", "id: TA0044")),
    _attack_check("A103", "tactic-name", "the tactic name differs from ATT&CK", """
                  Names must match the pinned release exactly: in ATT&CK v19 TA0005 is "Stealth", no
                  longer "Defense Evasion".
                  """, _example(tactic="Privilege-Escalation")),
    _attack_check("A104", "tactic-reference", "the tactic reference URL is wrong", """
                  The reference must be the tactic's page, `https://attack.mitre.org/tactics/<id>/`.
                  """, _example().replace("tactics/TA0004/", "tactics/TA0005/")),
    _attack_check("A105", "duplicate-tactic", "the same tactic is mapped twice", """
                  Put all techniques of one tactic in one threat entry; Kibana shows duplicates twice.
                  """, GOOD + GOOD.split("\n", 2)[2]),
    _attack_check("A106", "unknown-technique", "the technique or sub-technique id does not exist", """
                  The id is not in the pinned ATT&CK release (a typo, or an id from another matrix).
                  """, _example(tech="T1549")),
    _attack_check("A107", "technique-name", "the technique name differs from ATT&CK", """
                  Names must match the pinned release exactly, including capitalisation.
                  """, _example(name="Abuse Elevation Control Mechanisms")),
    _attack_check("A108", "technique-reference", "the technique reference URL is wrong", """
                  The reference must be the technique's page: `https://attack.mitre.org/techniques/T1078/`,
                  or `.../techniques/T1078/004/` for a sub-technique.
                  """, _example().replace("techniques/T1548/", "techniques/T1078/")),
    _attack_check("A109", "technique-not-in-tactic", "the technique does not belong to the tactic", """
                  Each technique belongs to one or more tactics (its kill-chain phases). Listing it
                  under another tactic gives a wrong coverage picture. The hint names its tactics.
                  """, _example(tech="T1110", name="Brute Force")),
    _attack_check("A110", "duplicate-technique", "the same technique is listed twice under one tactic", """
                  List each technique or sub-technique once per tactic.
                  """, _example() + "      - {id: T1548, name: Abuse Elevation Control Mechanism, "
                                    "reference: \"https://attack.mitre.org/techniques/T1548/\"}\n"),
    _attack_check("A111", "misplaced-subtechnique", "a sub-technique is listed as a technique, or the reverse", """
                  Sub-techniques (`T1548.005`) go in the `subtechnique` list of their parent technique
                  (`T1548`); techniques do not go in a `subtechnique` list.
                  """, _example(tech="T1548.005", name="Temporary Elevated Cloud Access").replace(
                      "techniques/T1548.005/", "techniques/T1548/005/")),
    _attack_check("A112", "subtechnique-parent", "a sub-technique sits under a technique that is not its parent", """
                  `T1078.004` must be listed under `T1078`, not under another technique.
                  """, _example().replace("      - {id: T1548, name: Abuse Elevation Control Mechanism, "
                                      "reference: \"https://attack.mitre.org/techniques/T1548/\"}",
                                      _SUB_UNDER_T1548)),
    _attack_check("A113", "revoked-technique", "the technique was revoked; use its replacement", """
                  MITRE revokes techniques that were merged or moved. A revoked id no longer appears in
                  ATT&CK views; the hint names the replacement (for example T1562.008 -> T1685.002 in v19.1).
                  """, _example(tech="T1562", name="Impair Defenses")),
    _attack_check("A114", "deprecated-technique", "the technique is deprecated", """
                  Deprecated techniques have no replacement; remove them or map the behaviour to a
                  current technique.
                  """, _example(tech="T1064", name="Scripting").replace("TA0004", "TA0002").replace(
                      "Privilege Escalation", "Execution")),
)
