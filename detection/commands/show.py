"""detection show RULE --version N: print a recorded version, rebuilt from the history."""

from __future__ import annotations

import argparse
import json
import sys

from detection.commands.common import add_rules_dir_option, print_diagnostics
from detection.config import load_config
from detection.diagnostics import Diagnostic
from detection.history import rebuild_version
from detection.rule_lookup import find_rule

CODE_NO_VERSION = "G141"  # --version names a version the history does not record


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("show", help="print a recorded version of a rule, rebuilt from its history",
                       description="Rebuild a recorded version of a rule from the current rule and the history's "
                                   "reverse deltas and print its Kibana rule (the newest recorded version when "
                                   "--version is left out). Standard error says whether it hashes to the recorded "
                                   "hash. Exit 0 verified (or no hash recorded), 1 hash mismatch, 2 bad input.")
    p.add_argument("rule", metavar="RULE", help="rule file, rule_id or rule name")
    p.add_argument("--version", type=int, dest="wanted", metavar="N", help="the version to rebuild")
    p.add_argument("--format", choices=("json", "yaml"), default="json", help="output format (default: json)")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    rule = find_rule(args.rule, load_config(rules_dir=args.rules_dir).rules_dirs)
    if not rule.history:
        print(f"{rule.display_path}: no recorded versions; run `detection bump` to record one", file=sys.stderr)
        return 2
    wanted = args.wanted if args.wanted is not None else rule.history[0].version
    try:
        state = rebuild_version(rule.rule, rule.history, wanted)
    except LookupError as exc:
        print_diagnostics([Diagnostic(rule.location(("history",), key=True), CODE_NO_VERSION, str(exc).strip("'\""),
                                      hint="pick one of the recorded versions (`detection history` lists them)")],
                          stream=sys.stderr)
        return 2
    if args.format == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(state.rule, sort_keys=True, allow_unicode=True, width=100))
    else:
        print(json.dumps(state.rule, indent=2, sort_keys=True, ensure_ascii=False))
    if state.verified is None:
        print(f"version {wanted}: no recorded hash (rebuilt content hashes to {state.hash})", file=sys.stderr)
    elif state.verified:
        print(f"version {wanted}: verified, {state.hash}", file=sys.stderr)
    else:
        print(f"version {wanted}: rebuilt content hashes to {state.hash}, but the history records "
              f"{state.entry.hash}", file=sys.stderr)
        return 1
    return 0
