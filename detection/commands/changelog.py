"""detection changelog --since REF: a "Rules" section for CHANGELOG.md."""

from __future__ import annotations

import argparse
import json
import sys

from detection.commands.common import add_format_option, add_rules_dir_option, print_diagnostics
from detection.config import load_config
from detection.loader import load_rules


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("changelog", help="rules added, updated and deprecated since a git ref, as Markdown",
                       description="Compare the rules with the rules at a git ref and print a \"Rules\" section "
                                   "(added; updated, with what changed per version from the history; deprecated) "
                                   "ready to paste into CHANGELOG.md. Exit 0, or 2 when the ref or git is missing.")
    p.add_argument("--since", required=True, metavar="REF", help="git ref of the previous release (tag or commit)")
    p.add_argument("--heading-level", type=int, default=3, choices=(2, 3, 4),
                   help="Markdown level of the Rules heading (default: 3, under a release's ## heading)")
    add_rules_dir_option(p)
    add_format_option(p, ("markdown", "json"))
    p.set_defaults(func=run, format="markdown")
    return p


def run(args: argparse.Namespace) -> int:
    from detection.baseline import load_baseline
    from detection.changelog import render_markdown, rule_changes
    from detection.git import find_repo

    config = load_config(rules_dir=args.rules_dir)
    baseline = load_baseline(find_repo(config.root), args.since, config.rules_dirs)
    loaded = load_rules([d for d in config.rules_dirs if d.exists()])
    print_diagnostics([*loaded.diagnostics, *baseline.problems], "text", stream=sys.stderr)
    log = rule_changes(loaded.rules, baseline)
    if args.format == "json":
        print(json.dumps({"since": log.since, "changes": [c.to_json() for c in log.changes]}, indent=2,
                         ensure_ascii=False))
    else:
        sys.stdout.write(render_markdown(log, args.heading_level))
    return 0
