"""detection import FILE.ndjson [--into DIR]: a Kibana rules export to rule files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_failure
from detection.commands.common import print_diagnostics, require_existing
from detection.config import load_config
from detection.kibana_import import LAYOUTS, apply_import, plan_import
from detection.loader import display

MATURITIES = ("development", "experimental", "beta", "production")


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("import", help="turn a Kibana rules export into rule files",
                       description="Read a Kibana rules export (.ndjson) and write one YAML rule file per rule, "
                                   "with Kibana's server-side fields dropped and a first history entry. Exception "
                                   "lists, connectors and the summary line are reported, not written. Nothing is "
                                   "written unless every rule line is usable. Exit 0 written, 2 bad input or "
                                   "usage error.")
    p.add_argument("file", type=Path, help="the .ndjson file Kibana exported")
    p.add_argument("--into", type=Path, default=None,
                   help="folder for the rule files (default: the project's first rules folder)")
    p.add_argument("--layout", choices=LAYOUTS, default="flat",
                   help="flat: all files in --into; integration: one sub-folder per integration package")
    p.add_argument("--maturity", choices=MATURITIES, default="production", help="metadata.maturity of the new rules")
    p.add_argument("--force", action="store_true", help="replace rule files that already exist")
    p.add_argument("--dry-run", action="store_true", help="report what would be written, write nothing")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    require_existing([args.file])
    config = load_config()
    into = args.into or config.rules_dirs[0]
    plan = plan_import(args.file, into, layout=args.layout, maturity=args.maturity, force=args.force,
                       schema_file=config.root / "schemas" / "rule.schema.json")
    print_diagnostics(plan.diagnostics, stream=sys.stderr)
    if not plan.ok:
        print(f"nothing written: {len(plan.errors)} problem(s) in {plan.source}", file=sys.stderr)
        return 2
    if args.dry_run:
        for rule in plan.rules:
            print(f"would write {display(rule.target)}{' (replacing it)' if rule.replaces else ''}")
        return 0
    try:
        written = apply_import(plan)
    except OSError as exc:
        print_diagnostics([write_failure(exc.filename or into, exc)], stream=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {display(path)}")
    print(f"imported {len(plan.rules)} rule(s); {len(plan.skipped)} other line(s) reported, not written",
          file=sys.stderr)
    return 0
