"""ATT&CK coverage of a rule set: which rules map to which tactic and technique, and the
Navigator layer (layer format 4.5) that shows it in MITRE's ATT&CK Navigator.

Only ``threat`` entries whose framework is MITRE ATT&CK count. A technique and each of its
sub-techniques are separate cells, each scored with the number of rules that name it under that
tactic. Names and tactic shortnames come from the shipped ATT&CK release (``detection.attack``)
when it knows the id, else from what the rule wrote.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from detection.model import RuleFile

ATTACK_FRAMEWORK = "MITRE ATT&CK"
NAVIGATOR_VERSION = "5.1.0"
LAYER_VERSION = "4.5"
# The Enterprise matrix's column order (kill-chain order); unknown tactics follow, by id.
TACTIC_ORDER = ("reconnaissance", "resource-development", "initial-access", "execution", "persistence",
                "privilege-escalation", "stealth", "defense-evasion", "defense-impairment", "credential-access",
                "discovery", "lateral-movement", "collection", "command-and-control", "exfiltration", "impact")


@dataclass(frozen=True)
class Tactic:
    id: str
    name: str
    shortname: str


@dataclass(frozen=True)
class Cell:
    """One technique (or sub-technique) under one tactic, and the rules that cover it."""

    tactic: Tactic
    technique_id: str
    technique_name: str
    rules: tuple[RuleFile, ...]

    @property
    def subtechnique(self) -> bool:
        return "." in self.technique_id


@dataclass(frozen=True)
class Coverage:
    attack_version: str | None
    tactics: tuple[Tactic, ...]  # in matrix order, only those some rule maps to
    cells: tuple[Cell, ...]  # sorted by tactic order, then technique id
    tactic_rules: Mapping[str, tuple[RuleFile, ...]]  # tactic id -> rules naming the tactic
    unmapped: tuple[RuleFile, ...]  # rules with no ATT&CK entry

    def cells_for(self, tactic_id: str) -> list[Cell]:
        return [c for c in self.cells if c.tactic.id == tactic_id]


def _attack() -> Any:
    try:
        from detection.attack import load_attack

        return load_attack()
    except Exception:  # noqa: BLE001 - without the data, fall back to what the rules say
        return None


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _tactic(entry: Mapping[str, Any], data: Any) -> Tactic | None:
    raw = entry.get("tactic")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        return None
    known = data.tactic(raw["id"]) if data is not None else None
    if known is not None:
        return Tactic(known.id, known.name, known.shortname)
    name = str(raw.get("name") or raw["id"])
    return Tactic(raw["id"], name, _slug(name))


def _technique_name(tid: str, written: Any, data: Any) -> str:
    known = data.technique(tid) if data is not None else None
    return known.name if known is not None else str(written or tid)


def _order_key(tactic: Tactic) -> tuple[int, str]:
    try:
        return TACTIC_ORDER.index(tactic.shortname), tactic.id
    except ValueError:
        return len(TACTIC_ORDER), tactic.id


def coverage(rules: Iterable[RuleFile]) -> Coverage:
    """Tactic and technique coverage of ``rules``, ready for the layer and the matrix page."""
    data = _attack()
    tactics: dict[str, Tactic] = {}
    tactic_rules: dict[str, list[RuleFile]] = {}
    cells: dict[tuple[str, str], tuple[str, list[RuleFile]]] = {}
    unmapped: list[RuleFile] = []
    for rule in sorted(rules, key=lambda r: (r.name, r.rule_id)):
        mapped = False
        for entry in rule.rule.get("threat") or []:
            if not isinstance(entry, Mapping) or entry.get("framework") != ATTACK_FRAMEWORK:
                continue
            tactic = _tactic(entry, data)
            if tactic is None:
                continue
            mapped = True
            tactics.setdefault(tactic.id, tactic)
            if rule not in tactic_rules.setdefault(tactic.id, []):
                tactic_rules[tactic.id].append(rule)
            for tech in entry.get("technique") or []:
                if not isinstance(tech, Mapping) or not isinstance(tech.get("id"), str):
                    continue
                items = [tech] + [s for s in tech.get("subtechnique") or []
                                  if isinstance(s, Mapping) and isinstance(s.get("id"), str)]
                for item in items:
                    key = (tactic.id, item["id"])
                    name = _technique_name(item["id"], item.get("name"), data)
                    covered = cells.setdefault(key, (name, []))[1]
                    if rule not in covered:
                        covered.append(rule)
        if not mapped:
            unmapped.append(rule)
    ordered_tactics = tuple(sorted(tactics.values(), key=_order_key))
    position = {t.id: i for i, t in enumerate(ordered_tactics)}
    ordered_cells = tuple(
        Cell(tactics[tid], tech_id, name, tuple(found))
        for (tid, tech_id), (name, found) in sorted(cells.items(), key=lambda kv: (position[kv[0][0]], kv[0][1])))
    return Coverage(
        attack_version=getattr(data, "version", None),
        tactics=ordered_tactics,
        cells=ordered_cells,
        tactic_rules={k: tuple(v) for k, v in sorted(tactic_rules.items())},
        unmapped=tuple(unmapped),
    )


def navigator_layer(cov: Coverage, name: str = "Detection rules", description: str | None = None) -> dict[str, Any]:
    """An ATT&CK Navigator layer (format 4.5): one scored technique per covered cell."""
    attack_major = (cov.attack_version or "").split(".")[0]
    top = max((len(c.rules) for c in cov.cells), default=1)
    techniques = []
    for cell in cov.cells:
        names = "; ".join(r.name for r in cell.rules)
        techniques.append({
            "techniqueID": cell.technique_id,
            "tactic": cell.tactic.shortname,
            "score": len(cell.rules),
            "comment": f"{len(cell.rules)} rule(s): {names}",
            "enabled": True,
        })
    layer: dict[str, Any] = {
        "name": name,
        "versions": {"navigator": NAVIGATOR_VERSION, "layer": LAYER_VERSION},
        "domain": "enterprise-attack",
        "description": description or f"ATT&CK techniques covered by {len({r.rule_id for c in cov.cells for r in c.rules})} rule(s); the score is the number of rules.",
        "sorting": 3,
        "layout": {"layout": "side", "showID": True, "showName": True, "expandedSubtechniques": "annotated"},
        "hideDisabled": False,
        "techniques": techniques,
        "gradient": {"colors": ["#d6eaf8", "#1f618d"], "minValue": 0, "maxValue": max(top, 1)},
        "legendItems": [],
        "metadata": [],
        "showTacticRowBackground": False,
        "selectTechniquesAcrossTactics": True,
        "selectSubtechniquesWithParent": False,
    }
    if attack_major:
        layer["versions"] = {"attack": attack_major, **layer["versions"]}
    return layer


def layer_json(layer: Mapping[str, Any]) -> str:
    """The layer as stable, readable JSON text."""
    return json.dumps(layer, indent=2, ensure_ascii=False) + "\n"


def rule_tactics(rule: RuleFile, cov: Coverage) -> list[Tactic]:
    """The tactics one rule maps to, in matrix order."""
    return [t for t in cov.tactics if rule in cov.tactic_rules.get(t.id, ())]
