"""detection fmt [PATHS] [--check] [--diff]: canonical formatting of YAML rule files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.commands.common import add_rules_dir_option, existing_rule_paths, print_diagnostics


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("fmt", help="put rule files in canonical form (key order, indentation, string style)",
                       description="Rewrite YAML rule files in canonical form: keys in the documented order "
                                   "(metadata, rule, history; rule identity first and version last), two-space "
                                   "indentation, long one-line strings as folded blocks, multi-line strings as "
                                   "literal blocks, no needless quotes. Comments, block scalars and blank lines are "
                                   "kept; TOML files are left as they are. Exit 0 done (or, with --check, already "
                                   "canonical), 1 with --check: a file would change, 2 a file cannot be read or "
                                   "formatted.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; report each difference as path:line:col: FMTxxx and exit 1 if any")
    p.add_argument("--diff", action="store_true", help="write nothing; print the changes as a unified diff")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from detection.formatting import format_paths

    paths = existing_rule_paths(args)
    write = not (args.check or args.diff)
    try:
        results = format_paths(paths, write=write)
    except OSError as exc:
        print(f"{exc.filename or 'detection fmt'}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    failed = [r for r in results if r.failed]
    changed = [r for r in results if r.changed]
    for result in failed:
        print_diagnostics(result.findings, stream=sys.stderr)
    for result in changed:
        if args.diff:
            sys.stdout.write(result.diff())
        if args.check:
            print_diagnostics(result.findings)
        elif write:
            print(f"reformatted {result.shown}")
    skipped = sum(1 for r in results if r.skipped)
    verb = "would be reformatted" if not write else "reformatted"
    parts = [f"{len(changed)} file(s) {verb}", f"{len(results) - len(changed) - len(failed) - skipped} unchanged"]
    if skipped:
        parts.append(f"{skipped} left as they are (TOML, or not a rule file)")
    if failed:
        parts.append(f"{len(failed)} could not be formatted")
    print(", ".join(parts), file=sys.stderr)
    if failed:
        return 2
    return 1 if args.check and changed else 0
