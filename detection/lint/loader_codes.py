"""E1xx and S1xx: codes the loader reports (``detection validate`` and ``detection lint`` alike).

They are listed here so the codes page is complete; a rule with one of these problems is not
linted further, and they are always reported (``--ignore`` does not hide them), because a rule
that does not load cannot be checked at all.
"""

from __future__ import annotations

from detection.lint.registry import documented

CHECKS = (
    documented("E101", "syntax-error", "the file is not valid YAML or TOML",
               explanation="The position is where the parser gave up; the message says what it expected.",
               bad="""
               rule:
                 name: AWS STS AssumeRole Usage
                  severity: low
               """,
               good="""
               rule:
                 name: AWS STS AssumeRole Usage
                 severity: low
               """),
    documented("E102", "unsafe-yaml", "anchors, aliases or custom tags in a YAML rule",
               explanation="""
               Rule files are data. Aliases (the "billion laughs" attack), language tags such as
               `!!python/object` and very deep nesting are refused.
               """,
               bad="""
               tags: &common [Cloud]
               """,
               good="""
               tags: [Cloud]
               """),
    documented("E103", "unreadable-file", "the file cannot be read or is not UTF-8",
               explanation="The file or folder is missing, unreadable, or not UTF-8 text. `detection lint` exits 2.",
               bad="(a rule file saved as UTF-16)", good="(the same file saved as UTF-8)"),
    documented("E104", "duplicate-key", "a key appears twice in one table",
               explanation="YAML parsers silently keep the last value; the rule would not say what it seems to.",
               bad="""
               severity: low
               severity: high
               """,
               good="""
               severity: high
               """),
    documented("S101", "missing-field", "a required field is missing",
               explanation="Kibana requires the field for this rule type (the message names the type).",
               bad="""
               rule:
                 name: AWS STS AssumeRole Usage
               """,
               good="""
               rule:
                 name: AWS STS AssumeRole Usage
                 description: Identifies the use of AssumeRole.
               """),
    documented("S102", "unknown-schema-field", "a field the rule schema does not know",
               explanation="Kibana ignores unknown fields; usually a misspelling. The hint suggests the closest name.",
               bad="""
               risk_scor: 21
               """,
               good="""
               risk_score: 21
               """),
    documented("S103", "wrong-type", "a field has the wrong type",
               explanation="A list where a string is expected, a quoted number where an integer is expected, ...",
               bad="""
               risk_score: "21"
               """,
               good="""
               risk_score: 21
               """),
    documented("S104", "invalid-value", "a value is outside the allowed set, pattern or range",
               explanation="Enumerations (severity, type, language), patterns (interval, dates) and bounds.",
               bad="""
               interval: 5 minutes
               """,
               good="""
               interval: 5m
               """),
    documented("S105", "wrong-shape", "a value has the wrong shape",
               explanation="The document or a table does not have the structure the schema describes.",
               bad="""
               threat: MITRE ATT&CK
               """,
               good="""
               threat: []
               """),
)
