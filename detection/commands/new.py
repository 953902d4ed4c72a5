"""detection new: scaffold a rule and its fixture file, with failing placeholder cases."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from detection.config import load_config


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    from detection.scaffold import LANGUAGES, MATURITIES, SEVERITIES, TYPES

    p = sub.add_parser("new", help="scaffold a rule and its fixture file",
                       description="Write rules/<dir>/<name>.yaml (a fresh rule_id, today's dates, version 1 with "
                                   "its history entry) and fixtures/<dir>/<name>.yaml with one positive and one "
                                   "negative case to fill in; the positive case fails until it holds a real event. "
                                   "Missing values are asked for when standard input is a terminal (unless "
                                   "--no-input). Existing files are never replaced. Exit 0 written, 2 bad option "
                                   "or the file exists.")
    p.add_argument("--name", help="rule name; the file name is made from it")
    p.add_argument("--type", choices=TYPES, default=None, help="rule type (default: query)")
    languages = sorted({lang for options in LANGUAGES.values() for lang in options})
    p.add_argument("--language", choices=languages, default=None, help="query language (default: the type's own)")
    p.add_argument("--index", action="append", default=[], metavar="PATTERN",
                   help="index pattern; repeatable (default: the patterns the folder's rules use, else logs-*)")
    p.add_argument("--severity", choices=SEVERITIES, default=None, help="severity (default: low)")
    p.add_argument("--risk-score", type=int, default=None, metavar="0-100",
                   help="risk score (default: the top of the severity's band: 21, 47, 73, 99)")
    p.add_argument("--tactic", action="append", default=[], metavar="TACTIC",
                   help="ATT&CK tactic name or id (e.g. 'Privilege Escalation' or TA0004); repeatable")
    p.add_argument("--technique", action="append", default=[], metavar="ID",
                   help="ATT&CK technique or sub-technique id (e.g. T1078.004); repeatable")
    p.add_argument("--query", help="the query (default: a placeholder to replace)")
    p.add_argument("--description", help="the description (default: a placeholder to replace)")
    p.add_argument("--author", action="append", default=[], help="author; repeatable")
    p.add_argument("--maturity", choices=MATURITIES, default="production", help="metadata.maturity (default: production)")
    p.add_argument("--dir", type=Path, default=None, metavar="DIR",
                   help="folder under the rules folder (e.g. aws or rules/aws; default: its first sub-folder, "
                        "else custom); the fixture goes to the same place under the fixtures folder")
    p.add_argument("--no-input", action="store_true", help="never prompt; missing values take their defaults")
    p.add_argument("--dry-run", action="store_true", help="print the two files instead of writing them")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from detection.loader import display
    from detection.scaffold import NewRule, plan_new_rule, prompt_missing, write_new_rule

    values = {"name": args.name, "type": args.type, "language": args.language, "index": args.index,
              "severity": args.severity, "tactic": args.tactic}
    if not args.no_input and sys.stdin.isatty() and _missing(values):
        try:
            values = prompt_missing(values, _ask)
        except EOFError:
            print("\ncancelled: nothing written", file=sys.stderr)
            return 2
    if not (values["name"] or "").strip():
        print("detection new: --name is required (or run it in a terminal to be asked)", file=sys.stderr)
        return 2
    spec = NewRule(name=values["name"], type=values["type"] or "query", language=values["language"],
                   index=tuple(values["index"]), severity=values["severity"] or "low", risk_score=args.risk_score,
                   tactics=tuple(values["tactic"]), techniques=tuple(args.technique), description=args.description,
                   query=args.query, folder=args.dir, maturity=args.maturity, author=tuple(args.author))
    try:
        config = load_config()
        scaffold = plan_new_rule(spec, config)
        if args.dry_run:
            for path, text in ((scaffold.rule_path, scaffold.rule_text), (scaffold.fixture_path, scaffold.fixture_text)):
                print(f"--- {display(path)}\n{text}", end="")
            return 0
        written = write_new_rule(scaffold)
    except OSError as exc:
        print(f"{exc.filename or 'detection new'}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {display(path)}")
    rule, fixture = display(scaffold.rule_path), display(scaffold.fixture_path)
    print(f"next: write the query and description in {rule}, put real events in {fixture},\n"
          f"      run `detection test {rule}` until it passes, then `detection bump {rule}` to record the version",
          file=sys.stderr)
    return 0


def _missing(values: dict) -> bool:
    return not values["name"] or any(values[k] is None for k in ("type", "severity"))


def _ask(question: str, default: str) -> str:
    suffix = f" [{default}]" if default else ""
    return input(f"{question}{suffix}: ").strip()
