"""Test results as text, JSON or JUnit XML, plus the failure explanation every format shares."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from typing import Any

from detection.testing import ERROR, FAILED, PASSED, SKIPPED, CaseResult, TestRun

_INDENT = "    "
# Characters XML 1.0 cannot carry even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _indent(text: str, prefix: str = _INDENT) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def failure_text(result: CaseResult) -> str:
    """The explanation of a failed (or erroneous) case: header, expected vs actual, and per
    event the query tree with each clause's result and the event's values."""
    lines = [f"{result.outcome.upper()} {result.id}"]
    case_line = f"  case:     {result.location}"
    if result.description:
        case_line += f"  ({' '.join(result.description.split())})"
    lines.append(case_line)
    lines.append(f"  rule:     {result.rule_path} (rule_id {result.rule_id})")
    if result.kind == "policy":
        lines.append(f"  problem:  {result.message}")
        return "\n".join(lines)
    if result.query is not None:
        where = f"{result.query_location}" if result.query_location else ""
        lines.append(f"  query:    {where}")
        lines.append(_indent(" ".join(result.query.split()), "            "))
    if result.outcome == ERROR or result.actual_alerts is None:
        lines.append(f"  error:    {result.message}")
        return "\n".join(lines)
    lines.append(f"  expected: {result.expected}")
    actual = "no alert" if result.actual_alerts == 0 else f"{result.actual_alerts} alert(s)"
    lines.append(f"  actual:   {actual}")
    if result.summary:  # multi-event rules: the run window, groups, terms or rows behind the count
        lines.append("  run:")
        lines.append(_indent(result.summary, "            "))
    for exp in result.explanations:
        verdict = "raised an alert" if exp.alerted else "raised no alert"
        lines.append(f"  event {exp.index + 1} of {result.events}: {verdict}")
        lines.append(_indent(exp.text))
    if result.events > len(result.explanations):
        lines.append(f"  ({result.events - len(result.explanations)} more event(s) not shown)")
    return "\n".join(lines)


def summary_line(run: TestRun) -> str:
    parts = [f"{run.count(PASSED)} passed", f"{run.count(FAILED)} failed"]
    if run.count(ERROR):
        parts.append(f"{run.count(ERROR)} error(s)")
    if run.count(SKIPPED):
        parts.append(f"{run.count(SKIPPED)} skipped")
    if run.diagnostics:
        parts.append(f"{len(run.diagnostics)} input problem(s)")
    return ", ".join(parts) + f" in {run.duration:.2f}s"


def render_text(run: TestRun, verbose: bool = False) -> str:
    out: list[str] = []
    for diag in run.diagnostics:
        out.append(diag.format())
    for result in run.results:
        if result.outcome in (FAILED, ERROR):
            out.append(failure_text(result))
            out.append("")
        elif result.outcome == SKIPPED:
            out.append(f"SKIPPED {result.id}: {result.message}")
        elif verbose:
            out.append(f"PASSED  {result.id}")
    if run.coverage is not None:
        out.extend(coverage_text(run.coverage))
    out.append(summary_line(run))
    return "\n".join(out) + "\n"


def coverage_text(coverage: Iterable[Any]) -> list[str]:
    out = ["condition coverage (each clause must be made both true and false by some case):"]
    for rc in coverage:
        head = f"  {rc.rule_name} ({rc.rule_path})"
        if rc.note:
            out.append(f"{head}: {rc.note}")
            continue
        missing = rc.uncovered
        out.append(f"{head}: {len(rc.clauses) - len(missing)} of {len(rc.clauses)} clauses covered")
        for clause in missing:
            out.append(f"      {clause.describe()}")
    return out


# --------------------------------------------------------------------------- JSON


def result_record(result: CaseResult) -> dict[str, Any]:
    """One JSON record per case (and per policy check)."""
    failed = result.outcome in (FAILED, ERROR)
    return {
        "rule": result.rule_id,
        "rule_name": result.rule_name,
        "rule_path": result.rule_path,
        "case": result.case,
        "kind": result.kind,
        "outcome": result.outcome,
        "location": {"path": result.location.path, "line": result.location.line, "column": result.location.column},
        "expected": result.expected,
        "expected_alerts": result.expected_alerts,
        "actual_alerts": result.actual_alerts,
        "message": result.message,
        "duration": round(result.duration, 6),
        "explanation": failure_text(result) if failed else None,
        "summary": result.summary or None,
        "events": [{"index": e.index, "alerted": e.alerted, "explanation": e.data if e.data is not None else e.text}
                   for e in result.explanations],
    }


def render_json(run: TestRun) -> str:
    data: dict[str, Any] = {
        "summary": {"passed": run.count(PASSED), "failed": run.count(FAILED), "errors": run.count(ERROR),
                    "skipped": run.count(SKIPPED), "input_problems": len(run.diagnostics),
                    "duration": round(run.duration, 6), "ok": run.ok},
        "results": [result_record(r) for r in run.results],
        "diagnostics": [d.to_json() for d in run.diagnostics],
    }
    if run.coverage is not None:
        data["coverage"] = [rc.to_json() for rc in run.coverage]
    return json.dumps(data, indent=2, default=str) + "\n"


# --------------------------------------------------------------------------- JUnit XML


def _clean(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def render_junit(run: TestRun) -> str:
    """JUnit XML: one testsuite per rule, one testcase per case; input problems as errors."""
    root = ET.Element("testsuites", name="detection")
    suites: dict[str, list[CaseResult]] = {}
    for result in run.results:
        suites.setdefault(result.rule_path, []).append(result)
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for rule_path, results in suites.items():
        counts = {"tests": len(results), "failures": sum(r.outcome == FAILED for r in results),
                  "errors": sum(r.outcome == ERROR for r in results),
                  "skipped": sum(r.outcome == SKIPPED for r in results)}
        suite = ET.SubElement(root, "testsuite", name=_clean(results[0].rule_name), file=rule_path,
                              time=f"{sum(r.duration for r in results):.6f}", **{k: str(v) for k, v in counts.items()})
        for key in totals:
            totals[key] += counts[key]
        for r in results:
            case = ET.SubElement(suite, "testcase", classname=_clean(r.rule_name), name=_clean(r.case),
                                 file=r.location.path, line=str(r.location.line), time=f"{r.duration:.6f}")
            if r.outcome == FAILED:
                ET.SubElement(case, "failure", message=_clean(r.message), type="RuleTestFailure").text = _clean(failure_text(r))
            elif r.outcome == ERROR:
                ET.SubElement(case, "error", message=_clean(r.message), type="RuleTestError").text = _clean(failure_text(r))
            elif r.outcome == SKIPPED:
                ET.SubElement(case, "skipped", message=_clean(r.message))
    if run.diagnostics:
        suite = ET.SubElement(root, "testsuite", name="input problems", tests=str(len(run.diagnostics)),
                              failures="0", errors=str(len(run.diagnostics)), skipped="0", time="0")
        for diag in run.diagnostics:
            case = ET.SubElement(suite, "testcase", classname="input", name=_clean(f"{diag.location} {diag.code}"),
                                 file=diag.location.path, line=str(diag.location.line), time="0")
            ET.SubElement(case, "error", message=_clean(diag.message), type=diag.code).text = _clean(diag.format())
        totals["tests"] += len(run.diagnostics)
        totals["errors"] += len(run.diagnostics)
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{run.duration:.6f}")
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
