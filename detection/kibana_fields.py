"""The fields Kibana derives for a rule on export: ``required_fields`` and ``related_integrations``.

``required_fields`` lists the fields the rule reads (from the query's parse tree, plus the fields a
threshold, new-terms or indicator-match rule groups or matches on) with their Elasticsearch type
and whether ECS defines them. Types come from ``detection.fields`` (ECS, integration and custom
fields, narrowed to the layers that apply to the rule's index patterns) when that module is present,
else from the shipped ECS table; ``ecs`` says whether ECS defines the field name. A field no schema
knows gets the type ``unknown``.

``related_integrations`` names the Fleet packages a rule needs: ``metadata.integration`` plus the
package of every ``event.dataset`` / ``data_stream.dataset`` value the query names (``aws.cloudtrail``
is package ``aws``, integration ``cloudtrail``). Version constraints come from the small shipped
table ``detection/data/kibana_integrations.json`` and the project's ``[tool.detection.integrations]``;
a package with no known constraint is left out ("where known") and reported.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detection.resources import data_path

INTEGRATIONS_FILE = "kibana_integrations.json"
UNKNOWN_TYPE = "unknown"
_LANGUAGE_MODULES = {"kuery": "detection.kql", "eql": "detection.eql", "esql": "detection.esql",
                     "lucene": "detection.lucene"}
# event.dataset / data_stream.dataset values as KQL (field:value, field:(a or b)), EQL and ES|QL
# (==, :, in (...)) write them; wildcard values name no single dataset and are skipped.
_DATASET_FIELD = re.compile(r"\b(?:event|data_stream)\.dataset\s*(?::|==|\bin\b)\s*(\([^)]*\)|\"[^\"]*\"|[\w.\-*]+)")
_DATASET_VALUE = re.compile(r"\"([^\"]*)\"|([\w.\-*]+)")

FieldInfo = Callable[[str], tuple[str | None, bool | None]]


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    integrations: tuple[str, ...] = ()


# -- required_fields ---------------------------------------------------------------------------


class QueryFieldsUnavailable(Exception):
    """The query's language has no parser in this build, or the query does not parse."""


def query_field_names(language: str | None, query: str) -> list[str]:
    """Fields a query reads, from its language module; raises QueryFieldsUnavailable."""
    module_name = _LANGUAGE_MODULES.get(language or "")
    if module_name is None:
        raise QueryFieldsUnavailable(f"no field extraction for language {language!r}")
    try:
        module = importlib.import_module(module_name)
        extract = module.field_names
    except (ImportError, AttributeError):
        raise QueryFieldsUnavailable(f"{module_name} cannot list query fields in this build") from None
    try:
        return [str(n) for n in extract(query)]
    except Exception as exc:  # noqa: BLE001 - each language has its own error class
        # Valid ES|QL beyond the engine's subset (GROK, MATCH()...) is not a syntax error.
        unsupported = getattr(exc, "code", None) == "ESQL002"
        what = "the query uses what this engine does not implement" if unsupported else "the query does not parse"
        raise QueryFieldsUnavailable(f"{what}: {exc}") from None


def rule_field_names(rule: Mapping[str, Any]) -> list[str]:
    """Every concrete field the rule reads: query fields plus type-specific grouping fields."""
    names: set[str] = set()
    query = rule.get("query")
    if isinstance(query, str) and query.strip():
        language = rule.get("language") or _default_language(rule.get("type"))
        names.update(query_field_names(language, query))
    threshold = rule.get("threshold")
    if isinstance(threshold, Mapping):
        grouped = threshold.get("field")
        names.update([grouped] if isinstance(grouped, str) else [f for f in grouped or [] if isinstance(f, str)])
        for item in threshold.get("cardinality") or []:
            if isinstance(item, Mapping) and isinstance(item.get("field"), str):
                names.add(item["field"])
    names.update(f for f in rule.get("new_terms_fields") or [] if isinstance(f, str))
    for mapping in rule.get("threat_mapping") or []:
        for entry in (mapping.get("entries") or []) if isinstance(mapping, Mapping) else []:
            if isinstance(entry, Mapping) and isinstance(entry.get("field"), str):
                names.add(entry["field"])
    return sorted(n for n in names if n and "*" not in n)


def _default_language(rule_type: Any) -> str | None:
    from detection.model import DEFAULT_LANGUAGE

    return DEFAULT_LANGUAGE.get(str(rule_type))


def required_fields(rule: Mapping[str, Any], info: FieldInfo) -> list[dict[str, Any]]:
    """Kibana's ``required_fields`` for a rule: sorted ``{name, type, ecs}`` (ecs when known)."""
    out = []
    for name in rule_field_names(rule):
        field_type, ecs = info(name)
        item: dict[str, Any] = {"name": name, "type": field_type or UNKNOWN_TYPE}
        if ecs is not None:
            item["ecs"] = bool(ecs)
        out.append(item)
    return out


@functools.lru_cache(maxsize=1)
def _ecs_types() -> Mapping[str, str]:
    path = data_path("ecs_fields.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    fields = data.get("fields", {}) if isinstance(data, dict) else {}
    out: dict[str, str] = {}
    for name, spec in fields.items():
        if isinstance(spec, Mapping) and isinstance(spec.get("type"), str):
            out[name] = spec["type"]
            multi = spec.get("multi_fields")
            for suffix, sub_type in (multi.items() if isinstance(multi, Mapping) else ()):
                out[f"{name}.{suffix}"] = str(sub_type)  # e.g. user.name.text: match_only_text
    return out


def field_info(schemas: Iterable[Any] = ()) -> FieldInfo:
    """A type lookup: the given field schemas first (objects with ``type_of``), then ECS."""
    schemas = tuple(schemas)
    ecs = _ecs_types()

    def lookup(name: str) -> tuple[str | None, bool | None]:
        in_ecs = name in ecs if ecs else None
        for schema in schemas:
            try:
                found = schema.type_of(name)
            except Exception:  # noqa: BLE001 - a broken custom schema must not stop an export
                found = None
            if found:
                return str(found), in_ecs
        return ecs.get(name), in_ecs

    return lookup


@dataclass(frozen=True)
class FieldTypes:
    """Field schemas (custom first); each rule sees the layers that apply to its index patterns."""

    schemas: tuple[Any, ...] = ()
    # Narrowing a schema is costly and most rules share index patterns: one lookup per pattern set.
    _cache: dict[tuple[str, ...], FieldInfo] = field(default_factory=dict, compare=False, repr=False)

    def for_rule(self, rule: Mapping[str, Any]) -> FieldInfo:
        index = rule.get("index")
        patterns = tuple(p for p in index if isinstance(p, str)) if isinstance(index, list) else ()
        if patterns not in self._cache:
            narrowed = []
            for schema in self.schemas:
                if patterns and hasattr(schema, "for_indices"):
                    try:
                        schema = schema.for_indices(list(patterns))
                    except Exception:  # noqa: BLE001 - fall back to the whole schema
                        pass
                narrowed.append(schema)
            self._cache[patterns] = field_info(narrowed)
        return self._cache[patterns]


def default_field_types(fields_dir: Any = None) -> FieldTypes:
    """Field types from ``detection.fields`` (project custom fields first) when present, else ECS alone."""
    schemas: list[Any] = []
    try:
        fields = importlib.import_module("detection.fields")
    except ImportError:
        return FieldTypes()
    loader = getattr(fields, "load_custom_fields", None)
    if fields_dir is not None and loader is not None:
        try:
            custom = loader(fields_dir)
            if custom is not None and hasattr(custom, "type_of"):
                schemas.append(custom)
        except Exception:  # noqa: BLE001 - custom field problems are lint's to report
            pass
    default = getattr(fields, "default_schema", None)
    if default is not None:
        try:
            schemas.append(default())
        except Exception:  # noqa: BLE001
            pass
    return FieldTypes(tuple(schemas))


# -- related_integrations ----------------------------------------------------------------------


@functools.lru_cache(maxsize=1)
def shipped_packages() -> Mapping[str, Package]:
    data = json.loads(data_path(INTEGRATIONS_FILE).read_text(encoding="utf-8"))
    return {name: Package(name, spec["version"], tuple(spec.get("integrations", ())))
            for name, spec in data["packages"].items()}


def package_table(overrides: Mapping[str, Any] | None = None) -> dict[str, Package]:
    """The shipped table with ``[tool.detection.integrations]`` entries laid over it.

    An override is a version string (``okta = "^2.0.0"``) or a table with ``version`` and
    ``integrations``.
    """
    table = dict(shipped_packages())
    for name, spec in (overrides or {}).items():
        if isinstance(spec, str):
            known = table.get(name)
            table[name] = Package(name, spec, known.integrations if known else ())
        elif isinstance(spec, Mapping) and isinstance(spec.get("version"), str):
            table[name] = Package(name, spec["version"], tuple(spec.get("integrations", ())))
    return table


def query_datasets(query: str) -> list[str]:
    """Dataset names a query tests ``event.dataset`` or ``data_stream.dataset`` against."""
    found: set[str] = set()
    for match in _DATASET_FIELD.finditer(query):
        for quoted, bare in _DATASET_VALUE.findall(match.group(1)):
            value = quoted or bare
            if value and "*" not in value and value not in ("or", "and", "not"):
                found.add(value)
    return sorted(found)


def _metadata_packages(metadata: Mapping[str, Any]) -> list[str]:
    value = metadata.get("integration")
    if isinstance(value, str):
        return [value]
    return [v for v in value or [] if isinstance(v, str)]


def related_integrations(rule: Mapping[str, Any], metadata: Mapping[str, Any],
                         table: Mapping[str, Package]) -> tuple[list[dict[str, str]], list[str]]:
    """``related_integrations`` entries, and the package names left out for want of a version."""
    wanted: dict[str, set[str]] = {}
    for name in _metadata_packages(metadata):
        wanted.setdefault(name, set())
    query = rule.get("query")
    if isinstance(query, str):
        for dataset in query_datasets(query):
            package, _, stream = dataset.partition(".")
            if package in table or package in wanted:
                wanted.setdefault(package, set())
                if stream and stream in (table[package].integrations if package in table else ()):
                    wanted[package].add(stream)
    entries: list[dict[str, str]] = []
    unknown: list[str] = []
    for name in sorted(wanted):
        package = table.get(name)
        if package is None:
            unknown.append(name)
            continue
        streams = sorted(wanted[name])
        if not streams:
            entries.append({"package": name, "version": package.version})
        for stream in streams:
            entries.append({"integration": stream, "package": name, "version": package.version})
    return entries, unknown
