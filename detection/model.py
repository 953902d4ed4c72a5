"""The rule model: plain dataclasses, no I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.diagnostics import Location
from detection.sourcemap import SourceMap

RULE_TYPES = ("query", "eql", "threshold", "new_terms", "threat_match", "machine_learning", "esql", "saved_query")
DEFAULT_LANGUAGE = {"query": "kuery", "saved_query": "kuery", "threshold": "kuery", "new_terms": "kuery",
                    "threat_match": "kuery", "eql": "eql", "esql": "esql"}


@dataclass(frozen=True)
class HistoryEntry:
    """One published version of a rule; ``previous`` is the reverse delta to the version before."""

    version: int
    date: str
    kind: str
    summary: str
    stack: str | None = None
    changed: tuple[str, ...] = ()
    previous: Mapping[str, Any] = field(default_factory=dict)
    hash: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HistoryEntry:
        return cls(
            version=int(data["version"]),
            date=str(data["date"]),
            kind=str(data["kind"]),
            summary=str(data.get("summary", "")),
            stack=data.get("stack"),
            changed=tuple(data.get("changed", ()) or ()),
            previous=dict(data.get("previous", {}) or {}),
            hash=data.get("hash"),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "date": self.date}
        if self.stack:
            out["stack"] = self.stack
        out["kind"] = self.kind
        out["summary"] = self.summary
        if self.changed:
            out["changed"] = list(self.changed)
        if self.previous:
            out["previous"] = dict(self.previous)
        if self.hash:
            out["hash"] = self.hash
        return out


@dataclass
class RuleFile:
    """A loaded rule file: its Kibana rule, repository metadata, history and source positions."""

    path: Path
    display_path: str
    fmt: str  # "yaml" or "toml"
    text: str
    document: dict[str, Any]
    source: SourceMap
    metadata: dict[str, Any]
    rule: dict[str, Any]
    history: list[HistoryEntry]
    # Problems that do not stop the rule from loading (see loader.soften_for_deprecated).
    warnings: list = field(default_factory=list)

    @property
    def rule_id(self) -> str:
        return str(self.rule.get("rule_id", ""))

    @property
    def name(self) -> str:
        return str(self.rule.get("name", ""))

    @property
    def type(self) -> str:
        return str(self.rule.get("type", ""))

    @property
    def language(self) -> str | None:
        return self.rule.get("language") or DEFAULT_LANGUAGE.get(self.type)

    @property
    def query(self) -> str | None:
        return self.rule.get("query")

    @property
    def version(self) -> int | None:
        return self.rule.get("version")

    @property
    def index(self) -> list[str]:
        return list(self.rule.get("index") or [])

    @property
    def maturity(self) -> str:
        return str(self.metadata.get("maturity", "production"))

    def location(self, path: tuple = (), key: bool = False) -> Location:
        """Location of a value (or of its key) by document path, e.g. ("rule", "query")."""
        line, col = self.source.key(path) if key else self.source.value(path)
        return Location(self.display_path, line, col)


def normalise_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    """The Kibana form of a rule table: elastic/detection-rules' TOML-only shapes flattened."""
    out = dict(rule)
    new_terms = out.pop("new_terms", None)
    if isinstance(new_terms, Mapping):
        out.setdefault("new_terms_fields", list(new_terms.get("value", [])))
        windows = new_terms.get("history_window_start") or []
        if windows and isinstance(windows, list) and isinstance(windows[0], Mapping):
            out.setdefault("history_window_start", windows[0].get("value"))
    out.pop("threat_mappings", None)
    return out


# Where normalise_rule's flat keys were written in an elastic/detection-rules TOML file.
_FLATTENED_FROM = {
    ("rule", "new_terms_fields"): ("rule", "new_terms", "value"),
    ("rule", "history_window_start"): ("rule", "new_terms", "history_window_start", 0, "value"),
}


def normalised_source(rule: Mapping[str, Any], source: SourceMap) -> SourceMap:
    """``source`` with positions for the keys normalise_rule flattens, so a finding on
    ``new_terms_fields`` points at the ``[rule.new_terms]`` value rather than at ``[rule]``."""
    if not isinstance(rule.get("new_terms"), Mapping):
        return source
    values, keys = dict(source.values), dict(source.keys)
    for flat, nested in _FLATTENED_FROM.items():
        for table in (values, keys):
            for path, position in list(table.items()):
                if path[:len(nested)] == nested:
                    table.setdefault(flat + path[len(nested):], position)
    return SourceMap(values, keys)


@dataclass(frozen=True)
class Project:
    """The rules of a repository after loading: what every feature reads."""

    root: Path
    rules: tuple[RuleFile, ...]

    def by_id(self) -> dict[str, RuleFile]:
        return {r.rule_id: r for r in self.rules}
