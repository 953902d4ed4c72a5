"""detection docs [-o DIR]: Markdown reference pages, an index and ATT&CK coverage views."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.atomic_write import write_failure
from detection.commands.common import add_rules_dir_option, print_diagnostics, require_existing, rule_paths
from detection.config import load_config
from detection.docs import build_docs, write_docs
from detection.loader import display, load_rules


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("docs", help="write Markdown rule reference pages and ATT&CK coverage",
                       description="Write a page per rule (with its version history), an index page, an ATT&CK "
                                   "coverage page and an ATT&CK Navigator layer. Exit 0 done, 1 rule problems "
                                   "(or, with --check, docs out of date), 2 usage error.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("-o", "--output", type=Path, default=None, help="folder to write (default: docs/rules)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 if any file would change")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    paths = rule_paths(args)
    out = args.output or load_config(rules_dir=args.rules_dir).root / "docs" / "rules"
    require_existing(paths)
    loaded = load_rules(paths)
    if loaded.diagnostics:
        print_diagnostics(loaded.diagnostics, stream=sys.stderr)
        return 1
    files = build_docs(loaded.rules)
    if args.check:
        stale = [name for name, text in files.items()
                 if not (out / name).is_file() or (out / name).read_text(encoding="utf-8") != text]
        for name in stale:
            print(f"{display(out / name)}: out of date", file=sys.stderr)
        return 1 if stale else 0
    try:
        written = write_docs(files, out)
    except OSError as exc:
        print_diagnostics([write_failure(exc.filename or out, exc)], stream=sys.stderr)
        return 2
    print(f"{len(files)} docs file(s) in {display(out)}, {len(written)} changed", file=sys.stderr)
    return 0
