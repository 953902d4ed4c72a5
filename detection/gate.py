"""Release gates on rule versions: every failure says what to run.

Without a base ref the gates read the recorded history alone (the newest entry's hash must match
the rule, the version must match the newest entry, every older version must rebuild to its hash).
With a base ref they also compare each rule with the same rule_id at that ref.
"""

from __future__ import annotations

from collections.abc import Sequence

from detection.baseline import Baseline
from detection.content_hash import content_hash
from detection.diagnostics import Diagnostic, Location, sort_diagnostics
from detection.history import rebuild_versions
from detection.model import RuleFile

CODE_NOT_BUMPED = "G101"
CODE_VERSION_DOWN = "G102"
CODE_VERSION_JUMP = "G103"
CODE_HASH_MISMATCH = "G104"
CODE_DELETED = "G105"
CODE_NO_HASH = "G106"
CODE_HISTORY_ORDER = "G107"
CODE_UNRECORDED_VERSION = "G108"
CODE_NO_HISTORY = "G109"
CODE_DEPRECATION_UNRECORDED = "G110"
CODE_NO_VERSION = "G111"

GATE_CODES = {
    CODE_NOT_BUMPED: "content changed but the version was not raised",
    CODE_VERSION_DOWN: "version went down",
    CODE_VERSION_JUMP: "version jumped by more than one",
    CODE_HASH_MISMATCH: "a recorded version does not rebuild to its hash",
    CODE_DELETED: "rule deleted instead of deprecated",
    CODE_NO_HASH: "history entry without a content hash",
    CODE_HISTORY_ORDER: "history not newest first, or a version twice",
    CODE_UNRECORDED_VERSION: "version raised without a history entry",
    CODE_NO_HISTORY: "rule without history",
    CODE_DEPRECATION_UNRECORDED: "deprecated rule without a deprecated history entry",
    CODE_NO_VERSION: "rule without a version",
}


def bump_command(rule: RuleFile, base_ref: str | None) -> str:
    """The command that fixes a version finding for ``rule``."""
    return f"detection bump {rule.display_path}" + (f" --base {base_ref}" if base_ref else "")


def history_diagnostics(rule: RuleFile, base_ref: str | None = None) -> list[Diagnostic]:
    """Gates that need nothing but the file: version vs history, and the hash chain."""
    fix = f"run `{bump_command(rule, base_ref)}`"
    where_version = rule.location(("rule", "version"))
    if rule.version is None:
        return [Diagnostic(rule.location(("rule",), key=True), CODE_NO_VERSION, "the rule has no version",
                           hint=f"{fix}: it sets the version and records it in the history")]
    history = rule.history
    if not history:
        return [Diagnostic(where_version, CODE_NO_HISTORY, f"version {rule.version} is not recorded in a history",
                           hint=f"{fix}: it records this version with its content hash")]
    out: list[Diagnostic] = []
    for i in range(1, len(history)):
        if history[i].version >= history[i - 1].version:
            out.append(Diagnostic(rule.location(("history", i, "version")), CODE_HISTORY_ORDER,
                                  f"history entry for version {history[i].version} comes after version "
                                  f"{history[i - 1].version}; entries go newest first, one per version",
                                  hint="order the history by version, newest first, and merge duplicates"))
    if out:
        return out  # rebuilding a disordered chain would only add noise
    newest = history[0]
    if rule.version < newest.version:
        return [Diagnostic(where_version, CODE_VERSION_DOWN,
                           f"version {rule.version} is lower than the newest recorded version {newest.version}",
                           hint=f"set rule.version back to {newest.version} (Kibana ignores a lower version), then {fix}")]
    if rule.version > newest.version + 1:
        return [Diagnostic(where_version, CODE_VERSION_JUMP,
                           f"version jumped from {newest.version} (newest in the history) to {rule.version}",
                           hint=f"a change raises the version by one: set it to {newest.version}, then {fix}")]
    states = rebuild_versions(rule.rule, history)
    if rule.version == newest.version + 1:
        out.append(Diagnostic(where_version, CODE_UNRECORDED_VERSION,
                              f"version {rule.version} has no history entry (newest is {newest.version})",
                              hint=f"{fix}: it adds the entry with the previous values"))
        return out
    if states[0].verified is False:
        return [Diagnostic(where_version, CODE_NOT_BUMPED,
                           f"the rule's content changed since version {newest.version} was recorded, "
                           "but the version was not raised",
                           hint=f"{fix}: it raises the version and records what changed")]
    for i, state in enumerate(states):
        if state.verified is None:
            out.append(Diagnostic(rule.location(("history", i, "version")), CODE_NO_HASH,
                                  f"history entry for version {state.version} has no content hash, so it cannot be verified",
                                  hint=f"{fix}: it fills in the hash of each recorded version"))
        elif state.verified is False:
            out.append(Diagnostic(rule.location(("history", i, "hash")), CODE_HASH_MISMATCH,
                                  f"version {state.version} rebuilt from the history hashes to {state.hash}, "
                                  f"but the entry records {state.entry.hash}",
                                  hint="the `previous` values of the newer entries do not lead back to this version: "
                                       "correct them (git log -p on this file shows the old values)"))
    if rule.maturity == "deprecated" and newest.kind != "deprecated":
        out.append(Diagnostic(rule.location(("metadata", "maturity")), CODE_DEPRECATION_UNRECORDED,
                              "the rule is deprecated but its newest history entry is not a deprecation",
                              hint=f"{fix}: it records the deprecation as a new version"))
    return out


def base_diagnostics(rule: RuleFile, before: RuleFile, base_ref: str) -> list[Diagnostic]:
    """Gates comparing ``rule`` with the same rule at the base ref."""
    old, new = before.version, rule.version
    if old is None or new is None:
        return []
    where = rule.location(("rule", "version"))
    fix = f"run `{bump_command(rule, base_ref)}`"
    if new < old:
        return [Diagnostic(where, CODE_VERSION_DOWN, f"version went down from {old} at {base_ref} to {new}",
                           hint=f"versions only grow (Kibana ignores a lower one): set it back to {old}, then {fix}")]
    if new > old + 1:
        return [Diagnostic(where, CODE_VERSION_JUMP, f"version jumped from {old} at {base_ref} to {new}",
                           hint=f"one change, one version: set it to {old + 1} (or back to {old} and {fix})")]
    if new == old and content_hash(rule.rule) != content_hash(before.rule):
        return [Diagnostic(where, CODE_NOT_BUMPED,
                           f"the rule changed since {base_ref} but its version is still {old}; the version must be bumped",
                           hint=f"{fix}: it raises the version to {old + 1} and records the previous values")]
    return []


def deleted_diagnostics(rules: Sequence[RuleFile], baseline: Baseline) -> list[Diagnostic]:
    """Rules present at the base whose rule_id is gone and whose file is gone too."""
    present = {r.rule_id for r in rules}
    out = []
    for rule_id, before in sorted(baseline.rules.items()):
        if rule_id in present:
            continue
        path = baseline.paths[rule_id]
        if (baseline.repo.root / path).exists():
            continue  # the file is still there but did not load: that is the validate stage's finding
        out.append(Diagnostic(
            Location(path, 0, 0), CODE_DELETED,
            f"rule {before.name!r} ({rule_id}) was deleted since {baseline.ref}; deprecate it instead",
            hint=f"restore it (git checkout {baseline.ref} -- {path}), set metadata.maturity: deprecated with "
                 f"deprecation_date and deprecated_reason, then run `detection bump {path}`"))
    return out


def gate_diagnostics(rules: Sequence[RuleFile], baseline: Baseline | None = None) -> list[Diagnostic]:
    """Every version gate for ``rules``; with a baseline, the comparisons with it as well.

    One finding per code and rule: when the base and the history tell the same story, the
    comparison with the base (the more specific one) is kept.
    """
    base_ref = baseline.ref if baseline else None
    out: list[Diagnostic] = []
    for rule in rules:
        found = base_diagnostics(rule, baseline.rules[rule.rule_id], baseline.ref) \
            if baseline and rule.rule_id in baseline.rules else []
        codes = {d.code for d in found}
        found.extend(d for d in history_diagnostics(rule, base_ref) if d.code not in codes)
        out.extend(found)
    if baseline:
        out.extend(deleted_diagnostics(rules, baseline))
    return sort_diagnostics(out)
