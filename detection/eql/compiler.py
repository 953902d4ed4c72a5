"""Turn a verified EQL syntax tree into plain Python closures, once per query.

Truth follows how Elasticsearch runs EQL, which is by translating each comparison of a
field with a constant into a Lucene query (``ExpressionTranslators`` in the
Elasticsearch QL planner; e.g. ``!=`` becomes ``must_not: term``):

* a predicate on a field is true when *any* of the field's values satisfies it, so
  multi-valued (array) fields match on any element; this is also how EQL runs since
  multi-value support landed in 7.15 (elastic/elasticsearch#76610, docs #76663);
* ``f != "x"`` and ``f not in (...)`` are the negation of ``==``/``in``: true when no
  value equals, which includes a missing field (Lucene ``must_not``);
* ``f == null`` is true when the field has no value, ``f != null`` when it has one
  (EQL syntax reference, "Check if a field exists");
* any other comparison with a missing value or a null result is false;
* ``not`` negates its operand.

Predicates over computed values (functions, arithmetic) are evaluated for every
combination of the values of the fields they read, and hold if one combination does.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping

from detection.eql import ast as A
from detection.eql.compare import (
    ORDER_OPS,
    TEXT_TYPES,
    TypeMismatch,
    eq_test,
    member_test,
    order_test,
)
from detection.eql.errors import FIELD_TYPE, EqlError
from detection.eql.functions import OPERATORS, cidr_matcher, lookup, parse_cidr
from detection.eql.patterns import regex_test, wildcard_test
from detection.eql.values import key_value, make_getter, to_num, to_str, values_of

Pred = Callable[[Mapping], bool]
ValueFn = Callable[[tuple], object]
TypeOf = Callable[[str], "str | None"]

_SCALARS = (str, int, float, bool)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}


def _true(ev: Mapping) -> bool:
    return True


def _false(ev: Mapping) -> bool:
    return False


def _any_value(get: Callable[[Mapping], object], test: Callable[[object], bool]) -> Pred:
    def pred(ev: Mapping) -> bool:
        raw = get(ev)
        if raw is None:
            return False
        if raw.__class__ is list:
            for v in values_of(raw):
                if test(v):
                    return True
            return False
        return test(raw)
    return pred


def _has_value(get: Callable[[Mapping], object]) -> Pred:
    def pred(ev: Mapping) -> bool:
        raw = get(ev)
        if raw is None:
            return False
        return bool(values_of(raw)) if raw.__class__ is list else True
    return pred


def _negate(p: Pred) -> Pred:
    return lambda ev: not p(ev)


def _scalar(v: object) -> object:
    return v if isinstance(v, _SCALARS) else None


class Compiler:
    def __init__(self, text: str, type_of: TypeOf):
        self.text = text
        self.type_of = type_of
        self._getters: dict[str, Callable[[Mapping], object]] = {}

    def fail(self, message: str, node: object, hint: str | None = None) -> EqlError:
        return EqlError(message, self.text, getattr(node, "pos", 0), code=FIELD_TYPE, hint=hint)

    def getter(self, name: str) -> Callable[[Mapping], object]:
        g = self._getters.get(name)
        if g is None:
            g = self._getters[name] = make_getter(name)
        return g

    def check_fields(self, e: A.Expr) -> None:
        """Elasticsearch EQL cannot search text fields ("Text fields are not supported")."""
        for n in A.walk(e):
            if isinstance(n, A.Field):
                t = self.type_of(n.name)
                if t in TEXT_TYPES and self.type_of(n.name + ".keyword") is None:
                    raise self.fail(f"{n.name} is a {t} field, which EQL cannot search", n,
                                    hint="use a keyword field or a keyword sub-field instead")

    # ---- conditions ----------------------------------------------------------------------

    def condition(self, e: A.Expr, first: Pred | None = None) -> Pred:
        """One function for a whole condition (``first``, if given, is and-ed in front).

        The and/or/not skeleton becomes generated Python source, so a condition costs one
        call plus one per comparison, instead of one call per node.
        """
        atoms: list[Pred] = []
        src = self._source(e, atoms)
        if first is not None:
            atoms.append(first)
            src = f"a{len(atoms) - 1}(ev) and {src}"
        namespace: dict = {f"a{i}": f for i, f in enumerate(atoms)}
        exec(f"def pred(ev):\n    return {src}\n", namespace)  # noqa: S102 - our own generated code
        return namespace["pred"]

    def _source(self, e: A.Expr, atoms: list[Pred]) -> str:
        if isinstance(e, A.BoolOp):
            return "(" + f" {e.op} ".join(self._source(o, atoms) for o in e.operands) + ")"
        if isinstance(e, A.Not):
            return f"(not {self._source(e.operand, atoms)})"
        if isinstance(e, A.Literal):
            return "True" if e.value is True else "False"
        atoms.append(self.atomic(e))
        return f"a{len(atoms) - 1}(ev)"

    def _plain(self, e: A.Expr) -> bool:
        return isinstance(e, A.Field)

    def _const(self, e: A.Expr) -> bool:
        return not any(isinstance(n, A.Field) for n in A.walk(e))

    def fold(self, e: A.Expr) -> object:
        return self.value(e, {})(())

    def atomic(self, e: A.Expr) -> Pred:
        if isinstance(e, A.Field):
            ftype = self._type(e)
            if ftype is not None and ftype != "boolean":
                raise self.fail(f"{e.name} is a {ftype} field, so it cannot stand alone as a condition", e,
                                hint=f"compare it to a value, e.g. {e.render()} != null")
            return _any_value(self.getter(e.name), eq_test(True, ftype))
        if self._const(e):
            result = self.value(e, {})(())
            return _true if result is True else _false
        if isinstance(e, A.Compare):
            left, op, right = e.left, e.op, e.right
            if self._const(left):
                left, right, op = right, left, _FLIP[op]
            if self._plain(left):
                return self.field_compare(left, op, self.fold(right), right)
        elif isinstance(e, A.InList) and self._plain(e.value):
            items = [self.fold(i) for i in e.items]
            test = self._typed(lambda: member_test(items, self._type(e.value), e.insensitive), e)
            pos = _any_value(self.getter(e.value.name), test)
            return _negate(pos) if e.negated else pos
        elif isinstance(e, A.Pattern) and self._plain(e.value):
            return _any_value(self.getter(e.value.name), self.pattern_test(e))
        return self.generic(e)

    def _type(self, f: A.Expr) -> str | None:
        return self.type_of(f.name) if isinstance(f, A.Field) else None

    def _typed(self, make: Callable[[], Callable[[object], bool]], node: A.Expr) -> Callable[[object], bool]:
        try:
            return make()
        except TypeMismatch as exc:
            raise self.fail(str(exc), node) from None

    def field_compare(self, f: A.Field, op: str, const: object, node: A.Expr) -> Pred:
        get = self.getter(f.name)
        ftype = self._type(f)
        if const is None:
            if op == "==":
                return _negate(_has_value(get))
            if op == "!=":
                return _has_value(get)
            return _false
        if op in ("==", "!="):
            pos = _any_value(get, self._typed(lambda: eq_test(const, ftype), node))
            return pos if op == "==" else _negate(pos)
        return _any_value(get, self._typed(lambda: order_test(op, const, ftype), node))

    def pattern_test(self, e: A.Pattern) -> Callable[[object], bool]:
        make = regex_test if e.is_regex else wildcard_test
        values = [p.value for p in e.patterns]
        # Patterns without wildcards are plain (possibly case-folded) equality: use a set.
        exact = set()
        if not e.is_regex:
            exact = {v.lower() if e.insensitive else v for v in values if "*" not in v and "?" not in v}
            values = [v for v in values if "*" in v or "?" in v]
        tests = [make(v, e.insensitive) for v in values]  # type: ignore[arg-type]
        fold = e.insensitive

        def test(v: object) -> bool:
            s = v if v.__class__ is str else to_str(v)
            if s is None:
                return False
            if exact and (s.lower() if fold else s) in exact:
                return True
            for t in tests:
                if t(s):
                    return True
            return False
        return test

    # ---- computed predicates -------------------------------------------------------------

    def generic(self, e: A.Expr) -> Pred:
        names: list[str] = []
        for n in A.walk(e):
            if isinstance(n, A.Field) and n.name not in names:
                names.append(n.name)
        slots = {name: i for i, name in enumerate(names)}
        negated_null = isinstance(e, A.Compare) and e.op == "==" and self._is_null(e)
        test = self.generic_test(e, slots)
        getters = [self.getter(n) for n in names]
        if len(getters) == 1:
            g = getters[0]

            def pred1(ev: Mapping) -> bool:
                raw = g(ev)
                if raw.__class__ is list:
                    vals = values_of(raw)
                    if not vals:
                        return test((None,))
                    return any(test((_scalar(v),)) for v in vals)
                return test((_scalar(raw),))
            pred: Pred = pred1
        else:
            def predn(ev: Mapping) -> bool:
                raws = [g(ev) for g in getters]
                if not any(r.__class__ is list for r in raws):
                    return test(tuple(_scalar(r) for r in raws))
                choices = [([_scalar(v) for v in values_of(r)] or [None]) if r.__class__ is list else [_scalar(r)]
                           for r in raws]
                return any(test(combo) for combo in itertools.product(*choices))
            pred = predn
        # "x == null" holds when no combination has a value, so test "x != null" and negate.
        return _negate(pred) if negated_null else pred

    def _is_null(self, e: A.Compare) -> bool:
        return any(isinstance(s, A.Literal) and s.value is None for s in (e.left, e.right))

    def generic_test(self, e: A.Expr, slots: dict[str, int]) -> Callable[[tuple], bool]:
        """A test on one binding of field values (a tuple ordered by ``slots``)."""
        if isinstance(e, A.Compare):
            left, op, right = e.left, e.op, e.right
            if self._const(left) and not self._const(right):
                left, right, op = right, left, _FLIP[op]
            lv = self.value(left, slots)
            if self._const(right):
                const = self.fold(right)
                if const is None:
                    if op in ("==", "!="):  # both compiled as "has a value"; generic() negates ==
                        return lambda b: lv(b) is not None
                    return lambda b: False
                if op in ("==", "!="):
                    eq = eq_test(const)
                    if op == "==":
                        return lambda b: (x := lv(b)) is not None and eq(x)
                    return lambda b: (x := lv(b)) is not None and not eq(x)
                order = order_test(op, const)
                return lambda b: (x := lv(b)) is not None and order(x)
            # both sides constant (folded by the caller) or both computed (rejected by verify)
            rv = self.value(right, slots)
            return lambda b: _compare_values(op, lv(b), rv(b)) is True
        if isinstance(e, A.InList):
            lv = self.value(e.value, slots)
            member = member_test([self.fold(i) for i in e.items], None, e.insensitive)
            if e.negated:
                return lambda b: (x := lv(b)) is not None and not member(x)
            return lambda b: (x := lv(b)) is not None and member(x)
        if isinstance(e, A.Pattern):
            lv = self.value(e.value, slots)
            pt = self.pattern_test(e)
            return lambda b: (x := lv(b)) is not None and pt(x)
        vf = self.value(e, slots)
        return lambda b: vf(b) is True

    # ---- values --------------------------------------------------------------------------

    def value(self, e: A.Expr, slots: dict[str, int]) -> ValueFn:
        if isinstance(e, A.Literal):
            v = e.value
            return lambda b: v
        if isinstance(e, A.Field):
            i = slots[e.name]
            return lambda b: b[i]
        if isinstance(e, A.Negate):
            f = self.value(e.operand, slots)

            def neg(b: tuple) -> object:
                x = to_num(f(b))
                return None if x is None else -x
            return neg
        if isinstance(e, A.Arith):
            fn = OPERATORS[e.op]
            lf, rf = self.value(e.left, slots), self.value(e.right, slots)
            return lambda b: fn(lf(b), rf(b))
        if isinstance(e, A.Call):
            return self.call(e, slots)
        # A condition used as a value, e.g. string(x == 1): three-valued, null stays null.
        return self.truth_value(e, slots)

    def call(self, e: A.Call, slots: dict[str, int]) -> ValueFn:
        sig = lookup(e.name)
        assert sig is not None  # verify() rejected unknown names
        args = [self.value(a, slots) for a in e.args]
        if sig.name == "cidrMatch":
            blocks = [self.fold(a) for a in e.args[1:]]
            if any(b is None for b in blocks):
                return lambda b: None  # a null block gives null
            match = cidr_matcher([parse_cidr(str(x)) for x in blocks])
            addr = args[0]
            return lambda b: match(addr(b))
        impl = sig.impl
        assert impl is not None
        kwargs = {"insensitive": True} if e.insensitive else {}

        def run(b: tuple) -> object:
            try:
                return impl(*[a(b) for a in args], **kwargs)
            except (TypeError, ValueError, OverflowError, ArithmeticError):
                return None  # Elasticsearch would fail the script; here the value is null
        return run

    def truth_value(self, e: A.Expr, slots: dict[str, int]) -> ValueFn:
        if isinstance(e, A.Not):
            f = self.value(e.operand, slots)
            return lambda b: None if (x := f(b)) is None else (not x if isinstance(x, bool) else None)
        if isinstance(e, A.BoolOp):
            fs = [self.value(o, slots) for o in e.operands]
            is_and = e.op == "and"

            def kleene(b: tuple) -> object:
                unknown = False
                for f in fs:
                    x = f(b)
                    if x is (not is_and):
                        return x
                    if x is None or not isinstance(x, bool):
                        unknown = True
                return None if unknown else is_and
            return kleene
        if isinstance(e, A.Compare):
            lf, rf = self.value(e.left, slots), self.value(e.right, slots)
            return lambda b: _compare_values(e.op, lf(b), rf(b))
        test = self.generic_test(e, slots)
        lv = self.value(e.children()[0], slots)
        return lambda b: None if lv(b) is None else test(b)

    # ---- join keys -----------------------------------------------------------------------

    def key(self, e: A.Expr) -> Callable[[Mapping], object]:
        """A join-key value for an event; None when the event has no value for it."""
        if isinstance(e, A.Field):
            g = self.getter(e.name)
            return lambda ev: key_value(g(ev))
        names = [n.name for n in A.walk(e) if isinstance(n, A.Field)]
        names = list(dict.fromkeys(names))
        slots = {n: i for i, n in enumerate(names)}
        vf = self.value(e, slots)
        getters = [self.getter(n) for n in names]

        def first(raw: object) -> object:
            if raw.__class__ is list:
                vals = values_of(raw)
                return _scalar(vals[0]) if vals else None
            return _scalar(raw)
        return lambda ev: key_value(vf(tuple(first(g(ev)) for g in getters)))

    def category(self, field: str, category: str | None) -> Pred:
        """The event category test: a term match on the category field, any value."""
        if category is None:
            return _true
        get = self.getter(field)
        slow = _any_value(get, lambda v: v == category or to_str(v) == category)

        def cat(ev: Mapping) -> bool:
            raw = get(ev)
            return raw == category or (raw is not None and raw.__class__ is not str and slow(ev))
        return cat


def _compare_values(op: str, a: object, b: object) -> bool | None:
    """Three-valued comparison of two computed values (null in, null out)."""
    if a is None or b is None:
        if op == "==":
            return a is None and b is None
        if op == "!=":
            return (a is None) != (b is None)
        return None
    if op in ("==", "!="):
        same = eq_test(b)(a) if not isinstance(b, (list, dict)) else False
        return same if op == "==" else not same
    try:
        return order_test(op, b)(a) if op in ORDER_OPS else None
    except TypeError:
        return None
