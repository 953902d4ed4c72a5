"""Turn a KQL tree into a predicate over event dicts, with Elasticsearch's matching rules.

Field names are resolved against a :class:`FieldSchema` once, at compile time; clauses on
keyword-like fields become inline Python (``compile()``d per query) with a fast path for the
common document shape and an exact fallback for arrays, flat dotted keys and mixtures. All
other clauses are closures built by :mod:`detection.kql.matchers`.

Choices where Elasticsearch depends on the mapping (see docs/kql.md):

* A field the schema does not know but the document has is treated as ``keyword``.
* A field neither knows matches nothing, so ``not missing_field:x`` is true.
* ``constant_keyword`` fields match their constant when the document lacks them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detection.fields import FieldInfo, FieldSchema, default_schema
from detection.fields.patterns import glob_regex
from detection.kql.ast import (
    And,
    Exists,
    FreeText,
    Is,
    Literal,
    MatchAll,
    Nested,
    Node,
    Not,
    Or,
    Range,
    Value,
    Wildcard,
    render,
)
from detection.kql.docs import flatten, has_value, leaves, objects_at, path_keys, values_at
from detection.kql.errors import KqlError
from detection.kql.matchers import (
    Invalid,
    Test,
    exists_test,
    is_test,
    range_test,
)
from detection.kql.parser import parse

Predicate = Callable[[Mapping], bool]
_MISSING = object()  # a field absent from the document (fast path)
_IRREGULAR = object()  # a document shape the fast path leaves to the exact code
_SKIP_TYPES = frozenset({"object", "nested", "group"})


@dataclass(frozen=True)
class Target:
    """One concrete field a clause reads."""

    name: str  # absolute field name, as the schema knows it
    parts: tuple[str, ...]  # where the value sits, relative to the current scope
    ftype: str
    info: FieldInfo | None
    constant: str | None = None
    flattened_root: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", path_keys(self.parts))

    def values(self, doc: Any) -> list:
        keys = self._keys  # type: ignore[attr-defined]
        if self.flattened_root:
            found = leaves(objects_at(doc, self.parts, keys))
            return found + values_at(doc, self.parts, keys)
        return values_at(doc, self.parts, keys)


@dataclass(frozen=True)
class Scope:
    prefix: str = ""  # "items." inside items:{ ... }
    nested_path: str | None = None


def as_schema(fields: FieldSchema | Mapping | None) -> FieldSchema:
    if fields is None:
        return default_schema()
    if isinstance(fields, FieldSchema):
        return fields
    return FieldSchema.from_mapping(fields)


class Compiler:
    """Compiles nodes of one query; ``closure(node)`` gives the exact predicate of any subtree."""

    def __init__(self, schema: FieldSchema, query: str, offsets: bool, now: datetime, scope: Scope = Scope()):
        self.schema, self.query, self.offsets, self.now, self.scope = schema, query, offsets, now, scope
        self._closures: dict[int, Predicate] = {}
        self._targets: dict[int, list[Target]] = {}
        self.namespace: dict[str, Any] = {"_M": _MISSING, "_X": _IRREGULAR}
        self._counter = 0

    # ------------------------------------------------------------------ errors
    def error(self, message: str, node: Node | Value | None, hint: str | None = None) -> KqlError:
        offset = node.span[0] if (self.offsets and node is not None and node.span) else 0
        return KqlError(message, self.query, offset, hint)

    # ------------------------------------------------------------------ fields
    def targets(self, field: Value, node: Node, lenient: bool = False) -> list[Target]:
        key = id(field)
        if key not in self._targets:
            self._targets[key] = self._resolve(field, node)
        return self._targets[key]

    def _resolve(self, field: Value, node: Node) -> list[Target]:
        prefix = self.scope.prefix
        if isinstance(field, Wildcard):
            pattern = prefix + field.text
            names = [n for n in self.schema.match_pattern(pattern) if self.schema.type_of(n) not in _SKIP_TYPES]
            return [self._target(n) for n in names]
        name = prefix + field.text
        self._check_nesting(name, field)
        return [self._target(name)]

    def _target(self, name: str) -> Target:
        info = self.schema.info(name)
        prefix_len = len(self.scope.prefix)
        if info is not None:
            rel = info.source_path[prefix_len:]
            return Target(name, tuple(rel.split(".")), info.type, info, info.value, info.type == "flattened")
        rel = name[prefix_len:]
        if self.schema.flattened_root(name) is not None:
            return Target(name, tuple(rel.split(".")), "flattened", None)
        # Unknown to the schema: keyword if the document has it (see module docstring).
        return Target(name, tuple(rel.split(".")), "keyword", None)

    def _check_nesting(self, name: str, field: Value) -> None:
        parent = self.schema.nested_parent(name)
        inside = self.scope.nested_path
        if self.schema.info(name) is None and parent is None:
            return
        if parent and not inside:
            raise self.error(
                f"{name} is a nested field, but is not in a nested group in the KQL expression.",
                field,
                f"write {parent}:{{ {name[len(parent) + 1:]}: ... }}",
            )
        if inside and not parent:
            raise self.error(f'{name} is not a nested field but is in nested group "{inside}" in the KQL expression.', field)
        if inside and parent != inside:
            raise self.error(
                f"Nested field {name} is being queried with the incorrect nested path. The correct path is {parent}.",
                field,
            )

    # ------------------------------------------------------------------ closures
    def closure(self, node: Node) -> Predicate:
        key = id(node)
        fn = self._closures.get(key)
        if fn is None:
            fn = self._build(node)
            self._closures[key] = fn
        return fn

    def _build(self, node: Node) -> Predicate:
        if isinstance(node, And):
            parts = [self.closure(c) for c in node.items]
            return lambda d: all(p(d) for p in parts)
        if isinstance(node, Or):
            parts = [self.closure(c) for c in node.items]
            return lambda d: any(p(d) for p in parts)
        if isinstance(node, Not):
            inner = self.closure(node.item)
            return lambda d: not inner(d)
        if isinstance(node, MatchAll):
            return lambda d: True
        if isinstance(node, Is):
            return self._field_leaf(node, node.field, lambda t: is_test(t.ftype, t.info, node.value, t.name, self.now))
        if isinstance(node, Range):
            return self._field_leaf(node, node.field, lambda t: range_test(t.ftype, t.info, node.op, node.value, t.name, self.now))
        if isinstance(node, Exists):
            return self._exists(node)
        if isinstance(node, Nested):
            return self._nested(node)
        if isinstance(node, FreeText):
            return self._free_text(node)
        raise TypeError(f"not a KQL node: {node!r}")

    def _field_leaf(self, node: Node, field: Value, make: Callable[[Target], Test | None]) -> Predicate:
        wildcard_field = isinstance(field, Wildcard)
        pairs: list[tuple[Target, Test]] = []
        for target in self.targets(field, node):
            try:
                test = make(target)
            except Invalid as exc:
                if wildcard_field:
                    continue  # a pattern may reach fields of other types; skip those (lenient)
                raise self.error(exc.message, _value_of(node), exc.hint) from None
            if test is not None:
                pairs.append((target, test))
        dynamic = self._dynamic(field, make) if wildcard_field else None

        def leaf(doc: Any) -> bool:
            for target, test in pairs:
                values = target.values(doc)
                if values:
                    for v in values:
                        if test(v):
                            return True
                elif target.constant is not None and test(target.constant):
                    return True
            return dynamic(doc) if dynamic is not None else False

        return leaf

    def _dynamic(self, field: Wildcard, make: Callable[[Target], Test | None]) -> Predicate | None:
        """Document fields the schema does not know, matched by a field-name pattern, as keyword."""
        regex = glob_regex(field.text)
        schema = self.schema
        prefix = self.scope.prefix
        try:
            test = make(Target(field.text, (), "keyword", None))
        except Invalid:
            return None
        if test is None:
            return None

        def dynamic(doc: Any) -> bool:
            for path, value in flatten(doc):
                if regex.match(path) and schema.info(prefix + path) is None and schema.flattened_root(prefix + path) is None:
                    if test(value):
                        return True
            return False

        return dynamic

    def _exists(self, node: Exists) -> Predicate:
        return self._field_leaf(node, node.field, lambda t: exists_test(t.ftype, t.info))

    def _nested(self, node: Nested) -> Predicate:
        if not isinstance(node.path, Literal) or not isinstance(node.path.value, str):
            raise self.error("a nested query needs a field path", node.path)
        path = self.scope.prefix + node.path.value
        ftype = self.schema.type_of(path)
        if ftype != "nested":
            what = "is not of nested type" if ftype else "was not found in the field schema"
            raise self.error(
                f"[nested] nested object under path [{path}] {what}",
                node.path,
                "declare it as `nested` in schemas/fields/*.yml, or query its fields without { }",
            )
        inner_compiler = Compiler(self.schema, self.query, self.offsets, self.now, Scope(path + ".", path))
        inner = inner_compiler.closure(node.query)
        self._inner = getattr(self, "_inner", {})
        self._inner[id(node)] = inner_compiler
        parts = tuple(node.path.value.split("."))
        keys = path_keys(parts)
        return lambda d: any(inner(obj) for obj in objects_at(d, parts, keys))

    def inner_compiler(self, node: Nested) -> Compiler | None:
        return getattr(self, "_inner", {}).get(id(node))

    def _free_text(self, node: FreeText) -> Predicate:
        value = node.value
        if isinstance(value, Literal) and value.value is None:
            raise self.error("[multi_match] requires query value", value, 'to search for the text "null", quote it')
        if isinstance(value, Wildcard) and value.is_lone:
            return has_value
        schema, now = self.schema, self.now
        cache: dict[tuple[str, FieldInfo | None], Test | None] = {}
        multi = _multi_fields(schema)

        def test_for(ftype: str, info: FieldInfo | None) -> Test | None:
            key = (ftype, info)
            if key not in cache:
                try:
                    cache[key] = is_test(ftype, info, value, "*", now)
                except Invalid:
                    cache[key] = None  # free text is lenient: fields that can't take the value are skipped
            return cache[key]

        prefix = self.scope.prefix

        def free_text(doc: Any) -> bool:
            for path, v in flatten(doc):
                full = prefix + path
                info = schema.info(full)
                if info is None:
                    ftype = "flattened" if schema.flattened_root(full) else "keyword"
                else:
                    ftype = info.type
                test = test_for(ftype, info)
                if test is not None and test(v):
                    return True
                for sub in multi.get(full, ()):
                    test = test_for(sub.type, sub)
                    if test is not None and test(v):
                        return True
            return False

        return free_text

    # ------------------------------------------------------------------ code generation
    def source(self, node: Node) -> str:
        """A Python expression over ``d`` for ``node``; registers helpers in ``self.namespace``."""
        if isinstance(node, And):
            return "(" + " and ".join(self.source(c) for c in node.items) + ")"
        if isinstance(node, Or):
            return "(" + " or ".join(self.source(c) for c in node.items) + ")"
        if isinstance(node, Not):
            return f"(not {self.source(node.item)})"
        if isinstance(node, MatchAll):
            return "True"
        fast = self._fast_equality(node)
        if fast is not None:
            return fast
        return f"{self._register(self.closure(node))}(d)"

    def _register(self, fn: Callable) -> str:
        self._counter += 1
        name = f"_f{self._counter}"
        self.namespace[name] = fn
        return name

    def _fast_equality(self, node: Node) -> str | None:
        """Inline code for ``keyword_field: "text"``, the bulk of detection queries."""
        if not isinstance(node, Is) or isinstance(node.field, Wildcard):
            return None
        value = node.value
        if not isinstance(value, Literal) or not isinstance(value.value, str):
            return None
        targets = self.targets(node.field, node)
        if len(targets) != 1:
            return None
        t = targets[0]
        if t.ftype not in ("keyword", "constant_keyword", "wildcard") or t.flattened_root:
            return None
        if t.info is not None and (t.info.normalizer or (t.info.ignore_above is not None and len(value.value) > t.info.ignore_above)):
            return None
        exact = self._register(self.closure(node))
        missing = repr(t.constant == value.value) if t.constant is not None else "False"
        self._counter += 1
        v = f"_v{self._counter}"
        access = _access_code(t.parts, "d", f"_t{self._counter}_")
        # str leaf on a regular path: compare; absent: constant or False; anything else: exact code
        return f"({v} == {value.value!r} if ({v} := {access}).__class__ is str else ({missing} if {v} is _M else {exact}(d)))"


def _access_code(parts: tuple[str, ...], var: str, tmp: str, k: int = 0) -> str:
    """Expression giving the value at ``parts`` via nested dicts, ``_M`` if absent, ``_X`` if irregular."""
    if k == len(parts) - 1:
        return f"{var}.get({parts[k]!r}, _M)"
    dotted = [".".join(parts[k:j]) for j in range(k + 2, len(parts) + 1)]
    alt = " or ".join(f"{key!r} in {var}" for key in dotted)
    nxt = f"{tmp}{k + 1}"
    inner = _access_code(parts, nxt, tmp, k + 1)
    walk = f"(({inner}) if ({nxt} := {var}.get({parts[k]!r}, _M)).__class__ is dict else (_M if ({nxt} is _M or {nxt} is None) else _X))"
    return f"(_X if ({alt}) else {walk})"


def _value_of(node: Node) -> Value | None:
    value = getattr(node, "value", None)
    return value if isinstance(value, (Literal, Wildcard)) else getattr(node, "field", None)


def _multi_fields(schema: FieldSchema) -> dict[str, list[FieldInfo]]:
    out: dict[str, list[FieldInfo]] = {}
    for name in schema.names():
        info = schema.info(name)
        if info is not None and info.parent:
            out.setdefault(info.parent, []).append(info)
    return out


def build(query: str | Node, fields: FieldSchema | Mapping | None = None, now: datetime | None = None) -> tuple[Node, Compiler]:
    """Parse (if needed) and prepare a compiler; errors surface when nodes are compiled."""
    if isinstance(query, str):
        node, text, offsets = parse(query), query, True
    else:
        node, text, offsets = query, render(query), False
    moment = now or datetime.now(UTC)
    return node, Compiler(as_schema(fields), text, offsets, moment)


def compile_query(query: str | Node, fields: FieldSchema | Mapping | None = None, *, now: datetime | None = None) -> Predicate:
    """A fast predicate ``event -> bool``; raises KqlError where Elasticsearch would reject the query.

    ``fields`` is a FieldSchema, a ``{"name": "type"}`` mapping, or None for :func:`default_schema`;
    ``now`` fixes the clock for date math (default: the time of compilation).
    """
    node, compiler = build(query, fields, now)
    compiler.closure(node)  # validates every clause, raising located errors
    body = compiler.source(node)
    code = f"def _kql_predicate(d):\n    return {body}\n"
    namespace = dict(compiler.namespace)
    exec(compile(code, "<kql>", "exec"), namespace)  # noqa: S102 - code generated from our own AST
    predicate = namespace["_kql_predicate"]
    predicate.kql_source = code
    predicate.kql_node = node
    predicate.kql_query = compiler.query
    return predicate
