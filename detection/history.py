"""A rule's version history: rebuild earlier versions from reverse deltas, describe new changes.

History entries are newest first. The newest describes the rule as it is in the file; each entry's
``previous`` holds the values its changed fields had in the version before it, so applying the
entries' deltas one after another walks back through every recorded version. A field listed in
``changed`` with no value in ``previous`` (or a null one) did not exist in the earlier version;
TOML has no null, so there the name in ``changed`` alone says it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from detection.content_hash import canonical_payload, content_hash
from detection.model import DEFAULT_LANGUAGE, HistoryEntry, normalise_rule
from detection.query_compare import queries_equivalent, text_equivalent

KINDS = ("created", "query", "fields", "formatting", "deprecated")
# Changing any of these changes what the query means even if its text stays the same.
_QUERY_CONTEXT = ("type", "language")


@dataclass(frozen=True)
class VersionState:
    """One recorded version rebuilt from the current rule: its Kibana rule and its hash."""

    entry: HistoryEntry
    rule: dict[str, Any]
    hash: str

    @property
    def version(self) -> int:
        return self.entry.version

    @property
    def verified(self) -> bool | None:
        """True/False when the entry records a hash, None when it records none."""
        if not self.entry.hash:
            return None
        return self.entry.hash == self.hash


def delta_fields(entry: HistoryEntry) -> list[str]:
    """The fields an entry's reverse delta touches: its ``changed`` names and ``previous`` keys."""
    names = list(entry.changed)
    names.extend(k for k in entry.previous if k not in names)
    return names


def apply_previous(rule: Mapping[str, Any], entry: HistoryEntry) -> dict[str, Any]:
    """The rule as it was before ``entry``: its changed fields set back (or removed)."""
    out = dict(rule)
    for name in delta_fields(entry):
        value = entry.previous.get(name)
        if value is None:
            out.pop(name, None)
        else:
            out[name] = copy.deepcopy(value)
    return out


def rebuild_versions(rule: Mapping[str, Any], history: Sequence[HistoryEntry]) -> list[VersionState]:
    """Every recorded version, newest first, rebuilt from ``rule`` (the current content)."""
    content = {k: v for k, v in normalise_rule(rule).items() if k != "version"}
    states: list[VersionState] = []
    for entry in history:
        at_version = dict(content, version=entry.version)
        states.append(VersionState(entry, at_version, content_hash(at_version)))
        content = apply_previous(content, entry)
    return states


def rebuild_version(rule: Mapping[str, Any], history: Sequence[HistoryEntry], version: int) -> VersionState:
    """One recorded version; ``LookupError`` names the recorded versions when it is not among them."""
    for state in rebuild_versions(rule, history):
        if state.version == version:
            return state
    recorded = ", ".join(str(h.version) for h in history) or "none"
    raise LookupError(f"version {version} is not in the history (recorded: {recorded})")


def changed_fields(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Names of the rule fields whose canonical values differ (added and removed ones too), sorted."""
    a, b = canonical_payload(old), canonical_payload(new)
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


def reverse_delta(old: Mapping[str, Any], changed: Sequence[str]) -> dict[str, Any]:
    """The old values of the changed fields, None for the ones the old rule did not have."""
    flat = normalise_rule(old)
    return {name: copy.deepcopy(flat.get(name)) for name in changed}


def classify_change(old: Mapping[str, Any], new: Mapping[str, Any], changed: Sequence[str]) -> str:
    """``query`` when the query's meaning changed, ``formatting`` when nothing but layout did,
    ``fields`` otherwise."""
    old_flat, new_flat = normalise_rule(old), normalise_rule(new)
    if any(name in changed for name in _QUERY_CONTEXT):
        return "query"
    if "query" in changed:
        language = new_flat.get("language") or DEFAULT_LANGUAGE.get(str(new_flat.get("type", "")))
        if not queries_equivalent(language, old_flat.get("query"), new_flat.get("query")):
            return "query"
    if all(name == "query" or text_equivalent(old_flat.get(name), new_flat.get(name)) for name in changed):
        return "formatting"
    return "fields"


def describe_change(kind: str, changed: Sequence[str]) -> str:
    """A default one-line summary for an entry (authors can pass their own)."""
    fields = ", ".join(changed)
    if kind == "created":
        return "Created."
    if kind == "query":
        others = [c for c in changed if c != "query"]
        return "Query changed" + (f"; also changed {', '.join(others)}." if others else ".")
    if kind == "formatting":
        return f"Formatting only ({fields})." if changed else "Version raised without a content change."
    if kind == "deprecated":
        return "Deprecated" + (f"; also changed {fields}." if changed else ".")
    return f"Changed {fields}."

