"""Find one rule from what a user typed: a file path, a rule_id or a rule name."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.loader import display, load_rule_file, load_rules
from detection.model import RuleFile

CODE_UNKNOWN_RULE = "G140"


def find_rule(wanted: str, rules_dirs: Sequence[Path]) -> RuleFile:
    """The rule in file ``wanted``, or the rule whose rule_id or name (any case) is ``wanted``."""
    if Path(wanted).is_file():
        return load_rule_file(wanted)
    loaded = load_rules([d for d in rules_dirs if Path(d).exists()])
    for rule in loaded.rules:
        if wanted in (rule.rule_id, rule.name) or wanted.casefold() == rule.name.casefold():
            return rule
    names = [r.name for r in loaded.rules]
    close = difflib.get_close_matches(wanted, names, n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else "give the rule file's path, its rule_id or its exact name"
    absent = [display(Path(d)) for d in rules_dirs if not Path(d).exists()]
    if absent and not loaded.rules:  # the likelier cause: the rules folder itself is wrong
        hint = f"the rules folder {', '.join(absent)} does not exist; check --rules-dir or [tool.detection] rules-dir"
    raise DetectionError([Diagnostic(Location(wanted, 0, 0), CODE_UNKNOWN_RULE,
                                     "no rule file, rule_id or rule name matches this", hint=hint)])
