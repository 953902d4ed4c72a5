"""detection lint [PATHS]: checks beyond the schema (query, values, ATT&CK, hygiene), by code."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detection.atomic_write import write_atomic, write_failure
from detection.commands.common import add_rules_dir_option, print_diagnostics, rule_paths
from detection.config import load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("lint", help="check queries, values, ATT&CK mappings and rule hygiene",
                       description="Lint every rule file: KQL syntax, fields and value types, Kibana query traps, "
                                   "ECS and AWS event values, ATT&CK mappings, scheduling, risk, dates, tags. "
                                   "Each finding is path:line:col: CODE message; docs/lint-codes.md lists every "
                                   "code. Exit 0 clean, 1 findings (errors or warnings), 2 usage or unreadable input.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    add_rules_dir_option(p)
    p.add_argument("--format", choices=("text", "json", "sarif"), default="text", help="output format (default: text)")
    p.add_argument("--select", action="append", metavar="CODES",
                   help="only these codes, families or prefixes, comma-separated (replaces the configured select)")
    p.add_argument("--ignore", action="append", metavar="CODES",
                   help="skip these codes, families or prefixes, comma-separated (adds to the configured ignore)")
    p.add_argument("--output", "-o", type=Path, metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument("--explain", metavar="CODE", help="print the documentation of one code and exit")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from detection.lint import CHECKS, lint_paths, settings_for

    if args.explain:
        return _explain(args.explain, CHECKS)
    config = load_config(rules_dir=args.rules_dir)
    settings = settings_for(config, args.select, args.ignore)
    paths = rule_paths(args)
    report = lint_paths(paths, config, settings=settings)
    try:
        _write_report(args, report, config, settings, CHECKS)
    except OSError as exc:
        print_diagnostics([write_failure(args.output or "<stdout>", exc)], stream=sys.stderr)
        return 2
    return report.exit_code


def _write_report(args: argparse.Namespace, report, config, settings, checks) -> None:
    if args.format == "json":
        from detection.lint.report import report_json

        _emit(json.dumps(report_json(report), indent=2, ensure_ascii=False) + "\n", args.output)
    elif args.format == "sarif":
        from detection.lint.sarif import to_sarif

        log = to_sarif(report.findings, checks, root=config.root, suppressed=report.suppressed,
                       docs_url=settings.docs_url)
        _emit(json.dumps(log, indent=2, ensure_ascii=False) + "\n", args.output)
    else:
        from detection.lint.report import summary_line

        _emit("".join(d.format() + "\n" for d in report.findings), args.output)
        print(summary_line(report), file=sys.stderr)


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        sys.stdout.write(text)
        return
    write_atomic(output, text)


def _explain(code: str, checks) -> int:
    from detection.lint.docs import render_entry

    item = checks.get(code.strip().upper())
    if item is None:
        print(f"detection lint: unknown code {code!r}; see docs/lint-codes.md", file=sys.stderr)
        return 2
    print("\n".join(line for line in render_entry(item) if not line.startswith("<a id=")).strip())
    return 0
