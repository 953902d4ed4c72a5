"""Generate docs/lint-codes.md from the check registry, so the page never goes stale.

    python -m detection.lint.docs docs/lint-codes.md     # rewrite the page
    python -m detection.lint.docs --check docs/lint-codes.md   # exit 1 if it differs

A test compares the committed page with ``render_codes_page()``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from detection.lint.registry import FAMILIES, Check

INTRO = """\
# Lint codes

`detection lint [PATHS] [--format text|json|sarif] [--select CODES] [--ignore CODES] [--output FILE]`
loads every rule under PATHS (default: the project's rule folders) and reports each finding as

```
path:line:col: CODE message
    hint: what to do
```

This page is generated from the checks themselves (`python -m detection.lint.docs docs/lint-codes.md`);
a test fails when it is out of date. `detection lint --explain CODE` prints one entry.

## Exit codes

| exit | meaning |
| --- | --- |
| 0 | no findings |
| 1 | at least one finding that is not suppressed, error **or warning** |
| 2 | usage error: a path that does not exist, a file that cannot be read or parsed (E1xx), a bad setting or an unknown code in `--select`/`--ignore` |

Warnings (for example the AWS event-name check V102) fail the run like errors: a finding is either
fixed, switched off for the project, or suppressed for the rule with a reason. The severity only
tells how sure the check is, and sets the SARIF level.

## Choosing codes

Codes, families (`Q`) and prefixes (`H1`), or `ALL`, are accepted everywhere. For each code the
longest matching entry decides; on a tie `ignore` wins.

```toml
# pyproject.toml
[tool.detection.lint]
select = ["ALL"]               # default: every code
ignore = ["Q112"]              # project-wide
allowed-tags = ["Domain: Cloud", "Data Source: AWS"]   # optional, enables H112
max-signals = 1000             # H105's limit (xpack.alerting.rules.run.alerts.max)
docs-url = "https://github.com/you/rules/blob/main/docs/lint-codes.md"   # SARIF helpUri
```

On the command line `--select Q,V` replaces the configured `select`, and `--ignore H103` adds to the
configured `ignore` (both take comma-separated lists).

One rule can suppress a code, with the reason, in its metadata:

```yaml
metadata:
  lint:
    ignore:
      - code: Q112
        reason: process.name is small on these hosts; the leading wildcard is cheap here
```

The reason is required (the schema rejects an empty one). A suppression of an unknown code is
L101; one that suppresses nothing is L102. L codes cannot be suppressed. Load problems (E1xx, S1xx)
are always reported: a rule that does not load cannot be linted.

## Output formats

**text** (default): one finding per block as above, sorted by path, line, column and code; a
summary line goes to standard error.

**json**: a stable, versioned document on standard output:

```json
{
  "version": 1,
  "rules": 1,
  "summary": {"errors": 0, "warnings": 1, "suppressed": 0},
  "findings": [
    {"path": "rules/aws/privilege_escalation_sts_assumerole_usage.yaml", "line": 25, "column": 88,
     "code": "V102", "severity": "warning",
     "message": "sts.amazonaws.com does not log AssumedRole: ...",
     "hint": "did you mean 'AssumeRole'?", "suggestion": "AssumeRole",
     "rule_id": "93075852-b0f5-4b8b-89c3-a226efae5726"}
  ],
  "suppressed": []
}
```

| field | meaning |
| --- | --- |
| `version` | shape version; fields are only added within a version |
| `rules` | rules that loaded and were linted |
| `summary` | counts of unsuppressed errors and warnings, and of suppressed findings |
| `findings[]` | sorted by `path`, `line`, `column`, `code`; `line`/`column` are 1-based (0 = the whole file) |
| `findings[].severity` | `error` or `warning` |
| `findings[].hint` | what to do, or null |
| `findings[].suggestion` | the replacement value when the check has one (a field, event name, ATT&CK name...), or null |
| `findings[].rule_id` | the rule's `rule_id`, or null for problems found before the rule loaded |
| `suppressed[]` | the same fields plus `reason`, for findings silenced by `metadata.lint.ignore` |

**sarif**: SARIF 2.1.0 for code-scanning annotations (`--output lint.sarif`). `tool.driver.rules`
lists every code below with its descriptions, examples (`help.markdown`) and default level;
results point at files relative to the project root (`uriBaseId: %SRCROOT%`); suppressed findings
are included with an `inSource` suppression and their reason.
"""


def _code_table(checks: Sequence[Check]) -> list[str]:
    lines = ["| code | name | severity | finds |", "| --- | --- | --- | --- |"]
    for c in checks:
        lines.append(f"| [{c.code}](#{c.anchor}) | {c.name} | {c.severity.value} | {c.summary} |")
    return lines


def render_entry(check: Check) -> list[str]:
    lines = [f'<a id="{check.anchor}"></a>', "", f"### {check.code} {check.name}", "",
             f"**{check.summary[0].upper() + check.summary[1:]}.** Severity: {check.severity.value}.", "",
             " ".join(check.explanation.split()), ""]
    for label, example in (("Bad", check.bad), ("Good", check.good)):
        if example.startswith("("):
            lines += [f"{label}: {example}", ""]
            continue
        language = "toml" if "[tool." in example else ("shell" if example.startswith("detection ") else "yaml")
        lines += [f"{label}:", "", f"```{language}", example, "```", ""]
    return lines


def data_versions() -> list[str]:
    """The pinned reference data the checks use, read from the shipped files."""
    out = []
    try:
        from detection.attack import load_attack

        out.append(f"MITRE ATT&CK v{load_attack().version} (enterprise)")
    except Exception:  # noqa: BLE001 - the page still renders without the data
        pass
    try:
        from detection.aws_api import load_aws_api

        out.append(f"AWS API operation names from botocore {load_aws_api().botocore_version}")
    except Exception:  # noqa: BLE001
        pass
    try:
        from detection.fields import ecs_version

        out.append(f"ECS {ecs_version()} fields and allowed values")
    except Exception:  # noqa: BLE001
        pass
    return out


def render_codes_page(checks: Mapping[str, Check] | None = None) -> str:
    if checks is None:
        from detection.lint import CHECKS

        checks = CHECKS
    items = list(checks.values())
    lines = [INTRO.rstrip("\n"), ""]
    versions = data_versions()
    if versions:
        lines += ["## Reference data", "", "The checks use data shipped in the package (no network at run time):", ""]
        lines += [f"- {v}" for v in versions] + [""]
    lines += ["## All codes", ""] + _code_table(items) + [""]
    for family, title in FAMILIES.items():
        members = [c for c in items if c.family == family]
        if not members:
            continue
        lines += [f"## {family}: {title}", ""]
        for c in members:
            lines += render_entry(c)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    check_only = "--check" in args
    args = [a for a in args if a != "--check"]
    target = Path(args[0]) if args else Path("docs/lint-codes.md")
    page = render_codes_page()
    if check_only:
        current = target.read_text(encoding="utf-8") if target.is_file() else ""
        if current != page:
            print(f"{target} is out of date; run: python -m detection.lint.docs {target}", file=sys.stderr)
            return 1
        return 0
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page, encoding="utf-8")
    print(f"wrote {target}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
