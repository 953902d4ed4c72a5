"""detection validate [PATHS]: load every rule and check it against the schema."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from detection.commands.common import (
    add_format_option,
    add_rules_dir_option,
    existing_rule_paths,
    print_diagnostics,
)
from detection.diagnostics import sort_diagnostics
from detection.loader import load_rules


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("validate", help="load rules and check them against the rule schema",
                       description="Load every rule file (YAML or TOML) and report each schema, syntax and "
                                   "uniqueness problem as path:line:col: CODE message. Exit 0 clean, 1 problems, "
                                   "2 usage error.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    add_rules_dir_option(p)
    add_format_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    paths = existing_rule_paths(args)
    result = load_rules(paths)
    everything = sort_diagnostics([*result.diagnostics, *result.warnings])
    if args.format == "json":
        print(json.dumps({"rules": len(result.rules), "diagnostics": [d.to_json() for d in everything]}, indent=2))
    else:
        print_diagnostics(everything, "text")
        noun = "rule" if len(result.rules) == 1 else "rules"
        status = f"{len(result.diagnostics)} problem(s)" if result.diagnostics else "all valid"
        if result.warnings:
            status += f", {len(result.warnings)} warning(s)"
        print(f"{len(result.rules)} {noun} loaded, {status}", file=sys.stderr)
    # Warnings (an ignored key of a deprecated rule) are shown but do not fail validation.
    return 1 if result.diagnostics else 0
