"""Rule versioning in one import: content hash, query equivalence, history, gates, bump, changelog.

The work is split by job (``content_hash``, ``query_compare``, ``history``, ``gate``, ``bump``,
``rewrite``, ``baseline``, ``changelog``); this module gathers their public names for callers
such as the Kibana export and the docs generator.
"""

from __future__ import annotations

from detection.bump import BumpOutcome, GitPrevious, NoPrevious, bump_rules, plan_bump
from detection.changelog import RuleChange, RulesChangelog, render_markdown, rule_changes
from detection.content_hash import canonical_json, canonical_payload, content_hash
from detection.gate import GATE_CODES, gate_diagnostics, history_diagnostics
from detection.history import (
    VersionState,
    apply_previous,
    changed_fields,
    classify_change,
    rebuild_version,
    rebuild_versions,
)
from detection.query_compare import queries_equivalent, text_equivalent

__all__ = [
    "GATE_CODES", "BumpOutcome", "GitPrevious", "NoPrevious", "RuleChange", "RulesChangelog", "VersionState",
    "apply_previous", "bump_rules", "canonical_json", "canonical_payload", "changed_fields", "classify_change",
    "content_hash", "gate_diagnostics", "history_diagnostics", "plan_bump", "queries_equivalent",
    "rebuild_version", "rebuild_versions", "render_markdown", "rule_changes", "text_equivalent",
]
