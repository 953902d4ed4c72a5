"""SARIF 2.1.0 output for code-scanning annotations (GitHub and other SARIF viewers).

One run; ``tool.driver.rules`` lists every lint code (so ``ruleIndex`` is stable between runs),
each result points at a file relative to the project root (``uriBaseId: %SRCROOT%``). Suppressed
findings are included with an ``inSource`` suppression carrying the reason, as SARIF intends.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detection import __version__
from detection.diagnostics import Diagnostic, Severity
from detection.lint.registry import FAMILIES, Check

SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _level(severity: Severity) -> str:
    return "error" if severity is Severity.ERROR else "warning"


def _rule_descriptor(check: Check, docs_url: str | None) -> dict[str, Any]:
    markdown = (f"{check.explanation}\n\n**Bad**\n\n```yaml\n{check.bad}\n```\n\n"
                f"**Good**\n\n```yaml\n{check.good}\n```")
    descriptor: dict[str, Any] = {
        "id": check.code,
        "name": check.name,
        "shortDescription": {"text": check.summary},
        "fullDescription": {"text": " ".join(check.explanation.split())},
        "help": {"text": " ".join(check.explanation.split()), "markdown": markdown},
        "defaultConfiguration": {"level": _level(check.severity)},
        "properties": {"tags": [FAMILIES[check.family]]},
    }
    if docs_url:
        descriptor["helpUri"] = f"{docs_url}#{check.anchor}"
    return descriptor


def artifact_uri(path: str, root: Path | None) -> tuple[str, bool]:
    """(uri, relative?) for a finding's path: relative to ``root`` with forward slashes when inside."""
    absolute = Path(path).resolve()
    if root is not None:
        try:
            return absolute.relative_to(root.resolve()).as_posix(), True
        except ValueError:
            pass
    return absolute.as_uri(), False


def _result(diag: Diagnostic, index: Mapping[str, int], root: Path | None, reason: str | None) -> dict[str, Any]:
    text = diag.message + (f" (hint: {diag.hint})" if diag.hint else "")
    result: dict[str, Any] = {
        "ruleId": diag.code,
        "level": _level(diag.severity),
        "message": {"text": text},
    }
    if diag.code in index:
        result["ruleIndex"] = index[diag.code]
    path = diag.location.path
    if path and not path.startswith("<") and path != "command line":
        uri, relative = artifact_uri(path, root)
        artifact: dict[str, Any] = {"uri": uri}
        if relative:
            artifact["uriBaseId"] = SRCROOT
        physical: dict[str, Any] = {"artifactLocation": artifact}
        if diag.location.line >= 1:
            physical["region"] = {"startLine": diag.location.line, "startColumn": max(1, diag.location.column)}
        result["locations"] = [{"physicalLocation": physical}]
    if reason is not None:
        result["suppressions"] = [{"kind": "inSource", "justification": reason}]
    rule_id = diag.data.get("rule_id")
    if rule_id:
        result["properties"] = {"rule_id": rule_id}
    return result


def to_sarif(findings: Iterable[Diagnostic], checks: Mapping[str, Check], *, root: Path | None = None,
             suppressed: Iterable[tuple[Diagnostic, str]] = (), docs_url: str | None = None) -> dict[str, Any]:
    """A SARIF 2.1.0 log (as plain data) for the findings and suppressed findings."""
    codes = list(checks)
    index = {code: i for i, code in enumerate(codes)}
    driver: dict[str, Any] = {
        "name": "detection",
        "version": __version__,
        "semanticVersion": __version__,
        "rules": [_rule_descriptor(checks[c], docs_url) for c in codes],
    }
    if docs_url:
        driver["informationUri"] = docs_url
    results = [_result(d, index, root, None) for d in findings]
    results += [_result(d, index, root, reason) for d, reason in suppressed]
    run: dict[str, Any] = {
        "tool": {"driver": driver},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if root is not None:
        # Where %SRCROOT% is, for viewers that open files; code-scanning uploads ignore it.
        run["originalUriBaseIds"] = {SRCROOT: {"uri": Path(os.path.abspath(root)).as_uri() + "/"}}
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
