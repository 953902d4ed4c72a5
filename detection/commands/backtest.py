"""detection backtest [RULES] EVENTS...: count each rule's alerts over recorded events."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TextIO

from detection.commands.common import print_diagnostics
from detection.diagnostics import DetectionError, Diagnostic, Location

CODE_ARGUMENT = "E205"  # a path that is neither rules nor events
CODE_NO_RULES = "E206"


def register(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "backtest", help="run rules over NDJSON event files (plain or .gz) and count their alerts",
        description="Run the selected rules over recorded events: .ndjson/.jsonl files, gzipped or not, or folders "
                    "of them (read in sorted order). Paths ending in .yaml/.yml/.toml, or folders of such files, "
                    "select rules (default: the project's rules). The input is streamed in constant memory over "
                    "all cores; lines that no selected rule can match are skipped without decoding. Per-event "
                    "rules (KQL/Lucene query rules, EQL event queries) alert on each matching line. Threshold, "
                    "new_terms, ES|QL rules and EQL sequences are replayed: the stream keeps only the events that "
                    "can take part in their runs, then each rule runs every `interval` over them, alerts repeated "
                    "by overlapping runs counted once. Machine learning, indicator match and rules with filters are "
                    "listed as not supported. Exit 0 when the run completed, 2 for usage errors, unreadable input, "
                    "bad lines or a rule over --max-collected.")
    p.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="rule files/folders, then event files/folders")
    p.add_argument("--rule", action="append", default=[], metavar="ID",
                   help="only this rule (rule_id or exact name); repeatable")
    p.add_argument("--format", choices=("text", "json"), default="text", help="output format (default: text)")
    p.add_argument("--out", type=Path, metavar="FILE",
                   help="write every alert to FILE as NDJSON: rule_id, rule_name, file, line, event; alerts of "
                        "replayed rules also give run_time, events (file and line of each) and group")
    p.add_argument("--max-collected", type=int, default=None, metavar="N",
                   help="events held in memory for replayed rules, all together (default: 1,000,000); past it "
                        "the rule holding the most is refused with an error")
    p.add_argument("--jobs", "-j", type=int, default=None, metavar="N",
                   help="worker processes (default: one per CPU core; 1 runs in this process)")
    p.add_argument("--no-prefilter", action="store_true", help="decode every line (for comparison)")
    p.add_argument("--no-index", action="store_true", help="run every rule on every event (for comparison)")
    p.add_argument("--rules-dir", type=Path, default=None,
                   help="folder of rules (default: [tool.detection] rules-dir, else rules/)")
    p.set_defaults(func=run)
    return p


def split_paths(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Rule paths and event paths, told apart by suffix (folders by what they hold)."""
    from detection.backtest import is_event_file
    from detection.loader import RULE_SUFFIXES

    rules, events, problems = [], [], []
    for path in paths:
        if path.is_file():
            if path.suffix in RULE_SUFFIXES:
                rules.append(path)
            elif is_event_file(path) or path.suffix == ".gz":
                events.append(path)
            else:
                problems.append(Diagnostic(Location(str(path), 0, 0), CODE_ARGUMENT,
                                           "neither a rule file nor an events file",
                                           hint="rules end with .yaml/.yml/.toml, events with .ndjson/.jsonl (+ .gz)"))
        elif path.is_dir():
            files = [p for p in path.rglob("*") if p.is_file()]
            has_events = any(is_event_file(p) for p in files)
            has_rules = any(p.suffix in RULE_SUFFIXES for p in files)
            if has_events and not has_rules:
                events.append(path)
            elif has_rules and not has_events:
                rules.append(path)
            else:
                what = "both rule files and event files" if has_events else "neither rule files nor event files"
                problems.append(Diagnostic(Location(str(path), 0, 0), CODE_ARGUMENT, f"this folder holds {what}",
                                           hint="name the rules folder and the events folder (or files) separately"))
        else:
            problems.append(Diagnostic(Location(str(path), 0, 0), "E203", "no such file or directory"))
    if problems:
        raise DetectionError(problems)
    if not events:
        raise DetectionError([Diagnostic(Location("<command line>", 0, 0), CODE_ARGUMENT, "no events given",
                                         hint="name .ndjson or .ndjson.gz files, or folders of them, after the rules")])
    return rules, events


class Progress:
    """One self-overwriting status line on a terminal; silent anywhere else."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.last = 0.0
        self.shown = False

    def __call__(self, done: int, total: int, lines: int, alerts: int) -> None:
        now = time.monotonic()
        if now - self.last < 0.2:
            return
        self.last = now
        percent = f"{100 * done / total:5.1f}%" if total else ""
        self.stream.write(f"\r{percent} {done / 1e6:,.1f}/{total / 1e6:,.1f} MB  {lines:,} lines  {alerts:,} alerts ")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\r" + " " * 72 + "\r")
            self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from detection.backtest import DEFAULT_MAX_COLLECTED, discover_event_files, prepare_backtest, run_backtest
    from detection.config import load_config
    from detection.loader import load_rules
    from detection.testing import load_fields

    if args.jobs is not None and args.jobs < 1:
        print("detection backtest: error: --jobs must be 1 or more", file=sys.stderr)
        return 2
    if args.max_collected is not None and args.max_collected < 0:
        print("detection backtest: error: --max-collected must be 0 or more", file=sys.stderr)
        return 2
    rule_args, event_args = split_paths(args.paths)
    config = load_config(rule_args[0].resolve() if rule_args else None, rules_dir=args.rules_dir)
    files = discover_event_files(event_args)
    if args.out is not None:  # a rerun must not read its own earlier output
        files = [f for f in files if f.resolve() != args.out.resolve()]
    loaded = load_rules(rule_args or [d for d in config.rules_dirs if Path(d).exists()])
    fields = load_fields(config)
    rules = loaded.rules
    if args.rule:
        rules = [r for r in rules if r.rule_id in args.rule or r.name in args.rule]
        known = {r.rule_id for r in loaded.rules} | {r.name for r in loaded.rules}
        unknown = [w for w in args.rule if w not in known]
        if unknown:
            print_diagnostics([Diagnostic(Location("--rule", 0, 0), CODE_NO_RULES, f"no rule has the rule_id or name {w!r}")
                               for w in unknown], "text", stream=sys.stderr)
            return 2
    plan = prepare_backtest(rules, fields, use_index=not args.no_index, use_prefilter=not args.no_prefilter)
    progress = Progress(sys.stderr) if sys.stderr.isatty() else None
    try:
        out = args.out.open("wb") if args.out else None
    except OSError as exc:
        print(f"{args.out}: cannot write: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        cap = DEFAULT_MAX_COLLECTED if args.max_collected is None else args.max_collected
        result = run_backtest(plan, files, jobs=args.jobs, out=out, progress=progress, max_collected=cap)
    finally:
        if out is not None:
            out.close()
        if progress is not None:
            progress.close()
    problems = list(loaded.diagnostics) + result.diagnostics
    if args.format == "json":
        import json

        data = result.to_json()
        data["diagnostics"] = [d.to_json() for d in problems]
        sys.stdout.write(json.dumps(data, indent=2) + "\n")
    else:
        sys.stdout.write(render_text(result))
        print_diagnostics(problems, "text", stream=sys.stderr)
    if not plan.rules and not problems:
        print("detection backtest: none of the selected rules can be backtested", file=sys.stderr)
        return 2
    return 2 if problems else 0


def render_text(result) -> str:
    size = f"{result.bytes_read / 1e6:,.1f} MB"
    lines = [f"Backtest of {len(result.counts)} rule(s) over {len(result.files)} file(s): {result.lines:,} lines "
             f"({size}), {result.decoded:,} decoded (prefilter: {result.prefilter}), "
             f"{result.seconds:.2f} s with {result.jobs} job(s)", ""]
    if result.counts:
        width = max(6, len(f"{max(c.alerts for c in result.counts):,}"))
        lines.append(f"{'alerts':>{width}}  rule")
        for count in sorted(result.counts, key=lambda c: (-c.alerts, c.rule.path)):
            lines.append(f"{count.alerts:>{width},}  {count.rule.name} ({count.rule.path})")
        lines.append("")
    replayed = [c for c in result.counts if c.schedule is not None]
    if replayed:
        lines.append(f"Replayed on their schedule ({len(replayed)} rule(s)):")
        for count in replayed:
            lines.append(f"  {count.rule.path}: {count.rule.name}: {describe_schedule(count.schedule)}")
        lines.append("")
    if result.skipped:
        lines.append(f"Not supported in backtest ({len(result.skipped)} rule(s)):")
        for skipped in result.skipped:
            reason = skipped.reason.removeprefix("not supported in backtest: ")
            lines.append(f"  {skipped.rule.path}: {skipped.rule.name}: {reason}")
        lines.append("")
    firing = sum(1 for c in result.counts if c.alerts)
    lines.append(f"{result.alerts:,} alert(s) from {firing} of {len(result.counts)} rule(s).")
    return "\n".join(lines) + "\n"


def describe_schedule(info) -> str:
    """One line on a replayed rule: its runs, the events it kept, what was counted once."""
    if info.refused:
        return f"{info.kind}, refused: {info.collected:,} events to hold (see the error)"
    text = f"{info.kind} every {info.interval}, {info.collected:,} event(s) kept ({info.collects})"
    if info.runs:
        text += f", {info.runs:,} run(s) {info.first_run} .. {info.last_run}"
    if info.repeats:
        text += f", {info.repeats:,} repeated alert(s) counted once"
    if info.untimed:
        text += f"; {info.untimed:,} event(s) without a readable timestamp, seen by no run"
    if info.partial_history:
        text += f"; {info.partial_history:,} alert(s) from runs whose history window starts before the first event"
    return text
