"""detection test [PATHS]: run every fixture case of the selected rules."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_atomic, write_failure
from detection.commands.common import print_diagnostics, require_existing
from detection.config import load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("test", help="run the rules' fixture cases (positive and negative events)",
                       description="Run every fixture case of every selected rule and check its expected alerts. "
                                   "A failed case is explained: the query as a tree with each clause true or false "
                                   "for the event, the event's values, and near misses. Exit 0 all passed, "
                                   "1 a case or policy check failed, 2 usage or input error.")
    p.add_argument("paths", nargs="*", type=Path,
                   help="rule files/folders or fixture files/folders (default: every rule of the project)")
    p.add_argument("--rule", action="append", default=[], metavar="ID",
                   help="only this rule (rule_id or exact name); repeatable")
    p.add_argument("-k", dest="keyword", metavar="EXPR",
                   help="only cases whose rule id, rule name, path or case name match, e.g. 'role and not saml'")
    p.add_argument("--format", choices=("text", "json", "junit"), default="text", help="output format (default: text)")
    p.add_argument("-o", "--output", type=Path, help="write the report to this file instead of standard output")
    p.add_argument("--coverage", action="store_true",
                   help="also report, per rule, query clauses no case made both true and false")
    p.add_argument("-v", "--verbose", action="store_true", help="list passed cases too (text format)")
    p.add_argument("--rules-dir", type=Path, default=None,
                   help="folder of rules (default: [tool.detection] rules-dir, else rules/)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from detection import reporting
    from detection.testing import run_tests

    require_existing(args.paths)
    # The project of the first path given, else of the working directory.
    config = load_config(args.paths[0].resolve() if args.paths else None, rules_dir=args.rules_dir)
    if not args.paths:  # a mistyped rules-dir: say so, rather than "no rule" for every fixture
        require_existing(config.rules_dirs)
    result = run_tests(config, args.paths, args.rule, args.keyword, coverage=args.coverage)
    if args.format == "json":
        text = reporting.render_json(result)
    elif args.format == "junit":
        text = reporting.render_junit(result)
    else:
        text = reporting.render_text(result, verbose=args.verbose)
    if args.output:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print_diagnostics([write_failure(args.output, exc)], stream=sys.stderr)
            return 2
        if args.format != "text":
            print(reporting.summary_line(result), file=sys.stderr)
    else:
        sys.stdout.write(text)
    if result.diagnostics:
        return 2
    return 0 if result.ok else 1
