"""detection history RULE: list the recorded versions and whether each rebuilds to its hash."""

from __future__ import annotations

import argparse
import json

from detection.commands.common import add_format_option, add_rules_dir_option
from detection.config import load_config
from detection.content_hash import content_hash
from detection.history import rebuild_versions
from detection.rule_lookup import find_rule

_STATUS = {True: "ok", False: "MISMATCH", None: "none"}


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("history", help="list a rule's recorded versions and verify their hashes",
                       description="List every recorded version of a rule, newest first: version, date, stack "
                                   "release, kind of change, hash check and summary. Each version is rebuilt from "
                                   "the current rule and the reverse deltas and checked against its recorded hash. "
                                   "Exit 0 when every recorded hash verifies, 1 when one does not, 2 on bad input.")
    p.add_argument("rule", metavar="RULE", help="rule file, rule_id or rule name")
    add_rules_dir_option(p)
    add_format_option(p)
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    rule = find_rule(args.rule, load_config(rules_dir=args.rules_dir).rules_dirs)
    states = rebuild_versions(rule.rule, rule.history)
    current = content_hash(rule.rule)
    dirty = bool(states) and states[0].entry.hash not in (None, current)
    if args.format == "json":
        print(json.dumps({
            "rule_id": rule.rule_id, "name": rule.name, "path": rule.display_path, "version": rule.version,
            "content_hash": current, "recorded": not dirty,
            "versions": [dict(s.entry.to_dict(), rebuilt_hash=s.hash, verified=s.verified) for s in states],
        }, indent=2, ensure_ascii=False))
    else:
        print(f"{rule.name} ({rule.rule_id}) {rule.display_path}")
        rows = [("VERSION", "DATE", "STACK", "KIND", "HASH", "SUMMARY")]
        rows += [(str(s.version), s.entry.date, s.entry.stack or "-", s.entry.kind, _STATUS[s.verified],
                  s.entry.summary) for s in states]
        widths = [max(len(r[i]) for r in rows) for i in range(5)]
        for row in rows:
            print("  ".join(cell.ljust(w) for cell, w in zip(row[:5], widths, strict=True)) + "  " + row[5])
        if not states:
            print("no recorded versions: run `detection bump` to record this one")
        elif dirty:
            print(f"the rule's content differs from version {states[0].version} as recorded: run `detection bump`")
    # Versions below a content change cannot verify until bump records the change.
    failed = not dirty and any(s.verified is False for s in states)
    return 1 if failed else 0
