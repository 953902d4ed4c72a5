"""detection bump [RULES] [--base REF]: raise versions and record history for changed rules."""

from __future__ import annotations

import argparse
import datetime as _dt
import difflib
import sys
from pathlib import Path

from detection.atomic_write import CODE_WRITE
from detection.commands.common import add_rules_dir_option, existing_rule_paths, print_diagnostics
from detection.config import load_config
from detection.diagnostics import DetectionError
from detection.loader import load_rules


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser("bump", help="raise versions and record history for rules whose content changed",
                       description="For every rule whose content no longer matches its newest recorded hash: raise "
                                   "the version by one, add a history entry with the previous values of the changed "
                                   "fields (read from git at --base, default HEAD, or from the recorded history "
                                   "outside git) and set metadata.updated_date. Also records rules that have no "
                                   "history yet, deprecations, and missing hashes. Files are edited in place: "
                                   "comments, key order and quoting stay as they are. Exit 0 done, 1 a rule could "
                                   "not be bumped, 2 usage or input error.")
    p.add_argument("paths", nargs="*", type=Path, help="rule files or folders (default: the project's rules)")
    p.add_argument("--base", metavar="REF", help="git ref holding the previous versions (default: HEAD in a git checkout)")
    p.add_argument("--summary", help="one-line summary for the new history entries (default: generated)")
    p.add_argument("--stack", metavar="X.Y.Z", help="Elastic Stack release that will ship the new versions")
    p.add_argument("--date", type=_parse_date, metavar="YYYY-MM-DD", help="date of the new entries (default: today)")
    p.add_argument("--dry-run", action="store_true", help="print the changes as a diff; write nothing")
    add_rules_dir_option(p)
    p.set_defaults(func=run)
    return p


def _parse_date(text: str) -> _dt.date:
    try:
        return _dt.date.fromisoformat(text.replace("/", "-"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from None


def run(args: argparse.Namespace) -> int:
    from detection.bump import bump_rules

    paths = existing_rule_paths(args)
    source = _previous_source(args)
    loaded = load_rules(paths)
    print_diagnostics(loaded.diagnostics, "text", stream=sys.stderr)
    outcomes = bump_rules(loaded.rules, source, args.date, args.stack, args.summary, write=not args.dry_run)
    failed = bool(loaded.diagnostics)
    unwritable = False
    changed = 0
    for outcome in outcomes:
        if outcome.diagnostics:
            failed = True
            unwritable = unwritable or any(d.code == CODE_WRITE for d in outcome.diagnostics)
            print_diagnostics(outcome.diagnostics, "text", stream=sys.stderr)
            continue
        if not outcome.changed:
            continue
        changed += 1
        print(_describe(outcome))
        if args.dry_run and outcome.new_text is not None:
            shown = outcome.rule.display_path
            sys.stdout.writelines(difflib.unified_diff(outcome.rule.text.splitlines(True),
                                                       outcome.new_text.splitlines(True), f"a/{shown}", f"b/{shown}"))
    verb = "would change" if args.dry_run else "changed"
    print(f"{verb} {changed} of {len(outcomes)} rule(s); previous values from {source.label}", file=sys.stderr)
    return 2 if unwritable else 1 if failed else 0


def _previous_source(args: argparse.Namespace):
    """Git at --base (default HEAD) when in a checkout; the recorded history alone otherwise."""
    from detection.baseline import load_baseline
    from detection.bump import GitPrevious, NoPrevious
    from detection.git import find_repo, try_find_repo

    config = load_config(rules_dir=args.rules_dir)
    if args.base is not None:
        repo = find_repo(config.root)  # --base without git is a usage error
        return GitPrevious(load_baseline(repo, args.base, config.rules_dirs))
    repo = try_find_repo(config.root)
    if repo is None:
        return NoPrevious()
    try:
        return GitPrevious(load_baseline(repo, "HEAD", config.rules_dirs))
    except DetectionError:
        return NoPrevious()  # a repository with no commit yet


def _describe(outcome) -> str:
    rule = outcome.rule
    parts = []
    for entry in outcome.added:
        what = entry.kind + (f": {', '.join(entry.changed)}" if entry.changed else "")
        parts.append(f"recorded version {entry.version} ({what})")
    if outcome.old_version != outcome.new_version and outcome.old_version is not None:
        parts.insert(0, f"version {outcome.old_version} -> {outcome.new_version}")
    if outcome.reworked:
        parts.append(f"re-recorded unreleased version {outcome.new_version} in place")
    if outcome.filled:
        parts.append("filled hashes of version(s) " + ", ".join(map(str, outcome.filled)))
    return f"{rule.display_path}: " + "; ".join(parts)
