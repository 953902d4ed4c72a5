"""Markdown reference docs: a page per rule, an index, and the ATT&CK coverage views.

A rule page shows what Elastic's prebuilt-rule reference shows (rule type, indices, severity, risk
score, schedule, references, tags, version, added and last modified, authors, licence, false
positives, investigation guide, setup, query, threat mapping) and a "Rule version history" built
from the rule's ``history``. Each history entry's ``previous`` values are a reverse delta, so the
rule at every version is rebuilt and the entry says what really changed:

* "Updated query, changed from:" and the old query, only when the query's meaning changed
  (parse trees compared by ``detection.query_compare`` when available, else tokens with the
  whitespace between them ignored);
* "Formatting only" for layout changes, including a query that changed only in whitespace
  (which Elastic's docs published as "Updated query");
* otherwise "Changed:" and the fields, with the entry's summary.

Output is deterministic: the same rules give the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detection.atomic_write import write_atomic
from detection.history import delta_fields, rebuild_versions
from detection.model import RuleFile
from detection.navigator import Coverage, coverage, layer_json, navigator_layer, rule_tactics
from detection.query_compare import queries_equivalent

INDEX_PAGE = "index.md"
COVERAGE_PAGE = "attack-coverage.md"
LAYER_FILE = "attack-navigator-layer.json"
DEFAULTS = {"interval": "5m", "from": "now-6m", "max_signals": 100}
_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
_CODE_LANGUAGE = {"kuery": "kql", "lucene": "lucene", "eql": "eql", "esql": "esql"}


# -- version history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class VersionNote:
    """What one history entry means for a reader."""

    version: int
    heading: str
    change: str  # "added", "query", "formatting", "fields", "deprecated"
    text: str
    old_query: str | None = None
    detail: str | None = None


def _beyond_formatting_only(summary: str | None) -> str | None:
    """What a formatting entry's summary adds to the words "Formatting only", if anything."""
    if not summary:
        return None
    if summary.lower().startswith("formatting only"):
        rest = summary[len("formatting only"):].strip(" .:;-()")
        return rest[:1].upper() + rest[1:] + "." if rest else None
    return summary


def _release(stack: str | None, date: str | None) -> str:
    parts = [f"{stack} release" if stack else None, date]
    return ", ".join(p for p in parts if p)


def version_notes(rule: RuleFile) -> list[VersionNote]:
    """The rule's history, newest first, each entry classified against the rebuilt versions."""
    notes: list[VersionNote] = []
    for state in rebuild_versions(rule.rule, rule.history):
        entry, current = state.entry, state.rule
        previous = dict(entry.previous)
        changed = delta_fields(entry)
        language = current.get("language") or rule.language
        heading = f"Version {entry.version}"
        when = _release(entry.stack, entry.date)
        if when:
            heading += f" ({when})"
        summary = entry.summary.strip() or None
        if entry.kind == "created":
            note = VersionNote(entry.version, heading, "added", "Added", detail=summary)
        elif entry.kind == "deprecated":
            note = VersionNote(entry.version, heading, "deprecated", "Deprecated", detail=summary)
        else:
            query_recorded = "query" in previous
            old_query = previous.get("query") if query_recorded else None
            query_meaning = query_recorded and not queries_equivalent(language, old_query, current.get("query"))
            others = [c for c in changed if c != "query"]
            if query_meaning:
                parts = [summary or "", f"Also changed: {', '.join(others)}." if others else ""]
                note = VersionNote(entry.version, heading, "query", "Updated query, changed from:",
                                   old_query=old_query, detail=" ".join(p for p in parts if p) or None)
            elif others and entry.kind != "formatting":
                note = VersionNote(entry.version, heading, "fields", f"Changed: {', '.join(others)}", detail=summary)
            elif query_recorded:
                note = VersionNote(entry.version, heading, "formatting", "Formatting only",
                                   detail="The query changed only in whitespace; it matches the same events.")
            elif "query" in changed and entry.kind == "query":
                note = VersionNote(entry.version, heading, "query", "Updated query",
                                   detail="The previous query was not recorded.")
            else:
                note = VersionNote(entry.version, heading, "formatting", "Formatting only",
                                   detail=_beyond_formatting_only(summary))
        notes.append(note)
    return notes


# -- Markdown helpers --------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").strip()


def _link_text(text: str) -> str:
    return text.replace("[", "\\[").replace("]", "\\]")


def _fence(body: str, language: str = "") -> str:
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{body.rstrip(chr(10))}\n{fence}\n"


def _nest_headings(markdown: str, levels: int = 2) -> str:
    """Push the headings of embedded Markdown (a guide) below the page's own section heading."""
    out, in_code = [], False
    for line in markdown.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_code = not in_code
        if not in_code and re.match(r"^#{1,6} ", line):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out).strip("\n") + "\n"


def _duration(interval: str) -> str:
    match = re.fullmatch(r"(\d+)([smhd])", interval)
    if not match:
        return interval
    count, unit = int(match[1]), _UNITS[match[2]]
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _bullets(items: Sequence[Any], indent: str = "  ") -> list[str]:
    return [f"{indent}- {item}" for item in items]


# -- pages -------------------------------------------------------------------------------------


def page_names(rules: Sequence[RuleFile]) -> dict[str, str]:
    """rule_id -> page file name: the rule file's stem, made unique with its folder if needed."""
    stems: dict[str, int] = {}
    for rule in rules:
        stems[rule.path.stem] = stems.get(rule.path.stem, 0) + 1
    names: dict[str, str] = {}
    for rule in rules:
        stem = rule.path.stem
        if stems[stem] > 1:
            stem = f"{rule.path.parent.name}_{stem}"
        names[rule.rule_id] = f"{stem}.md"
    return names


def _added(rule: RuleFile) -> str | None:
    created = [h for h in rule.history if h.kind == "created"]
    stack = rule.metadata.get("added_in_stack") or (created[-1].stack if created else None)
    date = rule.metadata.get("creation_date") or (created[-1].date if created else None)
    return _release(stack, date) or None


def _last_modified(rule: RuleFile) -> str | None:
    if rule.history:
        newest = max(rule.history, key=lambda h: h.version)
        return _release(newest.stack, newest.date) or None
    return rule.metadata.get("updated_date")


def _threat_lines(threat: Iterable[Any]) -> list[str]:
    lines: list[str] = []
    for entry in threat:
        if not isinstance(entry, Mapping):
            continue
        lines.append(f"**Framework**: {entry.get('framework', '')}")
        lines.append("")
        tactic = entry.get("tactic") or {}
        lines += ["- Tactic:", f"  - Name: {tactic.get('name', '')}", f"  - ID: {tactic.get('id', '')}",
                  f"  - Reference URL: <{tactic.get('reference', '')}>"]
        for tech in entry.get("technique") or []:
            lines += ["- Technique:", f"  - Name: {tech.get('name', '')}", f"  - ID: {tech.get('id', '')}",
                      f"  - Reference URL: <{tech.get('reference', '')}>"]
            for sub in tech.get("subtechnique") or []:
                lines += ["- Sub-technique:", f"  - Name: {sub.get('name', '')}", f"  - ID: {sub.get('id', '')}",
                          f"  - Reference URL: <{sub.get('reference', '')}>"]
        lines.append("")
    return lines


_LANGUAGE_NAMES = {"kuery": "KQL", "lucene": "Lucene", "eql": "EQL", "esql": "ES|QL"}


def _type_facts(rule: RuleFile) -> list[str]:
    """The settings that say what a rule of this type alerts on, besides its query."""
    r = rule.rule
    facts = []
    if rule.language:
        facts.append(f"- **Query language**: {_LANGUAGE_NAMES.get(rule.language, rule.language)}")
    threshold = r.get("threshold")
    if isinstance(threshold, Mapping):
        grouped = threshold.get("field") or []
        grouped = [grouped] if isinstance(grouped, str) else list(grouped)
        by = ", ".join(f"`{f}`" for f in grouped) if grouped else "nothing (all matching events)"
        facts.append(f"- **Threshold**: at least {threshold.get('value')} events grouped by {by}")
        for item in threshold.get("cardinality") or []:
            if isinstance(item, Mapping):
                facts.append(f"- **Threshold cardinality**: at least {item.get('value')} distinct `{item.get('field')}`")
    if r.get("new_terms_fields"):
        facts.append("- **New terms fields**: " + ", ".join(f"`{f}`" for f in r["new_terms_fields"]))
        facts.append(f"- **History window starts**: `{r.get('history_window_start', '')}` (date math)")
    for key, label in (("event_category_override", "Event category field"), ("timestamp_field", "Timestamp field"),
                       ("tiebreaker_field", "Tiebreaker field"), ("timestamp_override", "Timestamp override")):
        if r.get(key):
            facts.append(f"- **{label}**: `{r[key]}`")
    return facts


def rule_page(rule: RuleFile) -> str:
    """One rule's reference page."""
    r = rule.rule  # already in Kibana form (the loader normalises it)
    lines = [f"# {rule.name}", ""]
    if rule.maturity == "deprecated":
        reason = rule.metadata.get("deprecated_reason")
        lines += [f"> **Deprecated**{': ' + reason if reason else ''}", ""]
    lines += [str(r.get("description", "")).strip(), ""]
    facts: list[str] = [f"- **Rule type**: {rule.type}"] + _type_facts(rule)
    if r.get("index"):
        facts.append("- **Rule indices**:")
        facts += _bullets([f"`{i}`" for i in r["index"]])
    if r.get("data_view_id"):
        facts.append(f"- **Data view**: `{r['data_view_id']}`")
    facts.append(f"- **Severity**: {r.get('severity', '')}")
    facts.append(f"- **Risk score**: {r.get('risk_score', '')}")
    interval = str(r.get("interval", DEFAULTS["interval"]))
    facts.append(f"- **Runs every**: {_duration(interval)}")
    facts.append(f"- **Searches indices from**: `{r.get('from', DEFAULTS['from'])}` (date math)")
    facts.append(f"- **Maximum alerts per execution**: {r.get('max_signals', DEFAULTS['max_signals'])}")
    if r.get("references"):
        facts.append("- **References**:")
        facts += _bullets([f"<{ref}>" for ref in r["references"]])
    if r.get("tags"):
        facts.append("- **Tags**:")
        facts += _bullets(r["tags"])
    version = r.get("version") or (rule.history[0].version if rule.history else None)
    if version is not None:
        facts.append(f"- **Version**: {version} ([version history](#rule-version-history))")
    added, modified = _added(rule), _last_modified(rule)
    if added:
        facts.append(f"- **Added**: {added}")
    if modified:
        facts.append(f"- **Last modified**: {modified}")
    if r.get("author"):
        facts.append(f"- **Rule authors**: {', '.join(r['author'])}")
    if r.get("license"):
        facts.append(f"- **Rule license**: {r['license']}")
    lines += facts + [""]
    if r.get("false_positives"):
        lines += ["## Potential false positives", ""] + [f"- {fp}" for fp in r["false_positives"]] + [""]
    if str(r.get("note") or "").strip():
        lines += ["## Investigation guide", "", _nest_headings(str(r["note"]))]
    if str(r.get("setup") or "").strip():
        lines += ["## Setup", "", _nest_headings(str(r["setup"]))]
    if isinstance(r.get("query"), str) and r["query"].strip():
        lines += ["## Rule query", "", _fence(r["query"], _CODE_LANGUAGE.get(rule.language or "", ""))]
    if r.get("threat"):
        lines += ["## Threat mapping", ""] + _threat_lines(r["threat"])
    lines += ["## Rule version history", ""]
    notes = version_notes(rule)
    if not notes:
        lines += ["No history recorded.", ""]
    for note in notes:
        lines += [f"### {note.heading}", "", note.text, ""]
        if note.old_query is not None:
            lines += [_fence(note.old_query, _CODE_LANGUAGE.get(rule.language or "", ""))]
        if note.detail:
            lines += [note.detail, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def index_page(rules: Sequence[RuleFile], names: Mapping[str, str], cov: Coverage) -> str:
    active = [r for r in rules if r.maturity != "deprecated"]
    retired = [r for r in rules if r.maturity == "deprecated"]
    lines = ["# Detection rules", "",
             f"{len(active)} rule(s){f', {len(retired)} deprecated' if retired else ''}. "
             f"See also the [ATT&CK coverage]({COVERAGE_PAGE}) and the "
             f"[ATT&CK Navigator layer]({LAYER_FILE}).", ""]

    def table(group: Sequence[RuleFile]) -> list[str]:
        rows = ["| Rule | Type | Severity | Risk score | Version | Last modified | ATT&CK tactics |",
                "| --- | --- | --- | --- | --- | --- | --- |"]
        for rule in sorted(group, key=lambda r: (r.name.lower(), r.rule_id)):
            tactics = ", ".join(t.name for t in rule_tactics(rule, cov))
            version = rule.rule.get("version") or (rule.history[0].version if rule.history else "")
            rows.append(f"| [{_cell(_link_text(rule.name))}]({names[rule.rule_id]}) | {_cell(rule.type)} | "
                        f"{_cell(rule.rule.get('severity', ''))} | {_cell(rule.rule.get('risk_score', ''))} | "
                        f"{_cell(version)} | {_cell(_last_modified(rule) or '')} | {_cell(tactics)} |")
        return rows

    lines += table(active) + [""]
    if retired:
        lines += ["## Deprecated rules", ""] + table(retired) + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def coverage_page(cov: Coverage, names: Mapping[str, str]) -> str:
    def rule_links(rules: Iterable[RuleFile]) -> str:
        return ", ".join(f"[{_cell(_link_text(r.name))}]({names[r.rule_id]})" for r in rules)

    version = f"ATT&CK v{cov.attack_version} (Enterprise)" if cov.attack_version else "ATT&CK (Enterprise)"
    techniques = {c.technique_id for c in cov.cells}
    lines = ["# ATT&CK coverage", "",
             f"{version}: {len(techniques)} technique(s) and sub-technique(s) under {len(cov.tactics)} "
             f"tactic(s). Open [{LAYER_FILE}]({LAYER_FILE}) in the ATT&CK Navigator for the interactive view; "
             "a cell's score there is the number of rules.", ""]
    if cov.tactics:
        columns = [cov.cells_for(t.id) for t in cov.tactics]
        lines.append("| " + " | ".join(_cell(t.name) for t in cov.tactics) + " |")
        lines.append("|" + " --- |" * len(cov.tactics))
        for row in range(max(len(c) for c in columns)):
            cells = [f"{c[row].technique_id} {_cell(c[row].technique_name)} ({len(c[row].rules)})"
                     if row < len(c) else "" for c in columns]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    for tactic in cov.tactics:
        cells = cov.cells_for(tactic.id)
        lines += [f"## {tactic.name} ({tactic.id})", ""]
        if cells:
            lines += ["| Technique | Name | Rules |", "| --- | --- | --- |"]
            lines += [f"| {c.technique_id} | {_cell(c.technique_name)} | {rule_links(c.rules)} |" for c in cells]
        else:
            lines.append("No technique named; tactic only: " + rule_links(cov.tactic_rules[tactic.id]))
        lines.append("")
    if cov.unmapped:
        lines += ["## Rules without an ATT&CK mapping", ""] + [f"- {rule_links([r])}" for r in cov.unmapped] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def build_docs(rules: Sequence[RuleFile]) -> dict[str, str]:
    """Every docs file: relative name -> text."""
    ordered = sorted(rules, key=lambda r: (r.rule_id, str(r.path)))
    names = page_names(ordered)
    cov = coverage(ordered)
    files = {names[r.rule_id]: rule_page(r) for r in ordered}
    files[INDEX_PAGE] = index_page(ordered, names, cov)
    files[COVERAGE_PAGE] = coverage_page(cov, names)
    files[LAYER_FILE] = layer_json(navigator_layer(cov))
    return dict(sorted(files.items()))


def write_docs(files: Mapping[str, str], out_dir: Path | str) -> list[Path]:
    """Write the docs files that changed (each atomically); unchanged files are left alone."""
    out = Path(out_dir)
    written = []
    for name, text in files.items():
        target = out / name
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        write_atomic(target, text)
        written.append(target)
    return written
