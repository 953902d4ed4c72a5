"""What a check sees: one rule (``RuleContext``) or every rule (``ProjectContext``).

Expensive facts (the parsed query, the field schema for the rule's indices, the ATT&CK findings)
are computed once per rule or per set of indices and shared by every check that needs them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detection.config import ProjectConfig
from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.lint.positions import value_location
from detection.lint.settings import LintSettings
from detection.model import RuleFile

KUERY_TYPES = ("query", "threshold", "new_terms", "threat_match", "saved_query")


@dataclass(frozen=True)
class ParsedQuery:
    """A rule's query (or threat_query) and what the KQL or Lucene parser made of it."""

    path: tuple  # where the text lives in the rule file, e.g. ("rule", "query")
    text: str
    tree: Any = None  # detection.kql.ast.Node when parsing worked (Lucene trees are KQL's plus two nodes)
    error: Any = None  # detection.kql.KqlError otherwise (None for Lucene: Q101 reports its errors)
    language: str = "kuery"  # or "lucene"


@dataclass
class ProjectContext:
    rules: Sequence[RuleFile]
    config: ProjectConfig | None = None
    settings: LintSettings = field(default_factory=LintSettings)
    # Per-run caches (never shared between runs): index patterns -> schema; custom-field problems.
    _schemas: dict = field(default_factory=dict, repr=False)
    field_problems: list[Diagnostic] = field(default_factory=list)

    @functools.cached_property
    def base_schema(self) -> Any:
        """ECS + shipped integrations + the project's custom field files (None if unavailable)."""
        try:
            from detection.fields import default_schema, load_custom_fields
        except ImportError:  # the fields package is optional for lint: field checks just skip
            return None
        schema = default_schema()
        if self.config is not None:
            try:
                schema = schema.merge(load_custom_fields(self.config.fields_dir))
            except DetectionError as exc:
                self.field_problems.extend(exc.diagnostics)
        return schema

    def schema_for(self, indices: Sequence[str]) -> Any:
        key = tuple(indices)
        if key not in self._schemas:
            base = self.base_schema
            self._schemas[key] = None if base is None else base.for_indices(list(key) or None)
        return self._schemas[key]


class RuleContext:
    """One rule plus lazily computed facts about it."""

    def __init__(self, rule: RuleFile, project: ProjectContext):
        self.rule = rule
        self.project = project

    @property
    def settings(self) -> LintSettings:
        return self.project.settings

    # -- positions -------------------------------------------------------------------------------

    def at(self, path: tuple, key: bool = False) -> Location:
        return self.rule.location(path, key=key)

    def at_offset(self, path: tuple, offset: int) -> Location:
        """Character ``offset`` of the string at ``path`` (a query) as a file position."""
        return value_location(self.rule, path, offset)

    # -- queries ---------------------------------------------------------------------------------

    @functools.cached_property
    def kql_queries(self) -> tuple[ParsedQuery, ...]:
        """The rule's KQL texts (query and, for indicator match rules, threat_query), parsed."""
        out = []
        rule = self.rule.rule
        if self.rule.type in KUERY_TYPES and self.rule.language == "kuery" and isinstance(rule.get("query"), str):
            out.append(_parse_kql(("rule", "query"), rule["query"]))
        if self.rule.type == "threat_match" and rule.get("threat_language", "kuery") == "kuery" \
                and isinstance(rule.get("threat_query"), str):
            out.append(_parse_kql(("rule", "threat_query"), rule["threat_query"]))
        return tuple(q for q in out if q is not None)

    @property
    def main_query(self) -> ParsedQuery | None:
        """The rule's own KQL query (not the indicator query), if it parsed or failed to."""
        for query in self.kql_queries:
            if query.path == ("rule", "query"):
                return query
        return None

    @functools.cached_property
    def lucene_query(self) -> ParsedQuery | None:
        """The rule's own Lucene query when it parses (Q101 reports it when it does not)."""
        text = self.rule.rule.get("query")
        if self.rule.type not in KUERY_TYPES or self.rule.language != "lucene" or not isinstance(text, str):
            return None
        return _parse_lucene(("rule", "query"), text)

    @property
    def field_queries(self) -> tuple[ParsedQuery, ...]:
        """The parsed queries whose fields and values the field checks read: the rule's own KQL or
        Lucene query (a Lucene tree has KQL's leaves, so the same checks apply)."""
        found = [self.main_query, self.lucene_query]
        return tuple(q for q in found if q is not None and q.tree is not None)

    @functools.cached_property
    def schema(self) -> Any:
        """Field schema for the rule's indices, or None when field checks cannot run."""
        if self.rule.metadata.get("query_schema_validation") is False:
            return None
        return self.project.schema_for(self.rule.index)

    @functools.cached_property
    def threat_findings(self) -> list[Any]:
        threat = self.rule.rule.get("threat")
        if threat is None:
            return []
        from detection.attack import check_threat

        return check_threat(threat, path=("threat",))


def _parse_kql(path: tuple, text: str) -> ParsedQuery | None:
    try:
        from detection import kql
    except ImportError:
        return None
    try:
        return ParsedQuery(path, text, tree=kql.parse(text))
    except kql.KqlError as exc:
        return ParsedQuery(path, text, error=exc)


def _parse_lucene(path: tuple, text: str) -> ParsedQuery | None:
    try:
        from detection import lucene
    except ImportError:
        return None
    try:
        return ParsedQuery(path, text, tree=lucene.parse(text), language="lucene")
    except lucene.LuceneError:
        return None


# language -> (module, its error class name): the languages whose trees the lint checks read.
_TREE_LANGUAGES = {"eql": ("detection.eql", "EqlError"), "esql": ("detection.esql", "EsqlError")}


@functools.lru_cache(maxsize=1024)
def _parse_tree(language: str, text: str) -> Any:
    import importlib

    module_name, error_name = _TREE_LANGUAGES[language]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    try:
        return module.parse(text)
    except getattr(module, error_name):
        return None


def parsed_tree(ctx: RuleContext, language: str) -> Any:
    """The rule's parsed query when the rule is in ``language`` (eql or esql) and the query parses,
    else None (Q101 reports queries that do not parse). Parsed once per query text."""
    text = ctx.rule.query
    if ctx.rule.language != language or not isinstance(text, str):
        return None
    return _parse_tree(language, text)
