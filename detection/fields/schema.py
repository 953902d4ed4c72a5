"""Field types as Elasticsearch maps them: what KQL matching and lint need to know.

A :class:`FieldSchema` is a stack of layers (ECS, then integrations, then custom files). Later
layers override earlier ones. A layer may be limited to some index patterns, so
``schema.for_indices(rule.index)`` keeps only the fields a rule's indices can hold.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from detection.fields.patterns import glob_match, glob_regex, globs_intersect, index_pattern_body

NUMERIC_TYPES = frozenset(
    {"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long"}
)
STRING_TYPES = frozenset({"keyword", "constant_keyword", "wildcard", "text", "match_only_text"})
DATE_TYPES = frozenset({"date", "date_nanos"})
CONTAINER_TYPES = frozenset({"object", "nested", "flattened", "group"})
KNOWN_TYPES = (
    NUMERIC_TYPES
    | STRING_TYPES
    | DATE_TYPES
    | CONTAINER_TYPES
    | frozenset({"ip", "boolean", "geo_point", "geo_shape", "binary", "version", "alias", "histogram"})
)


@dataclass(frozen=True)
class FieldInfo:
    """One mapped field. ``parent`` is set for multi-fields (``user.name.text`` -> ``user.name``)."""

    name: str
    type: str
    value: str | None = None  # the value of a constant_keyword field
    parent: str | None = None
    allowed_values: tuple[str, ...] = ()
    array: bool = False
    ignore_above: int | None = None
    normalizer: str | None = None  # "lowercase" for .caseless style keyword fields
    source: str = ""
    scaling_factor: float | None = None  # scaled_float: values are stored as round(value * factor)

    @property
    def source_path(self) -> str:
        """Where the value lives in a document: multi-fields read their parent's value."""
        return self.parent or self.name


@dataclass(frozen=True)
class Layer:
    """A named group of fields; ``index_patterns`` None means "every index"."""

    name: str
    fields: Mapping[str, FieldInfo]
    index_patterns: tuple[str, ...] | None = None

    def applies_to(self, patterns: Iterable[str]) -> bool:
        if self.index_patterns is None:
            return True
        wanted = [p for p in (index_pattern_body(x) for x in patterns) if p]
        return any(globs_intersect(w, mine) for w in wanted for mine in self.index_patterns)


def _expand(fields: Iterable[FieldInfo]) -> dict[str, FieldInfo]:
    return {f.name: f for f in fields}


@dataclass(frozen=True)
class FieldSchema:
    layers: tuple[Layer, ...] = ()
    _fields: Mapping[str, FieldInfo] = field(default_factory=dict, init=False, repr=False, compare=False)
    # for_indices results by pattern tuple: building a schema merges every field again, and
    # most rules of a project share their index patterns (the schema itself never changes).
    _narrowed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        merged: dict[str, FieldInfo] = {}
        for layer in self.layers:
            for name, info in layer.fields.items():
                old = merged.get(name)
                if (
                    old is not None
                    and old.type == info.type == "constant_keyword"
                    and old.value is not None
                    and info.value is not None
                    and old.value != info.value
                ):
                    # Two data streams with different constants: only the document can tell.
                    info = FieldInfo(name, "constant_keyword", None, source=f"{old.source}+{info.source}")
                merged[name] = info
        _infer_multi_fields(merged)
        object.__setattr__(self, "_fields", MappingProxyType(merged))

    # ------------------------------------------------------------------ constructors
    @classmethod
    def empty(cls) -> FieldSchema:
        return cls(())

    @classmethod
    def from_mapping(
        cls, mapping: Mapping[str, str | Mapping], name: str = "mapping", index_patterns: Iterable[str] | None = None
    ) -> FieldSchema:
        """``{"a.b": "keyword", "c": {"type": "constant_keyword", "value": "x"}}``."""
        infos = []
        for fname, spec in mapping.items():
            if isinstance(spec, str):
                spec = {"type": spec}
            infos.extend(field_infos(fname, spec, source=name))
        patterns = tuple(index_patterns) if index_patterns is not None else None
        return cls((Layer(name, _expand(infos), patterns),))

    def merge(self, other: FieldSchema) -> FieldSchema:
        """A schema with ``other``'s layers on top of ours."""
        return FieldSchema(self.layers + other.layers)

    def for_indices(self, index_patterns: Iterable[str] | None) -> FieldSchema:
        """Keep the layers that can apply to these index patterns (ECS and custom global ones always)."""
        if index_patterns is None:
            return self
        patterns = tuple(index_patterns)
        if not patterns:
            return self
        narrowed = self._narrowed.get(patterns)
        if narrowed is None:
            layers = tuple(layer for layer in self.layers if layer.applies_to(patterns))
            narrowed = self if len(layers) == len(self.layers) else FieldSchema(layers)
            self._narrowed[patterns] = narrowed
        return narrowed

    # ------------------------------------------------------------------ questions
    def info(self, name: str) -> FieldInfo | None:
        return self._fields.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def __len__(self) -> int:
        return len(self._fields)

    def type_of(self, name: str) -> str | None:
        """The Elasticsearch type; keys under a flattened field report ``flattened``."""
        info = self._fields.get(name)
        if info is not None:
            return info.type
        if self.flattened_root(name) is not None:
            return "flattened"
        return None

    def constant_value(self, name: str) -> str | None:
        info = self._fields.get(name)
        return info.value if info is not None and info.type == "constant_keyword" else None

    def allowed_values(self, name: str) -> tuple[str, ...]:
        info = self._fields.get(name)
        return info.allowed_values if info else ()

    def is_array(self, name: str) -> bool:
        info = self._fields.get(name)
        return bool(info and info.array)

    def is_nested(self, path: str) -> bool:
        return self.type_of(path) == "nested"

    def nested_parent(self, name: str) -> str | None:
        """The closest ancestor mapped as ``nested`` (``email.attachments`` for its ``file.name``)."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            info = self._fields.get(prefix)
            if info is not None and info.type == "nested":
                return prefix
        return None

    def flattened_root(self, name: str) -> str | None:
        """The flattened field that holds ``name`` as a key, if any."""
        parts = name.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            prefix = ".".join(parts[:cut])
            info = self._fields.get(prefix)
            if info is not None and info.type == "flattened":
                return prefix
        return None

    def names(self) -> list[str]:
        return sorted(self._fields)

    def match_pattern(self, pattern: str) -> list[str]:
        """Field names matching a KQL field wildcard (``aws.cloudtrail.*``), sorted."""
        if "*" not in pattern:
            return [pattern] if pattern in self._fields else []
        regex = glob_regex(pattern)
        return sorted(n for n in self._fields if regex.match(n))

    def layer_names(self) -> list[str]:
        return [layer.name for layer in self.layers]


def _infer_multi_fields(fields: dict[str, FieldInfo]) -> None:
    """``x.y`` under a leaf field ``x`` can only be a multi-field of ``x`` (custom schemas)."""
    for name, info in list(fields.items()):
        if info.parent is not None or "." not in name:
            continue
        prefix = name.rsplit(".", 1)[0]
        base = fields.get(prefix)
        if base is None or base.type in CONTAINER_TYPES:
            continue
        normalizer = info.normalizer
        if normalizer is None and name.endswith(".caseless") and info.type == "keyword":
            normalizer = "lowercase"
        fields[name] = FieldInfo(
            name, info.type, info.value, prefix, info.allowed_values, info.array, info.ignore_above, normalizer, info.source,
            info.scaling_factor,
        )


def field_infos(name: str, spec: Mapping, source: str = "") -> list[FieldInfo]:
    """The FieldInfo of one field spec plus one per declared multi-field."""
    ftype = spec["type"]
    info = FieldInfo(
        name=name,
        type=ftype,
        value=spec.get("value"),
        allowed_values=tuple(spec.get("allowed_values", ())),
        array=bool(spec.get("array", False)),
        ignore_above=spec.get("ignore_above"),
        normalizer=spec.get("normalizer") or (
            "lowercase" if name.endswith(".caseless") and ftype == "keyword" else None
        ),
        source=source,
        scaling_factor=spec.get("scaling_factor"),
    )
    out = [info]
    for sub, sub_type in (spec.get("multi_fields") or {}).items():
        sub_name = f"{name}.{sub}"
        normalizer = "lowercase" if sub == "caseless" and sub_type == "keyword" else None
        out.append(FieldInfo(sub_name, sub_type, parent=name, normalizer=normalizer, source=source))
    return out


__all__ = [
    "CONTAINER_TYPES",
    "DATE_TYPES",
    "KNOWN_TYPES",
    "NUMERIC_TYPES",
    "STRING_TYPES",
    "FieldInfo",
    "FieldSchema",
    "Layer",
    "field_infos",
    "glob_match",
]
