"""A "Rules" section for CHANGELOG.md: rules added, updated (with what changed) and deprecated
since a git ref, read from the rules and their recorded history."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from detection.baseline import Baseline
from detection.content_hash import content_hash
from detection.history import describe_change
from detection.model import HistoryEntry, RuleFile

ADDED, UPDATED, DEPRECATED, REMOVED = "added", "updated", "deprecated", "removed"
_HEADINGS = ((ADDED, "Added"), (UPDATED, "Updated"), (DEPRECATED, "Deprecated"), (REMOVED, "Removed"))


@dataclass(frozen=True)
class RuleChange:
    kind: str
    rule_id: str
    name: str
    path: str
    old_version: int | None
    new_version: int | None
    entries: tuple[HistoryEntry, ...] = ()  # the history entries made since the base, newest first
    note: str = ""

    def to_json(self) -> dict:
        return {"kind": self.kind, "rule_id": self.rule_id, "name": self.name, "path": self.path,
                "old_version": self.old_version, "new_version": self.new_version, "note": self.note,
                "entries": [e.to_dict() for e in self.entries]}


@dataclass
class RulesChangelog:
    since: str
    changes: list[RuleChange] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[RuleChange]:
        return [c for c in self.changes if c.kind == kind]


def rule_changes(rules: Sequence[RuleFile], baseline: Baseline) -> RulesChangelog:
    """Compare the current rules with the rules at the baseline's ref."""
    log = RulesChangelog(since=baseline.ref)
    current = {r.rule_id: r for r in rules}
    for rule in sorted(rules, key=lambda r: r.name.lower()):
        before = baseline.rules.get(rule.rule_id)
        if before is None:
            log.changes.append(RuleChange(ADDED, rule.rule_id, rule.name, rule.display_path, None, rule.version,
                                          tuple(rule.history[:1])))
            continue
        newer = tuple(e for e in rule.history if before.version is None or e.version > before.version)
        if rule.maturity == "deprecated" and before.maturity != "deprecated":
            reason = str(rule.metadata.get("deprecated_reason") or "").strip()
            log.changes.append(RuleChange(DEPRECATED, rule.rule_id, rule.name, rule.display_path, before.version,
                                          rule.version, newer, reason))
        elif rule.version != before.version or content_hash(rule.rule) != content_hash(before.rule):
            note = "" if newer else "changed without a recorded version (run `detection bump`)"
            log.changes.append(RuleChange(UPDATED, rule.rule_id, rule.name, rule.display_path, before.version,
                                          rule.version, newer, note))
    for rule_id, before in sorted(baseline.rules.items(), key=lambda kv: kv[1].name.lower()):
        if rule_id not in current:
            log.changes.append(RuleChange(REMOVED, rule_id, before.name, baseline.paths[rule_id], before.version,
                                          None, note="deleted; Kibana keeps the installed copy"))
    return log


def render_markdown(log: RulesChangelog, heading_level: int = 3) -> str:
    """Markdown ready to paste under a release heading of a Keep a Changelog file."""
    h = "#" * heading_level
    lines = [f"{h} Rules", ""]
    if not log.changes:
        lines += [f"No rule changes since {log.since}.", ""]
        return "\n".join(lines)
    for kind, title in _HEADINGS:
        changes = log.of_kind(kind)
        if not changes:
            continue
        lines += [f"{h}# {title}", ""]
        for change in changes:
            lines.extend(_bullet(change))
        lines.append("")
    return "\n".join(lines)


def _bullet(change: RuleChange) -> list[str]:
    name = f"**{_escape(change.name)}**"
    if change.kind == ADDED:
        return [f"- {name} (version {change.new_version}, `{change.path}`)"]
    if change.kind == REMOVED:
        return [f"- {name} (was version {change.old_version}): {change.note}"]
    versions = f"version {change.old_version} → {change.new_version}"
    head = f"- {name} ({versions})"
    if change.kind == DEPRECATED:
        head += f": {_escape(change.note)}" if change.note else ""
    elif change.note:
        head += f": {change.note}"
    out = [head]
    for entry in change.entries:
        what = _what_changed(entry)
        # The summary `detection bump` writes by default says what `what` says already.
        summary = entry.summary if entry.summary and entry.summary != describe_change(entry.kind, entry.changed) else ""
        out.append(f"  - {entry.version}: {what}" + (f" {_escape(summary)}" if summary else ""))
    return out


def _what_changed(entry: HistoryEntry) -> str:
    if entry.kind == "query":
        return "query changed" + (f" (also {', '.join(c for c in entry.changed if c != 'query')})."
                                  if len(entry.changed) > 1 else ".")
    if entry.kind == "formatting":
        return "formatting only."
    if entry.kind == "deprecated":
        return "deprecated."
    if entry.kind == "created":
        return "created."
    return f"changed {', '.join(entry.changed)}." if entry.changed else "changed."


def _escape(text: str) -> str:
    """Keep a name or summary on one Markdown line."""
    return " ".join(str(text).split())
