"""A compiled EQL query: ``matches(event)`` for event queries, ``run(events)`` for all kinds.

Results are ordered as Elasticsearch returns them: events by timestamp, then tiebreaker
(events without a tiebreaker value last; the input position breaks remaining ties),
sequences by their first event; ``| head N`` keeps the first N, ``| tail N`` the last N
(EQL pipe reference). Samples are ordered by join key and take no pipes.

Sequences need a time order, so events whose timestamp is missing or unreadable take no
part in them; event queries still return such events, after all timestamped ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from detection.eql import ast as A
from detection.eql.compiler import Compiler, Pred
from detection.eql.errors import UNSUPPORTED, EqlError
from detection.eql.sequences import Step, run_sample, run_sequence
from detection.eql.values import make_getter, parse_timestamp, sort_key

DEFAULT_CATEGORY_FIELD = "event.category"
DEFAULT_TIMESTAMP_FIELD = "@timestamp"


@dataclass(frozen=True)
class Match:
    """One result: an event, a sequence or a sample.

    ``indexes`` holds one input index per step (a single one for event queries); a
    missing-event step holds ``None``, as Elasticsearch marks it ``"missing": true``.
    """

    indexes: tuple[int | None, ...]
    join_keys: tuple = ()

    @property
    def events(self) -> list[int]:
        """Indexes of the events that matched (missing-event steps left out)."""
        return [i for i in self.indexes if i is not None]


def schema_lookup(fields: object) -> Callable[[str], str | None]:
    """Accept None, a mapping of field name to type, or an object with ``type_of(name)``."""
    if fields is None:
        return lambda name: None
    if isinstance(fields, Mapping):
        return lambda name: fields.get(name) if isinstance(fields.get(name), str) else None
    type_of = getattr(fields, "type_of", None)
    if not callable(type_of):
        raise TypeError("fields must be None, a mapping of field name to type, or have type_of(name)")

    def lookup(name: str) -> str | None:
        t = type_of(name)
        return t if isinstance(t, str) else None
    return lookup


class CompiledQuery:
    def __init__(self, query: A.Query, fields: object = None, *,
                 event_category_field: str = DEFAULT_CATEGORY_FIELD,
                 timestamp_field: str = DEFAULT_TIMESTAMP_FIELD,
                 tiebreaker_field: str | None = None):
        self.query = query
        self.kind = query.kind
        self.event_category_field = event_category_field
        self.timestamp_field = timestamp_field
        self.tiebreaker_field = tiebreaker_field
        schema = schema_lookup(fields)

        def type_of(name: str) -> str | None:
            t = schema(name)
            # The timestamp field is a date by definition (EQL "Required fields").
            return "date" if t is None and name == timestamp_field else t
        self._compiler = Compiler(query.text, type_of)
        for e in A.query_expressions(query):
            self._compiler.check_fields(e)
        self._ts = make_getter(timestamp_field)
        self._tb = make_getter(tiebreaker_field) if tiebreaker_field else None
        body = query.body
        if isinstance(body, A.EventQuery):
            self._filter = self._event_filter(body)
        elif isinstance(body, A.Sequence):
            self._steps = self._build_steps(body.keys, body.stages())
            self._until = self._build_steps(body.keys, [body.until])[0] if body.until else None
            self._maxspan = body.maxspan.nanos if body.maxspan else None
        else:
            self._steps = self._build_steps(body.keys, list(body.terms))

    def __repr__(self) -> str:
        return f"CompiledQuery({self.query.render()!r})"

    # ---- building ------------------------------------------------------------------------

    def _event_filter(self, q: A.EventQuery) -> Pred:
        if q.category is None:
            return self._compiler.condition(q.condition)
        return self._compiler.condition(q.condition, self._compiler.category(self.event_category_field, q.category))

    def _build_steps(self, shared: tuple[A.Expr, ...], terms: list[A.Term]) -> list[Step]:
        cache: dict[int, Step] = {}
        steps = []
        for t in terms:
            # runs=N repeats one term; compiling it once lets matching share the work
            step = cache.get(id(t))
            if step is None:
                step = cache[id(t)] = Step(self._event_filter(t.query), self._key_fn(shared + t.keys), t.missing)
            steps.append(step)
        return steps

    def _key_fn(self, keys: tuple[A.Expr, ...]) -> Callable[[Mapping], tuple | None]:
        if not keys:
            return lambda ev: ()
        # "By default, a join key must be a non-null field value"; ?field allows null.
        fns = [(self._compiler.key(k), isinstance(k, A.Field) and k.optional) for k in keys]

        def key(ev: Mapping) -> tuple | None:
            out = []
            for fn, optional in fns:
                v = fn(ev)
                if v is None and not optional:
                    return None
                out.append(v)
            return tuple(out)
        return key

    # ---- running -------------------------------------------------------------------------

    def matches(self, event: Mapping) -> bool:
        """Whether one event matches an event query."""
        if self.kind != "event":
            raise EqlError(f"matches() takes one event, but this is a {self.kind} query; use run(events)",
                           self.query.text, 0, code=UNSUPPORTED)
        return (event.__class__ is dict or isinstance(event, Mapping)) and self._filter(event)

    def _ordinal(self, events: Sequence[Mapping], idx: int) -> tuple:
        ev = events[idx]
        ts = parse_timestamp(self._ts(ev))
        tb: tuple = (1,)
        if self._tb is not None:
            raw = self._tb(ev)
            if isinstance(raw, list):
                raw = raw[0] if raw else None
            if raw is not None:
                tb = (0, sort_key(raw))
        return (0 if ts is not None else 1, ts or 0, tb, idx)

    def run(self, events: Sequence[Mapping]) -> list[Match]:
        """All matches in ``events`` (a sequence of mappings), pipes applied."""
        events = events if isinstance(events, Sequence) else list(events)
        if self.kind == "sample":
            return [Match(idxs, key) for key, idxs in run_sample(self._steps, events)]
        usable = [i for i in range(len(events)) if isinstance(events[i], Mapping)]
        if self.kind == "event":
            # filter first: only the matches need their timestamps read and sorted
            hits = [i for i in usable if self._filter(events[i])]
            hits.sort(key=lambda i: self._ordinal(events, i))
            results = [Match((i,)) for i in hits]
        else:
            # only events some step (or until) accepts can matter; skip reading the rest's times
            preds = list(dict.fromkeys([s.matches for s in self._steps]
                                       + ([self._until.matches] if self._until else [])))
            usable = [i for i in usable if any(p(events[i]) for p in preds)]
            ordinals = {i: self._ordinal(events, i) for i in usable}
            order = sorted(usable, key=ordinals.__getitem__)
            timed = [i for i in order if ordinals[i][0] == 0]
            ts = {i: ordinals[i][1] for i in timed}
            found = run_sequence(self._steps, self._until, self._maxspan, events, timed, ts)
            rank = {i: r for r, i in enumerate(timed)}
            found.sort(key=lambda f: rank[next(i for i in f[1] if i is not None)])
            results = [Match(idxs, key) for key, idxs in found]
        for pipe in self.query.pipes:
            results = results[:pipe.count] if pipe.name == "head" else results[-pipe.count:]
        return results

    def field_names(self) -> list[str]:
        return field_names(self.query)


def field_names(query: A.Query) -> list[str]:
    """Sorted names of every field the query reads (conditions and join keys)."""
    names = set()
    for e in A.query_expressions(query):
        for n in A.walk(e):
            if isinstance(n, A.Field):
                names.add(n.name)
    return sorted(names)
