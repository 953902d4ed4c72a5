"""The EQL syntax tree: frozen dataclasses that render back to EQL text.

Positions (``pos``, a character offset into the query) are kept for error messages
but left out of equality, so ``parse(str(q)) == q`` holds for any parsed ``q``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from detection.eql.lexer import KEYWORDS

# Binding strength, loosest first; used to decide where parentheses are needed.
PREC_OR, PREC_AND, PREC_NOT, PREC_CMP, PREC_ADD, PREC_MUL, PREC_UNARY, PREC_ATOM = range(8)


def _pos() -> int:
    return field(default=0, compare=False, repr=False)


def render_string(value: str) -> str:
    out = []
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif not ch.isprintable():
            out.append(f"\\u{{{ord(ch):04x}}}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _render_ident(part: str) -> str:
    plain = (part and (part[0].isascii() and (part[0].isalpha() or part[0] in "_@"))
             and all(c.isascii() and (c.isalnum() or c == "_") for c in part[1:])
             and part not in KEYWORDS)
    return part if plain else "`" + part.replace("`", "``") + "`"


class Expr:
    """Base of expression nodes."""

    prec = PREC_ATOM

    def children(self) -> tuple[Expr, ...]:
        return ()

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:  # pragma: no cover - every node overrides
        raise NotImplementedError


def _wrap(node: Expr, min_prec: int) -> str:
    text = node.render()
    return f"({text})" if node.prec < min_prec else text


@dataclass(frozen=True)
class Literal(Expr):
    value: str | int | float | bool | None
    pos: int = _pos()

    def render(self) -> str:
        v = self.value
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        if isinstance(v, str):
            return render_string(v)
        return repr(v)


@dataclass(frozen=True)
class Field(Expr):
    parts: tuple[str, ...]
    optional: bool = False
    pos: int = _pos()

    @property
    def name(self) -> str:
        return ".".join(self.parts)

    def render(self) -> str:
        return ("?" if self.optional else "") + ".".join(_render_ident(p) for p in self.parts)


@dataclass(frozen=True)
class Call(Expr):
    name: str
    args: tuple[Expr, ...]
    insensitive: bool = False
    pos: int = _pos()

    def children(self) -> tuple[Expr, ...]:
        return self.args

    def render(self) -> str:
        args = ", ".join(a.render() for a in self.args)
        return f"{self.name}{'~' if self.insensitive else ''}({args})"


@dataclass(frozen=True)
class Negate(Expr):
    """Unary minus."""

    operand: Expr
    pos: int = _pos()
    prec = PREC_UNARY

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def render(self) -> str:
        inner = _wrap(self.operand, PREC_UNARY)
        # "- -1" must not become "--1"; keep a space after a leading minus.
        return "-" + (" " if inner.startswith("-") else "") + inner


@dataclass(frozen=True)
class Arith(Expr):
    op: str  # + - * / %
    left: Expr
    right: Expr
    pos: int = _pos()

    @property
    def prec(self) -> int:  # type: ignore[override]
        return PREC_ADD if self.op in "+-" else PREC_MUL

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def render(self) -> str:
        p = self.prec
        return f"{_wrap(self.left, p)} {self.op} {_wrap(self.right, p + 1)}"


@dataclass(frozen=True)
class Compare(Expr):
    op: str  # == != < <= > >=
    left: Expr
    right: Expr
    pos: int = _pos()
    prec = PREC_CMP

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)

    def render(self) -> str:
        return f"{_wrap(self.left, PREC_ADD)} {self.op} {_wrap(self.right, PREC_ADD)}"


@dataclass(frozen=True)
class InList(Expr):
    value: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    insensitive: bool = False
    pos: int = _pos()
    prec = PREC_CMP

    def children(self) -> tuple[Expr, ...]:
        return (self.value, *self.items)

    def render(self) -> str:
        op = ("not " if self.negated else "") + ("in~" if self.insensitive else "in")
        items = ", ".join(i.render() for i in self.items)
        return f"{_wrap(self.value, PREC_ADD)} {op} ({items})"


@dataclass(frozen=True)
class Pattern(Expr):
    """``:``, ``like``, ``like~``, ``regex``, ``regex~`` against one or more constants."""

    kind: str  # ':' 'like' 'like~' 'regex' 'regex~'
    value: Expr
    patterns: tuple[Literal, ...]
    listed: bool = False  # written with parentheses
    pos: int = _pos()
    prec = PREC_CMP

    @property
    def insensitive(self) -> bool:
        return self.kind in (":", "like~", "regex~")

    @property
    def is_regex(self) -> bool:
        return self.kind.startswith("regex")

    def children(self) -> tuple[Expr, ...]:
        return (self.value, *self.patterns)

    def render(self) -> str:
        pats = ", ".join(p.render() for p in self.patterns)
        rhs = f"({pats})" if self.listed or len(self.patterns) != 1 else pats
        return f"{_wrap(self.value, PREC_ADD)} {self.kind} {rhs}"


@dataclass(frozen=True)
class Not(Expr):
    operand: Expr
    pos: int = _pos()
    prec = PREC_NOT

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)

    def render(self) -> str:
        return "not " + _wrap(self.operand, PREC_NOT)


@dataclass(frozen=True)
class BoolOp(Expr):
    """``and`` / ``or`` over two or more operands (flattened, so long chains stay shallow)."""

    op: str  # 'and' | 'or'
    operands: tuple[Expr, ...]
    pos: int = _pos()

    @property
    def prec(self) -> int:  # type: ignore[override]
        return PREC_AND if self.op == "and" else PREC_OR

    def children(self) -> tuple[Expr, ...]:
        return self.operands

    def render(self) -> str:
        p = self.prec
        return f" {self.op} ".join(_wrap(o, p + 1) for o in self.operands)


# ---- queries -------------------------------------------------------------------------


@dataclass(frozen=True)
class Duration:
    value: int | float
    unit: str  # ms s m h d
    pos: int = _pos()

    UNIT_NANOS = {"ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9, "d": 86400 * 10**9}

    @property
    def nanos(self) -> int:
        return int(self.value * self.UNIT_NANOS[self.unit])

    def render(self) -> str:
        return f"{self.value!r}{self.unit}"


@dataclass(frozen=True)
class EventQuery:
    category: str | None  # None means ``any``
    condition: Expr
    pos: int = _pos()

    def render(self) -> str:
        if self.category is None:
            cat = "any"
        elif _render_ident(self.category) == self.category:
            cat = self.category
        else:
            cat = render_string(self.category)
        return f"{cat} where {self.condition.render()}"

    def __str__(self) -> str:
        return self.render()


def _render_keys(keys: tuple[Expr, ...]) -> str:
    return "by " + ", ".join(k.render() for k in keys)


@dataclass(frozen=True)
class Term:
    """One bracketed step of a sequence or sample, with its own join keys."""

    query: EventQuery
    keys: tuple[Expr, ...] = ()
    runs: int = 1
    missing: bool = False
    pos: int = _pos()

    def render(self) -> str:
        text = ("![" if self.missing else "[") + self.query.render() + "]"
        if self.keys:
            text += " " + _render_keys(self.keys)
        if self.runs != 1:
            text += f" with runs={self.runs}"
        return text


@dataclass(frozen=True)
class Sequence:
    keys: tuple[Expr, ...]
    maxspan: Duration | None
    terms: tuple[Term, ...]
    until: Term | None = None
    pos: int = _pos()

    def stages(self) -> list[Term]:
        """The terms with ``runs=N`` expanded into N copies."""
        out: list[Term] = []
        for t in self.terms:
            out.extend([t] * t.runs)
        return out

    def render(self) -> str:
        head = "sequence"
        if self.keys:
            head += " " + _render_keys(self.keys)
        if self.maxspan is not None:
            head += " with maxspan=" + self.maxspan.render()
        lines = [head] + ["  " + t.render() for t in self.terms]
        if self.until is not None:
            lines.append("until " + self.until.render())
        return "\n".join(lines)


@dataclass(frozen=True)
class Sample:
    keys: tuple[Expr, ...]
    terms: tuple[Term, ...]
    pos: int = _pos()

    def render(self) -> str:
        head = "sample" + (" " + _render_keys(self.keys) if self.keys else "")
        return "\n".join([head] + ["  " + t.render() for t in self.terms])


@dataclass(frozen=True)
class Pipe:
    name: str  # head | tail
    count: int
    pos: int = _pos()

    def render(self) -> str:
        return f"| {self.name} {self.count}"


@dataclass(frozen=True)
class Query:
    """A parsed EQL statement: an event query, sequence or sample, then pipes."""

    body: EventQuery | Sequence | Sample
    pipes: tuple[Pipe, ...] = ()
    text: str = field(default="", compare=False, repr=False)

    @property
    def kind(self) -> str:
        if isinstance(self.body, Sequence):
            return "sequence"
        if isinstance(self.body, Sample):
            return "sample"
        return "event"

    def render(self) -> str:
        parts = [self.body.render()] + [p.render() for p in self.pipes]
        return "\n".join(parts)

    def __str__(self) -> str:
        return self.render()


def walk(node: Expr):
    """Every expression node below ``node`` (included), without recursion."""
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(reversed(n.children()))


def query_expressions(query: Query):
    """Top-level expressions of a query, in source order: conditions and join keys."""
    body = query.body
    if isinstance(body, EventQuery):
        yield body.condition
        return
    yield from body.keys
    terms = list(body.terms)
    if isinstance(body, Sequence) and body.until is not None:
        terms.append(body.until)
    for t in terms:
        yield t.query.condition
        yield from t.keys
