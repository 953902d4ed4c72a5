"""detection check [--base REF] [--changed-only]: validate, lint, test and gate versions, as CI does."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_atomic, write_failure
from detection.commands.common import add_format_option, print_diagnostics, require_existing
from detection.config import load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("check", help="validate, lint, test and gate versions: the one command CI runs",
                       description="Run every stage: validate the rules, lint them, run their fixture cases and gate "
                                   "their versions (content changed without a bump, a version that went down or "
                                   "jumped, a history that does not verify, a rule deleted instead of deprecated). "
                                   "Each failure says what to run. Exit 0 all passed, 1 findings, 2 usage or "
                                   "input error (e.g. an unknown --base).")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("--base", metavar="REF", help="git ref to compare versions with (e.g. origin/main)")
    p.add_argument("--changed-only", action="store_true",
                   help="run fixture cases only for rules, fixtures and event files that differ from --base "
                        "(default HEAD); all of them when pyproject.toml or the custom fields differ")
    add_format_option(p)
    p.add_argument("--coverage", action=argparse.BooleanOptionalAction, default=None,
                   help="fail on query clauses no case makes both true and false "
                        "(default: require-coverage in [tool.detection])")
    p.add_argument("--junit", type=Path, metavar="FILE", help="also write the results as JUnit XML")
    p.add_argument("--sarif", type=Path, metavar="FILE", help="also write the findings as SARIF 2.1.0")
    p.add_argument("--rules-dir", type=Path, default=None,
                   help="folder of rules (default: [tool.detection] rules-dir, else rules/)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from detection.check import render_json, render_junit, render_sarif, render_text, run_check

    config = load_config(rules_dir=args.rules_dir)
    # Without paths, the configured rule folders: a mistyped rules-dir must not pass as "0 rules".
    require_existing(args.paths or config.rules_dirs)
    report = run_check(config, args.paths, base=args.base, changed_only=args.changed_only, coverage=args.coverage)
    sys.stdout.write(render_json(report) if args.format == "json" else render_text(report))
    for target, render in ((args.junit, render_junit), (args.sarif, render_sarif)):
        if target is not None:
            try:
                write_atomic(target, render(report))
            except OSError as exc:
                print_diagnostics([write_failure(target, exc)], stream=sys.stderr)
                return 2
    return report.exit_code
