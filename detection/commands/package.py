"""detection package [-o dist]: the release ndjson, a manifest and checksums."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_failure
from detection.commands.common import add_rules_dir_option, print_diagnostics
from detection.commands.export import exported
from detection.config import load_config
from detection.loader import display
from detection.package import build_package, write_package


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("package", help="build the release folder (ndjson, manifest, checksums)",
                       description="Export the rules and write rules.ndjson, manifest.json and SHA256SUMS. The "
                                   "same sources always give the same bytes. Exit 0 built, 1 a rule fails the "
                                   "export checks, 2 usage error.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("-o", "--output", type=Path, default=None, help="folder to write (default: dist/ in the project root)")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    config = load_config(rules_dir=args.rules_dir)
    export = exported(args)
    if export is None:
        return 1
    out = args.output or config.root / "dist"
    try:
        written = write_package(build_package(export, root=config.root), out)
    except OSError as exc:
        print_diagnostics([write_failure(exc.filename or out, exc)], stream=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {display(path)}")
    return 0
