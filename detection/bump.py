"""Raise versions and record history entries for rules whose content changed.

``plan_bump`` decides what one rule needs (pure: no I/O besides asking ``source`` for the previous
content); ``bump_rules`` turns the plans into in-place edits through ``detection.rewrite``.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from detection.atomic_write import write_atomic, write_failure
from detection.baseline import Baseline, find_version_content
from detection.content_hash import content_hash
from detection.diagnostics import DetectionError, Diagnostic
from detection.gate import CODE_VERSION_DOWN, CODE_VERSION_JUMP
from detection.history import (
    changed_fields,
    classify_change,
    describe_change,
    rebuild_versions,
    reverse_delta,
)
from detection.model import HistoryEntry, RuleFile
from detection.rewrite import Edit, InsertItem, SetValue, edit_text

CODE_NO_PREVIOUS = "G121"


class PreviousSource(Protocol):
    """Where the content of the last recorded version comes from."""

    label: str

    def previous(self, rule: RuleFile, wanted_hash: str | None) -> RuleFile | None:
        """The rule as it was when its content hashed to ``wanted_hash`` (any base version when
        None), or None when unknown."""

    def unreleased(self, rule: RuleFile, version: int) -> RuleFile | bool:
        """Whether ``version`` of the rule is not yet at the base: False when it is there or when
        nobody knows; else the rule as it is at the base, or True when the base has no such rule."""


class NoPrevious:
    """No git: only the recorded history is known."""

    label = "the recorded history"

    def previous(self, rule: RuleFile, wanted_hash: str | None) -> RuleFile | None:
        return None

    def unreleased(self, rule: RuleFile, version: int) -> RuleFile | bool:
        return False  # without a base, every recorded version counts as released


@dataclass
class GitPrevious:
    """Previous content from git: the rule at the base ref, or else the newest commit of its file
    whose content hashes to the recorded hash."""

    baseline: Baseline

    @property
    def label(self) -> str:
        return self.baseline.ref

    def previous(self, rule: RuleFile, wanted_hash: str | None) -> RuleFile | None:
        before = self.baseline.rules.get(rule.rule_id)
        if before is not None and (wanted_hash is None or content_hash(before.rule) == wanted_hash):
            return before
        if wanted_hash is None:
            return None
        repo = self.baseline.repo
        try:
            path = self.baseline.paths.get(rule.rule_id) or repo.relative(rule.path)
        except ValueError:
            return None
        return find_version_content(repo, self.baseline.commit, path, wanted_hash)

    def unreleased(self, rule: RuleFile, version: int) -> RuleFile | bool:
        before = self.baseline.rules.get(rule.rule_id)
        if before is None:
            return True
        if before.version is not None and before.version < version:
            return before
        return False


@dataclass
class BumpOutcome:
    """What bump did (or would do) to one rule."""

    rule: RuleFile
    old_version: int | None
    new_version: int | None = None
    added: list[HistoryEntry] = field(default_factory=list)  # newest first
    filled: list[int] = field(default_factory=list)  # versions whose missing hash was filled in
    edits: list[Edit] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    new_text: str | None = None
    reworked: bool = False  # the newest, unreleased version was re-recorded in place

    @property
    def changed(self) -> bool:
        return bool(self.edits) and not self.diagnostics


def today_for(rule: RuleFile, day: _dt.date | None = None) -> str:
    """Today's date in the rule's own date style (``2024/06/14`` or ``2024-06-14``)."""
    day = day or _dt.date.today()
    sample = str(rule.metadata.get("updated_date") or rule.metadata.get("creation_date") or "")
    sep = "-" if "-" in sample else "/"
    return day.strftime(f"%Y{sep}%m{sep}%d")


def plan_bump(rule: RuleFile, source: PreviousSource, today: str, stack: str | None = None,
              summary: str | None = None) -> BumpOutcome:
    """The history entries, version and hash fills ``rule`` needs, as edits."""
    out = BumpOutcome(rule=rule, old_version=rule.version)
    history = list(rule.history)
    current = content_hash(rule.rule)
    where = rule.location(("rule", "version"))
    added: list[HistoryEntry] = []

    if not history:
        before = source.previous(rule, None)
        if before is not None and before.version is not None and content_hash(before.rule) != current:
            # The base version was never recorded: record it, then this change on top of it.
            start = before.version
            if rule.version is not None and rule.version not in (start, start + 1):
                out.diagnostics.append(Diagnostic(where, CODE_VERSION_JUMP, f"version {rule.version} is not {start} "
                                                  f"or {start + 1} (the version at {source.label} is {start})",
                                                  hint=f"set rule.version to {start} and run bump again"))
                return out
            added = [_change_entry(before, rule, start + 1, today, stack, summary),
                     HistoryEntry(version=start, date=_date_of(before, today), kind="created",
                                  summary=f"Created (recorded from {source.label}).", hash=content_hash(before.rule))]
        else:
            added = [HistoryEntry(version=rule.version or 1, date=today, stack=stack, kind="created",
                                  summary=summary or "Created.", hash=current)]
    else:
        newest = history[0]
        version = rule.version if rule.version is not None else newest.version
        if version < newest.version:
            out.diagnostics.append(Diagnostic(where, CODE_VERSION_DOWN, f"version {version} is lower than the newest "
                                              f"recorded version {newest.version}",
                                              hint=f"set rule.version back to {newest.version}, then run bump again"))
            return out
        if version > newest.version + 1:
            out.diagnostics.append(Diagnostic(where, CODE_VERSION_JUMP, f"version {version} jumped past "
                                              f"{newest.version + 1} (newest recorded: {newest.version})",
                                              hint=f"set rule.version to {newest.version}, then run bump again"))
            return out
        recorded = version == newest.version and newest.hash in (None, current)
        if recorded and newest.hash is None:
            # An entry written by hand (or before hashes): trust it unless git shows this very
            # version with other content.
            before = source.previous(rule, None)
            recorded = not (before is not None and before.version == version and content_hash(before.rule) != current)
        base = source.unreleased(rule, newest.version) if not recorded and newest.hash else False
        if base is not False:
            # The newest version has not reached the base yet (a pull request edited again): it is
            # reworked in place instead of adding another version for the same release.
            if base is True or newest.kind == "created":
                out.edits.append(SetValue(("history", 0, "hash"), current))
                history[0] = replace(newest, hash=current)
            else:
                redo = _change_entry(base, rule, newest.version, newest.date, newest.stack, None)
                summary_text = newest.summary if redo.kind == newest.kind else redo.summary
                for key, value in (("kind", redo.kind), ("summary", summary_text), ("changed", list(redo.changed)),
                                   ("previous", dict(redo.previous)), ("hash", redo.hash)):
                    out.edits.append(SetValue(("history", 0, key), value))
                history[0] = replace(newest, kind=redo.kind, changed=redo.changed, previous=redo.previous,
                                     hash=current)
            out.reworked = True
            out.edits.insert(0, SetValue(("metadata", "updated_date"), today, after="creation_date"))
        elif not recorded:
            if newest.hash == current:  # the version was raised by hand, the content is the same
                added = [HistoryEntry(version=newest.version + 1, date=today, stack=stack, kind="formatting",
                                      summary=summary or describe_change("formatting", []), hash=current)]
            else:
                before = source.previous(rule, newest.hash)
                if before is None:
                    out.diagnostics.append(_no_previous(rule, newest, source))
                    return out
                added = [_change_entry(before, rule, newest.version + 1, today, stack, summary)]

    if rule.maturity == "deprecated" and (added or history)[0].kind != "deprecated":
        reason = str(rule.metadata.get("deprecated_reason") or "").strip()
        text = summary or (f"Deprecated: {reason}" if reason else "Deprecated.")
        if added and added[0].kind != "created":
            added[0] = replace(added[0], kind="deprecated", summary=text)
        else:
            top_version = (added or history)[0].version
            added.insert(0, HistoryEntry(version=top_version + 1, date=today, stack=stack, kind="deprecated",
                                         summary=text, hash=current))

    full = added + history
    states = rebuild_versions(rule.rule, full)
    for i, state in enumerate(states[len(added):], start=0):
        if state.entry.hash is None:
            out.filled.append(state.version)
            out.edits.append(SetValue(("history", i, "hash"), state.hash))
    out.added = added
    out.new_version = full[0].version if full else rule.version
    if out.new_version != rule.version:
        out.edits.insert(0, SetValue(("rule", "version"), out.new_version))
    if added:
        meta = [SetValue(("metadata", "updated_date"), today, after="creation_date")]
        if rule.maturity == "deprecated" and not rule.metadata.get("deprecation_date"):
            meta.append(SetValue(("metadata", "deprecation_date"), today, after="updated_date"))
        inserts = [InsertItem(("history",), i, entry.to_dict()) for i, entry in enumerate(added)]
        # hash fills index existing entries, so they go before the inserts shift them
        out.edits = meta + out.edits + inserts
    return out


def _change_entry(before: RuleFile, rule: RuleFile, version: int, today: str, stack: str | None,
                  summary: str | None) -> HistoryEntry:
    changed = changed_fields(before.rule, rule.rule)
    kind = classify_change(before.rule, rule.rule, changed)
    return HistoryEntry(version=version, date=today, stack=stack, kind=kind,
                        summary=summary or describe_change(kind, changed), changed=tuple(changed),
                        previous=reverse_delta(before.rule, changed), hash=content_hash(rule.rule))


def _date_of(rule: RuleFile, default: str) -> str:
    return str(rule.metadata.get("updated_date") or rule.metadata.get("creation_date") or default)


def _no_previous(rule: RuleFile, newest: HistoryEntry, source: PreviousSource) -> Diagnostic:
    if isinstance(source, NoPrevious):
        hint = ("run bump inside the git checkout (it reads the old values from git), or record the change by "
                f"hand: set version {newest.version + 1}, add a history entry with `changed` and `previous`, "
                "and run bump again to fill in its hash")
    else:
        hint = (f"pass --base with a commit where version {newest.version} is committed unchanged, or record "
                "the change by hand and run bump again to fill in its hash")
    return Diagnostic(rule.location(("history", 0, "hash")), CODE_NO_PREVIOUS,
                      f"the content changed, but version {newest.version} as recorded was not found in "
                      f"{source.label}, so the previous values are unknown", hint=hint)


def bump_rules(rules: Sequence[RuleFile], source: PreviousSource, day: _dt.date | None = None,
               stack: str | None = None, summary: str | None = None, write: bool = True) -> list[BumpOutcome]:
    """Plan and apply bumps for ``rules``; with ``write`` false nothing is written (a dry run)."""
    outcomes = []
    for rule in rules:
        outcome = plan_bump(rule, source, today_for(rule, day), stack, summary)
        if outcome.edits and not outcome.diagnostics:
            try:
                outcome.new_text = edit_text(rule.text, rule.fmt, outcome.edits, rule.display_path)
            except DetectionError as exc:
                outcome.diagnostics.extend(exc.diagnostics)
            else:
                if write and outcome.new_text != rule.text:
                    try:
                        write_atomic(rule.path, outcome.new_text)
                    except OSError as exc:  # the file keeps its old text; the other rules go on
                        outcome.diagnostics.append(write_failure(rule.display_path, exc))
        outcomes.append(outcome)
    return outcomes
