"""Many rules over one event: evaluate only the rules that could match it.

Each rule brings a predicate and the terms every event it matches must hold
(:mod:`detection.kql.requirements`). The index files each rule under one of its terms, the most
selective by field (``event.action`` before ``event.provider``, ``event.category`` and
``event.dataset``), one bucket per value. For an event it reads the values of the few indexed
fields, takes the rules in the matching buckets plus those with no usable term, and runs only
their predicates. The result is the same list, in the same order, as running every predicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from detection.kql.docs import path_keys, values_at
from detection.kql.matchers import keyword_of
from detection.kql.requirements import RequiredTerms, Term

# Fields to index by, most selective first; fields not listed rank between these and the last.
FIELD_PREFERENCE = ("event.action", "event.provider", "event.category")
LEAST_PREFERRED = ("event.dataset", "event.module", "data_stream.dataset")


@dataclass(frozen=True)
class IndexedRule:
    """A rule as the index sees it: a handle for the caller, its predicate, its required terms."""

    key: Any
    predicate: Callable[[Mapping], bool]
    requirements: RequiredTerms = RequiredTerms()


def term_rank(term: Term) -> tuple:
    """Lower is better: terms events meet by lacking the field last, then by field, then fewer values."""
    if term.field in FIELD_PREFERENCE:
        by_field = FIELD_PREFERENCE.index(term.field)
    elif term.field in LEAST_PREFERRED:
        by_field = len(FIELD_PREFERENCE) + 1 + LEAST_PREFERRED.index(term.field)
    else:
        by_field = len(FIELD_PREFERENCE)
    return (term.met_by_absence, by_field, len(term.values), term.field)


def index_term(requirements: RequiredTerms) -> Term | None:
    """The term a rule is filed under, or None when it has none (it is then always evaluated)."""
    return min(requirements.terms, key=term_rank) if requirements.terms else None


_MISSING = object()


def _fast_lookup(path: tuple[str, ...], buckets: dict[str, list[int]], constant: str | None) -> Callable[[Any], Any]:
    """Code for the common document shape: the bucket of the string at ``path`` in nested dicts.

    Returns the bucket (``()`` when none), the constant's bucket when the field is absent, or
    None when the document has another shape here (flat dotted keys, arrays, numbers) and the
    exact reader must decide.
    """
    lines = ["def lookup(d):"]
    var = "d"
    for i, part in enumerate(path):
        dotted = [".".join(path[i:j]) for j in range(i + 2, len(path) + 1)]
        lines.append(f"    if {var}.__class__ is not dict: return None")
        lines.extend(f"    if {key!r} in {var}: return None" for key in dotted)
        nxt = f"v{i}"
        lines.append(f"    {nxt} = {var}.get({part!r}, _M)")
        lines.append(f"    if {nxt} is _M or {nxt} is None: return _ABSENT")
        var = nxt
    lines.append(f"    if {var}.__class__ is str: return _B.get({var}, ())")
    lines.append("    return None")
    absent = buckets.get(constant, ()) if constant is not None else ()
    namespace: dict[str, Any] = {"_M": _MISSING, "_B": buckets, "_ABSENT": absent}
    exec("\n".join(lines), namespace)  # noqa: S102 - generated from a field path, no user code
    return namespace["lookup"]


@dataclass
class _Group:
    """Rules filed under one field (and constant): a bucket of rule positions per value."""

    path: tuple[str, ...]
    constant: str | None
    buckets: dict[str, list[int]] = field(default_factory=dict)
    keys: tuple = ()

    def __post_init__(self) -> None:
        self.keys = path_keys(self.path)

    def fast(self) -> Callable[[Any], Any]:
        return _fast_lookup(self.path, self.buckets, self.constant)

    def texts(self, event: Any) -> Sequence[str]:
        """The keyword texts of the field in ``event`` (the constant when it has none)."""
        raw = values_at(event, self.path, self.keys)
        if not raw:
            return (self.constant,) if self.constant is not None else ()
        return [t for v in raw if (t := keyword_of(v)) is not None]

    def candidates(self, event: Any) -> Sequence[int]:
        """Rule positions filed under one of the event's values, ascending, no repeats."""
        texts = self.texts(event)
        if len(texts) == 1:
            return self.buckets.get(texts[0], ())
        found = [b for t in texts if (b := self.buckets.get(t))]
        if len(found) <= 1:
            return found[0] if found else ()
        return sorted({p for b in found for p in b})


class RuleIndex:
    """Rules bucketed by a required term; ``matches(event)`` equals running every predicate."""

    def __init__(self, rules: Iterable[IndexedRule]):
        self.rules: list[IndexedRule] = list(rules)
        groups: dict[tuple, _Group] = {}
        always: list[int] = []
        for position, rule in enumerate(self.rules):
            term = index_term(rule.requirements)
            if term is None:
                always.append(position)
                continue
            group = groups.get((term.path, term.constant))
            if group is None:
                group = groups[(term.path, term.constant)] = _Group(term.path, term.constant)
            for value in term.values:
                group.buckets.setdefault(value, []).append(position)
        self._groups = list(groups.values())
        # Built after filing: the generated lookups hold the finished bucket dicts.
        self._lookups = [(g.fast(), g.candidates) for g in self._groups]
        self._always = always
        self.predicates = [r.predicate for r in self.rules]

    @property
    def unindexed(self) -> list[IndexedRule]:
        """Rules with no usable term: every event meets them."""
        return [self.rules[i] for i in self._always]

    def candidates(self, event: Any) -> list[int]:
        """Positions of the rules that could match ``event``, ascending."""
        out = list(self._always)
        for fast, exact in self._lookups:
            bucket = fast(event)
            out.extend(exact(event) if bucket is None else bucket)
        return sorted(out)  # each rule is filed once, so the lists are disjoint

    def matching_positions(self, event: Any) -> list[int]:
        """Positions of the rules whose predicate accepts ``event``, ascending."""
        predicates = self.predicates
        out = [p for p in self._always if predicates[p](event)] if self._always else []
        unsorted = False
        for fast, exact in self._lookups:
            bucket = fast(event)
            if bucket is None:
                bucket = exact(event)
            if bucket:
                for p in bucket:
                    if predicates[p](event):
                        unsorted = unsorted or bool(out)
                        out.append(p)
        if unsorted:
            out.sort()
        return out

    def matches(self, event: Any) -> list[Any]:
        """Keys of the rules whose predicate accepts ``event``, in rule order."""
        rules = self.rules
        return [rules[p].key for p in self.matching_positions(event)]

    def stats(self) -> dict[str, int]:
        """How the rules were filed: per indexed field, and how many are always evaluated."""
        out: dict[str, int] = {"unindexed": len(self._always)}
        for group in self._groups:
            name = ".".join(group.path) + (f" (constant {group.constant})" if group.constant is not None else "")
            out[name] = len({p for b in group.buckets.values() for p in b})
        return out


def plain_matches(rules: Sequence[IndexedRule], event: Any) -> list[Any]:
    """The reference: every predicate, in order (what the index must agree with)."""
    return [r.key for r in rules if r.predicate(event)]
