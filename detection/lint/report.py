"""Text and JSON forms of a lint report (SARIF lives in ``sarif.py``).

The JSON shape is versioned and documented on docs/lint-codes.md; fields are only ever added
within a version.
"""

from __future__ import annotations

from typing import Any

from detection.diagnostics import Diagnostic

JSON_VERSION = 1


def finding_json(diag: Diagnostic) -> dict[str, Any]:
    return {
        "path": diag.location.path,
        "line": diag.location.line,
        "column": diag.location.column,
        "code": diag.code,
        "severity": diag.severity.value,
        "message": diag.message,
        "hint": diag.hint,
        "suggestion": diag.data.get("suggestion"),
        "rule_id": diag.data.get("rule_id"),
    }


def report_json(report: Any) -> dict[str, Any]:
    """``{"version": 1, "rules": N, "summary": {...}, "findings": [...], "suppressed": [...]}``."""
    return {
        "version": JSON_VERSION,
        "rules": len(report.rules),
        "summary": {"errors": report.errors, "warnings": report.warnings, "suppressed": len(report.suppressed)},
        "findings": [finding_json(d) for d in report.findings],
        "suppressed": [{**finding_json(d), "reason": reason} for d, reason in report.suppressed],
    }


def summary_line(report: Any) -> str:
    noun = "rule" if len(report.rules) == 1 else "rules"
    if not report.findings:
        text = f"{len(report.rules)} {noun} linted, no findings"
    else:
        text = f"{len(report.rules)} {noun} linted: {report.errors} error(s), {report.warnings} warning(s)"
    if report.suppressed:
        text += f" ({len(report.suppressed)} suppressed)"
    return text
