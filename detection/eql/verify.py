"""Checks Elasticsearch makes after parsing (its "verifier"), so bad queries fail here too.

Each check cites the documented rule it enforces; errors carry code EQL002 and point at
the offending node.
"""

from __future__ import annotations

from detection.eql import ast as A
from detection.eql.errors import UNSUPPORTED, EqlError
from detection.eql.functions import BOOL, NUM, REMOVED, STR, lookup, parse_cidr
from detection.eql.patterns import RegexError, lucene_to_python

BOOLEAN, NUMBER, STRING, NULL, ANY = "boolean", "number", "string", "null", "any"
MAX_SAMPLE_FILTERS = 5  # "A sample query specifies at least one join key ... and up to five filters"


def infer(e: A.Expr) -> str:
    """The static type of an expression; fields are ``any`` until a schema says otherwise."""
    if isinstance(e, A.Literal):
        v = e.value
        if v is None:
            return NULL
        if isinstance(v, bool):
            return BOOLEAN
        return STRING if isinstance(v, str) else NUMBER
    if isinstance(e, A.Field):
        return ANY
    if isinstance(e, A.Call):
        sig = lookup(e.name)
        return sig.returns if sig else ANY
    if isinstance(e, (A.Arith, A.Negate)):
        return NUMBER
    return BOOLEAN


def has_fields(e: A.Expr) -> bool:
    return any(isinstance(n, A.Field) for n in A.walk(e))


class Verifier:
    def __init__(self, query: A.Query):
        self.query = query
        self.text = query.text

    def fail(self, message: str, node: object, hint: str | None = None) -> EqlError:
        return EqlError(message, self.text, getattr(node, "pos", 0), code=UNSUPPORTED, hint=hint)

    def run(self) -> None:
        body = self.query.body
        if isinstance(body, A.EventQuery):
            self.event(body)
        elif isinstance(body, A.Sequence):
            self.sequence(body)
        else:
            self.sample(body)

    # ---- queries -------------------------------------------------------------------------

    def event(self, q: A.EventQuery) -> None:
        self.condition(q.condition)

    def keys(self, keys: tuple[A.Expr, ...]) -> None:
        for k in keys:
            self.expr(k)
            if infer(k) == BOOLEAN:
                raise self.fail("a join key must be a value, not a condition", k)

    def _key_counts(self, terms: list[A.Term], what: str) -> None:
        expected = len(terms[0].keys)
        for t in terms[1:]:
            if len(t.keys) != expected:
                raise self.fail(f"inconsistent number of join keys: the first {what} has {expected}, "
                                f"this one has {len(t.keys)}", t,
                                hint="every step needs the same number of `by` keys")

    def sequence(self, s: A.Sequence) -> None:
        self.keys(s.keys)
        terms = list(s.terms) + ([s.until] if s.until is not None else [])
        for t in terms:
            self.event(t.query)
            self.keys(t.keys)
        self._key_counts(terms, "step")
        stages = s.stages()
        if len(stages) < 2:
            raise self.fail("a sequence needs at least two steps", s,
                            hint="add a step, or use `with runs=N` to repeat one")
        if all(t.missing for t in stages):
            raise self.fail("a sequence needs at least one step that is not a missing event", s)
        if any(t.missing for t in stages) and s.maxspan is None:
            # "with maxspan is mandatory when missing event clauses are present"
            raise self.fail("missing-event steps ![...] need `with maxspan`", next(t for t in stages if t.missing),
                            hint="sequence with maxspan=5m [ ... ] ![ ... ]")

    def sample(self, s: A.Sample) -> None:
        self.keys(s.keys)
        for t in s.terms:
            self.event(t.query)
            self.keys(t.keys)
        self._key_counts(list(s.terms), "filter")
        if not s.keys and not s.terms[0].keys:
            raise self.fail("a sample needs at least one join key", s, hint="sample by host.name [ ... ] [ ... ]")
        if len(s.terms) > MAX_SAMPLE_FILTERS:
            raise self.fail(f"a sample takes at most {MAX_SAMPLE_FILTERS} filters", s.terms[MAX_SAMPLE_FILTERS])

    # ---- expressions ---------------------------------------------------------------------

    def condition(self, e: A.Expr) -> None:
        """An expression used as a condition must be boolean ("where true" is the idiom)."""
        self.expr(e)
        t = infer(e)
        if t not in (BOOLEAN, ANY, NULL):
            raise self.fail(f"the condition must be true or false, but this is a {t}", e,
                            hint="compare the value, e.g. length(x) > 0")

    def expr(self, e: A.Expr) -> None:
        # An explicit stack: expressions can be long chains.
        stack = [e]
        while stack:
            n = stack.pop()
            self.node(n)
            stack.extend(n.children())

    def node(self, n: A.Expr) -> None:
        if isinstance(n, A.BoolOp):
            for o in n.operands:
                if infer(o) not in (BOOLEAN, ANY, NULL):
                    raise self.fail(f"'{n.op}' needs conditions on both sides, not a {infer(o)}", o)
        elif isinstance(n, A.Not):
            if infer(n.operand) not in (BOOLEAN, ANY, NULL):
                raise self.fail(f"'not' needs a condition, not a {infer(n.operand)}", n.operand)
        elif isinstance(n, A.Compare):
            self.compare(n)
        elif isinstance(n, A.InList):
            for item in n.items:
                if has_fields(item):
                    raise self.fail("the list after 'in' must hold constants, not fields", item)
        elif isinstance(n, A.Pattern):
            self.pattern(n)
        elif isinstance(n, A.Call):
            self.call(n)
        elif isinstance(n, (A.Arith, A.Negate)):
            for c in n.children():
                t = infer(c)
                if t in (STRING, BOOLEAN):
                    raise self.fail(f"arithmetic needs numbers, not a {t}", c,
                                    hint="use concat() to join strings" if t == STRING else None)

    def compare(self, n: A.Compare) -> None:
        # "You cannot compare a field to another field, even if the fields are changed
        # using a function" (EQL syntax reference, Limitations for comparisons).
        if has_fields(n.left) and has_fields(n.right):
            raise self.fail("comparing a field to another field is not supported", n.right,
                            hint="compare each field to a literal value instead")
        lt, rt = infer(n.left), infer(n.right)
        if BOOLEAN in (lt, rt) and n.op not in ("==", "!="):
            raise self.fail(f"'{n.op}' cannot order true/false values", n)
        known = {lt, rt} - {ANY, NULL}
        if len(known) == 2:
            raise self.fail(f"cannot compare a {lt} with a {rt}", n)

    def pattern(self, n: A.Pattern) -> None:
        for p in n.patterns:
            if not isinstance(p.value, str):
                raise self.fail(f"the pattern after '{n.kind}' must be a string", p)
            if n.is_regex:
                try:
                    lucene_to_python(p.value)
                except RegexError as exc:
                    raise self.fail(f"bad regular expression: {exc}", p,
                                    hint="Elasticsearch uses Lucene regular expression syntax") from None
        t = infer(n.value)
        if t in (NUMBER, BOOLEAN):
            raise self.fail(f"'{n.kind}' compares strings, not a {t}", n.value)

    def call(self, n: A.Call) -> None:
        sig = lookup(n.name)
        if sig is None:
            hint = REMOVED.get(n.name.lower())
            raise self.fail(f"unknown function '{n.name}'", n,
                            hint=hint or "see the Elasticsearch EQL function reference")
        if n.insensitive and not sig.insensitive:
            raise self.fail(f"{sig.name} has no case-insensitive form '{n.name}~'", n)
        count = len(n.args)
        if count < sig.min_args or (sig.max_args is not None and count > sig.max_args):
            if sig.max_args is None:
                want = f"at least {sig.min_args}"
            elif sig.min_args == sig.max_args:
                want = str(sig.min_args)
            else:
                want = f"{sig.min_args} to {sig.max_args}"
            raise self.fail(f"{sig.name} takes {want} argument{'s' if want != '1' else ''}, not {count}", n)
        for i, arg in enumerate(n.args):
            want = sig.arg_type(i)
            got = infer(arg)
            if got in (ANY, NULL) or want == "any":
                continue
            if (want == NUM and got != NUMBER) or (want == STR and got != STRING) or (want == BOOL and got != BOOLEAN):
                raise self.fail(f"argument {i + 1} of {sig.name} must be a {want}, not a {got}", arg)
        lname = sig.name
        if lname == "between" and count == 4 and not (isinstance(n.args[3], A.Literal)
                                                      and isinstance(n.args[3].value, bool)):
            raise self.fail("the greedy argument of between must be true or false", n.args[3])
        if lname == "number" and count == 2:
            base = n.args[1]
            if not (isinstance(base, A.Literal) and (base.value is None or type(base.value) is int)):
                raise self.fail("the base of number() must be a literal integer (fields are not supported)", base)
        if lname == "cidrMatch":
            for block in n.args[1:]:
                if not isinstance(block, A.Literal):
                    raise self.fail("cidrMatch blocks must be literal strings", block)
                if block.value is not None and parse_cidr(str(block.value)) is None:
                    raise self.fail(f"'{block.value}' is not a CIDR block", block,
                                    hint='write e.g. "10.0.0.0/8" or "2001:db8::/32"')


def verify(query: A.Query) -> None:
    Verifier(query).run()
