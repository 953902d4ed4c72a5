"""Project field definitions: ``schemas/fields/*.yml``.

Format (either form of ``fields`` works; ``index_patterns`` is optional and limits where the
fields apply, as for integration data streams)::

    index_patterns: ["logs-okta*"]
    fields:
      okta.actor.id: keyword
      okta.risk: {type: long}
      event.dataset: {type: constant_keyword, value: okta.system}
      process.name.caseless: {type: keyword, normalizer: lowercase}

    fields:
      - name: event.dataset
        type: constant_keyword
        value: okta.system
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from detection.diagnostics import DetectionError, Diagnostic, Location
from detection.fields.schema import KNOWN_TYPES, FieldInfo, FieldSchema, Layer, field_infos
from detection.sourcemap import SourceMap
from detection.yaml_safe import YamlProblem, load_yaml

_SPEC_KEYS = {"type", "value", "allowed_values", "array", "ignore_above", "normalizer", "multi_fields", "scaling_factor"}


class _Collector:
    def __init__(self, path: str, smap: SourceMap):
        self.path, self.smap, self.diags = path, smap, []

    def error(self, doc_path: tuple, code: str, message: str, hint: str | None = None, key: bool = False) -> None:
        line, col = self.smap.key(doc_path) if key else self.smap.value(doc_path)
        self.diags.append(Diagnostic(Location(self.path, line, col), code, message, hint))


def load_custom_file(path: str | Path) -> Layer:
    """One fields file as a schema layer; raise DetectionError with located diagnostics."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DetectionError([Diagnostic(Location(shown, 0, 0), "FLD001", f"cannot read fields file: {exc}")]) from None
    try:
        data, smap = load_yaml(text)
    except YamlProblem as exc:
        raise DetectionError([Diagnostic(Location(shown, exc.line, exc.column), "FLD001", exc.message, exc.hint)]) from None
    col = _Collector(shown, smap)
    infos: dict[str, FieldInfo] = {}
    patterns: tuple[str, ...] | None = None
    if not isinstance(data, Mapping) or "fields" not in data:
        col.error((), "FLD002", "a fields file is a mapping with a `fields:` key", "see detection/fields/custom.py")
        raise DetectionError(col.diags)
    for key in data:
        if key not in ("fields", "index_patterns", "description"):
            col.error((key,), "FLD002", f"unknown key `{key}`", "allowed: fields, index_patterns, description", key=True)
    if "index_patterns" in data:
        raw = data["index_patterns"]
        if not isinstance(raw, list) or not all(isinstance(p, str) and p for p in raw):
            col.error(("index_patterns",), "FLD002", "`index_patterns` is a list of index patterns")
        else:
            patterns = tuple(raw)
    for doc_path, name, spec in _entries(data["fields"], col):
        for info in _check_spec(doc_path, name, spec, col, shown):
            infos[info.name] = info
    if col.diags:
        raise DetectionError(col.diags)
    return Layer(f"custom {shown}", infos, patterns)


def _entries(fields: Any, col: _Collector) -> Iterable[tuple[tuple, str, Mapping]]:
    if isinstance(fields, Mapping):
        for name, spec in fields.items():
            doc_path = ("fields", name)
            if isinstance(spec, str):
                spec = {"type": spec}
            if not isinstance(spec, Mapping):
                col.error(doc_path, "FLD002", f"field `{name}`: give a type name or a mapping with `type`")
                continue
            yield doc_path, str(name), spec
    elif isinstance(fields, list):
        for i, item in enumerate(fields):
            doc_path = ("fields", i)
            if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
                col.error(doc_path, "FLD002", "each list entry needs `name` and `type`")
                continue
            yield doc_path, item["name"], {k: v for k, v in item.items() if k != "name"}
    else:
        col.error(("fields",), "FLD002", "`fields` is a mapping of name: type, or a list of {name, type}")


def _check_spec(doc_path: tuple, name: str, spec: Mapping, col: _Collector, source: str) -> list[FieldInfo]:
    before = len(col.diags)
    if not name or name.startswith(".") or name.endswith(".") or ".." in name or "*" in name:
        col.error(doc_path, "FLD003", f"`{name}` is not a field name", "use dotted names such as okta.actor.id", key=True)
    for key in spec:
        if key not in _SPEC_KEYS:
            col.error(doc_path + (key,), "FLD002", f"field `{name}`: unknown key `{key}`", f"allowed: {', '.join(sorted(_SPEC_KEYS))}", key=True)
    ftype = spec.get("type")
    if not isinstance(ftype, str) or ftype not in KNOWN_TYPES:
        col.error(
            doc_path + ("type",) if isinstance(spec.get("type"), str) else doc_path,
            "FLD004",
            f"field `{name}`: unknown type {ftype!r}",
            "one of: " + ", ".join(sorted(KNOWN_TYPES)),
        )
    value = spec.get("value")
    if value is not None and (ftype != "constant_keyword" or not isinstance(value, str)):
        col.error(doc_path + ("value",), "FLD005", f"field `{name}`: `value` is only for constant_keyword fields and is a string")
    normalizer = spec.get("normalizer")
    if normalizer is not None and normalizer != "lowercase":
        col.error(doc_path + ("normalizer",), "FLD005", f"field `{name}`: only the `lowercase` normalizer is understood")
    factor = spec.get("scaling_factor")
    if factor is not None and (ftype != "scaled_float" or isinstance(factor, bool) or not isinstance(factor, (int, float))
                               or not factor > 0):
        col.error(doc_path + ("scaling_factor",), "FLD005",
                  f"field `{name}`: `scaling_factor` is a positive number, only for scaled_float fields")
    multi = spec.get("multi_fields")
    if multi is not None and not (isinstance(multi, Mapping) and all(t in KNOWN_TYPES for t in multi.values())):
        col.error(doc_path + ("multi_fields",), "FLD005", f"field `{name}`: multi_fields maps sub-field name to type")
    if len(col.diags) > before:
        return []
    return field_infos(name, spec, source=source)


def load_custom_fields(directory: str | Path) -> FieldSchema:
    """Every ``*.yml``/``*.yaml`` in ``directory`` as one schema (empty if the folder is missing).

    Problems in all files are reported together in one DetectionError.
    """
    folder = Path(directory)
    if not folder.is_dir():
        return FieldSchema.empty()
    layers, diags = [], []
    for path in sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]):
        try:
            layers.append(load_custom_file(path))
        except DetectionError as exc:
            diags.extend(exc.diagnostics)
    if diags:
        raise DetectionError(diags)
    return FieldSchema(tuple(layers))
