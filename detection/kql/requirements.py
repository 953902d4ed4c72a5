"""What every event a query matches must hold: constant terms to index rules and skip lines by.

``required_terms(query, fields)`` reads a KQL tree and returns a conjunction of terms, each
"some value of this field, as keyword text, is one of these strings". It is sound rather than
complete: it only looks at the top-level ``and`` (and at ``or`` branches that all require the
same field) of equality clauses on keyword-like fields, and gives up (no term) on anything else:
``not``, wildcards, ranges, free text, nested queries, text fields and normalised keywords.

``constant_keyword`` fields are answered by the index, not the document: an event without the
field takes the mapping's constant. A term on such a field keeps that constant, so the rule
index can look it up for events that lack the field, and the byte prefilter knows it cannot rely
on the value being written in the line when the constant itself satisfies the term.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from detection.kql.ast import And, Is, Literal, Node, Or
from detection.kql.docs import path_keys, values_at
from detection.kql.matchers import keyword_of

# Field types whose equality with a plain literal is "the keyword text equals the literal".
_EXACT_TYPES = frozenset({"keyword", "wildcard"})


@dataclass(frozen=True)
class Term:
    """The event needs a value of ``field`` (read at ``path``) whose keyword text is in ``values``."""

    field: str
    path: tuple[str, ...]
    values: frozenset[str]
    constant: str | None = None  # constant_keyword: the value an event without the field has
    _keys: tuple = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", path_keys(self.path))

    @property
    def met_by_absence(self) -> bool:
        """True when an event without the field satisfies the term (through the constant)."""
        return self.constant is not None and self.constant in self.values

    def event_values(self, event: Any) -> list[str]:
        """The keyword texts this term compares for ``event``: its values, else the constant."""
        found = values_at(event, self.path, self._keys)
        if not found:
            return [self.constant] if self.constant is not None else []
        return [k for v in found if (k := keyword_of(v)) is not None]

    def admits(self, event: Any) -> bool:
        return any(v in self.values for v in self.event_values(event))


@dataclass(frozen=True)
class RequiredTerms:
    """A conjunction of terms; empty means "no requirement is known" (any event may match)."""

    terms: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)

    def on(self, field_name: str) -> list[Term]:
        return [t for t in self.terms if t.field == field_name]

    def admits(self, event: Any) -> bool:
        """Whether ``event`` meets every term (a matching event always does)."""
        return all(t.admits(event) for t in self.terms)


def required_terms(query: str | Node, fields: Any = None) -> RequiredTerms:
    """The terms every event matching the KQL ``query`` satisfies, for the field schema ``fields``."""
    from detection.kql.compile import as_schema
    from detection.kql.parser import parse

    node = parse(query) if isinstance(query, str) else query
    schema = as_schema(fields)
    return RequiredTerms(tuple(_unique(_terms(node, schema))))


def _terms(node: Node, schema: Any) -> list[Term]:
    if isinstance(node, And):
        return [t for item in node.items for t in _terms(item, schema)]
    if isinstance(node, Or):
        return _either(node.items, schema)
    if isinstance(node, Is):
        term = _equality(node, schema)
        return [term] if term is not None else []
    return []  # not, ranges, exists, wildcards, free text, nested: no sound constant term


def _either(items: Iterable[Node], schema: Any) -> list[Term]:
    return either([_terms(item, schema) for item in items])


def either(branches: list[list[Term]]) -> list[Term]:
    """An ``or`` requires field F only if every branch does; the values are then the union."""
    if not branches or any(not b for b in branches):
        return []
    out = []
    for first in branches[0]:
        values: set[str] = set(first.values)
        for other in branches[1:]:
            same = [t for t in other if t.path == first.path and t.constant == first.constant]
            if not same:
                break
            values |= min(same, key=lambda t: len(t.values)).values  # the tightest of that branch
        else:
            out.append(Term(first.field, first.path, frozenset(values), first.constant))
    return out


def _equality(node: Is, schema: Any) -> Term | None:
    name_node, value = node.field, node.value
    if not isinstance(name_node, Literal) or not isinstance(value, Literal) or value.value is None:
        return None
    name = name_node.text
    if schema.nested_parent(name) is not None or schema.flattened_root(name) is not None:
        return None
    info = schema.info(name)
    if info is None:
        # Unknown to the schema: compared as keyword (see detection.kql.compile).
        return Term(name, tuple(name.split(".")), frozenset([value.text]))
    if info.normalizer:
        return None  # the document's spelling may differ from the query's
    path = tuple(info.source_path.split("."))
    if info.type in _EXACT_TYPES:
        return Term(name, path, frozenset([value.text]))
    if info.type == "constant_keyword":
        return Term(name, path, frozenset([value.text]), info.value)
    return None


def _unique(terms: list[Term]) -> list[Term]:
    seen, out = set(), []
    for t in terms:
        key = (t.path, t.values, t.constant)
        if key not in seen:
            seen.add(key)
            out.append(t)
    return out


def eql_required_terms(query: Any, category_field: str = "event.category", fields: Any = None) -> RequiredTerms:
    """Terms for an EQL event query: its event category and top-level ``==`` / ``in`` on strings.

    Only case-sensitive comparisons of a field with plain strings count (``:``, ``in~`` and
    patterns do not), and only values no number or boolean can stand for, since EQL compares
    numbers with numbers. EQL reads the document only, so constant_keyword mappings play no part.
    """
    from detection import eql
    from detection.eql import ast as A

    parsed = eql.parse(query) if isinstance(query, str) else query
    body = parsed.body
    if parsed.kind != "event" or not isinstance(body, A.EventQuery):
        return RequiredTerms()
    type_of = _type_lookup(fields)

    def term(name: str, values: Iterable[object]) -> list[Term]:
        wanted = list(values)
        if not wanted or not all(isinstance(v, str) and _plain_string(v) for v in wanted):
            return []
        if type_of(name) not in (None, "keyword", "constant_keyword", "wildcard"):
            return []
        return [Term(name, tuple(name.split(".")), frozenset(wanted))]  # type: ignore[arg-type]

    def walk(e: Any) -> list[Term]:
        if isinstance(e, A.BoolOp):
            parts = [walk(o) for o in e.operands]
            return [t for p in parts for t in p] if e.op == "and" else either(parts)
        if isinstance(e, A.Compare) and e.op == "==":
            left, right = e.left, e.right
            if isinstance(left, A.Literal):
                left, right = right, left
            if isinstance(left, A.Field) and isinstance(right, A.Literal):
                return term(left.name, [right.value])
        if isinstance(e, A.InList) and not e.negated and not e.insensitive and isinstance(e.value, A.Field):
            if all(isinstance(i, A.Literal) for i in e.items):
                return term(e.value.name, [i.value for i in e.items])
        return []

    found = walk(body.condition)
    if body.category is not None:
        found = term(category_field, [body.category]) + found
    return RequiredTerms(tuple(_unique(found)))


def _plain_string(value: str) -> bool:
    """Text that only a JSON string can produce (EQL would compare a number with a number)."""
    if not value or value in ("true", "false", "null"):
        return False
    try:
        float(value)
    except ValueError:
        return True
    return False


def _type_lookup(fields: Any):
    if fields is None:
        return lambda name: None
    if isinstance(fields, Mapping):
        return lambda name: fields.get(name) if isinstance(fields.get(name), str) else None
    type_of = getattr(fields, "type_of", None)
    return type_of if callable(type_of) else (lambda name: None)
