"""detection export [RULES] [-o FILE]: rule files to the ndjson Kibana's rule import accepts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_atomic, write_failure
from detection.commands.common import add_rules_dir_option, print_diagnostics, require_existing, rule_paths
from detection.config import load_config
from detection.diagnostics import DetectionError
from detection.kibana_export import ExportSettings, RuleExport, export_paths
from detection.kibana_fields import default_field_types, package_table


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("export", help="write rules as Kibana import ndjson",
                       description="Write one rule per line in the form Kibana's rule import "
                                   "(POST /api/detection_engine/rules/_import) accepts, with derived required_fields "
                                   "and related_integrations; keys sorted, same rules give the same bytes. Every line "
                                   "is checked against the shipped Kibana import schema before anything is written. "
                                   "Exit 0 written, 1 a rule fails the checks, 2 usage error.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("-o", "--output", type=Path, default=None, help="file to write (default: standard output)")
    p.add_argument("--details", action="store_true", help="append Kibana's export summary line")
    p.add_argument("--include-deprecated", action="store_true", help="also export rules whose maturity is deprecated")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def settings_for(args: argparse.Namespace) -> ExportSettings:
    config = load_config(rules_dir=getattr(args, "rules_dir", None))
    return ExportSettings(
        include_deprecated=bool(getattr(args, "include_deprecated", False)),
        packages=package_table(config.settings.get("integrations")),
        field_types=default_field_types(config.fields_dir if config.fields_dir.is_dir() else None),
    )


def exported(args: argparse.Namespace) -> RuleExport | None:
    """The export of the rules the arguments name, its warnings printed; None (after saying why on
    standard error) when a rule fails the export checks. Unusable input raises DetectionError."""
    paths = rule_paths(args)
    settings = settings_for(args)
    require_existing(paths)
    try:
        result = export_paths(paths, settings)
    except DetectionError as exc:
        print_diagnostics(exc.diagnostics, stream=sys.stderr)
        print("nothing written", file=sys.stderr)
        return None
    print_diagnostics(result.warnings, stream=sys.stderr)
    return result


def run(args: argparse.Namespace) -> int:
    result = exported(args)
    if result is None:
        return 1
    text = result.ndjson(details=args.details)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print_diagnostics([write_failure(args.output, exc)], stream=sys.stderr)
            return 2
    skipped = f", {len(result.skipped)} deprecated left out" if result.skipped else ""
    where = f" to {args.output}" if args.output else ""
    print(f"exported {len(result.rules)} rule(s){where}{skipped}", file=sys.stderr)
    return 0
