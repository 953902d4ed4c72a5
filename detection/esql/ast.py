"""The ES|QL syntax tree: frozen dataclasses that render back to ES|QL text.

Positions (``pos``/``end``, character offsets into the query) and the original spelling of
literals are kept out of equality, so two parses of equivalent text compare equal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Words the ES|QL lexer reserves inside expressions; a field part spelled like one needs backticks.
# The soft ones are accepted as column names where the grammar leaves no doubt.
HARD_KEYWORDS = frozenset("and or not in is like rlike null true false by where".split())
KEYWORDS = HARD_KEYWORDS | frozenset("nulls first last asc desc".split())
_UNQUOTED_PART = re.compile(r"(?:[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_]+)\Z")

# Binding strength used to decide where parentheses are needed when rendering.
PREC_OR, PREC_AND, PREC_NOT, PREC_PREDICATE, PREC_ADD, PREC_MUL, PREC_UNARY, PREC_PRIMARY = range(1, 9)
_BINARY_PREC = {
    "or": PREC_OR,
    "and": PREC_AND,
    "==": PREC_PREDICATE,
    "!=": PREC_PREDICATE,
    "=~": PREC_PREDICATE,
    "<": PREC_PREDICATE,
    "<=": PREC_PREDICATE,
    ">": PREC_PREDICATE,
    ">=": PREC_PREDICATE,
    "+": PREC_ADD,
    "-": PREC_ADD,
    "*": PREC_MUL,
    "/": PREC_MUL,
    "%": PREC_MUL,
}
COMPARISONS = frozenset({"==", "!=", "=~", "<", "<=", ">", ">="})
ARITHMETIC = frozenset({"+", "-", "*", "/", "%"})


def quote_name(name: str) -> str:
    """A column name as ES|QL text: dotted parts bare where possible, backticks otherwise."""
    parts = name.split(".")
    if all(_UNQUOTED_PART.match(p) and p.lower() not in KEYWORDS for p in parts[:1]) and all(
        _UNQUOTED_PART.match(p) for p in parts[1:]
    ):
        return name
    return "`" + name.replace("`", "``") + "`"


def quote_string(value: str, triple: bool = False) -> str:
    # Triple quotes keep backslashes readable (LIKE/RLIKE patterns) when the value allows them.
    if triple and '"""' not in value and not value.endswith('"') and "\n" not in value and "\r" not in value:
        return f'"""{value}"""'
    escaped = (
        value.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class Literal:
    """A constant. ``kind``: null, integer, decimal, boolean, string, span, list, or map (a
    function's named options: ``value`` holds ``(name, Literal)`` pairs)."""

    value: object
    kind: str
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)
    triple: bool = field(default=False, compare=False)
    spelling: str | None = field(default=None, compare=False)

    def render(self) -> str:
        if self.kind == "null":
            return "null"
        if self.kind == "boolean":
            return "true" if self.value else "false"
        if self.kind == "string":
            return quote_string(str(self.value), self.triple)
        if self.kind == "span":
            return self.spelling or str(self.value)
        if self.kind == "list":
            return "[" + ", ".join(item.render() for item in self.value) + "]"  # type: ignore[attr-defined]
        if self.kind == "map":
            pairs = (f"{quote_string(k)}: {v.render()}" for k, v in self.value)  # type: ignore[attr-defined]
            return "{" + ", ".join(pairs) + "}"
        if self.kind == "decimal":
            return self.spelling or repr(self.value)
        return str(self.value)

    @property
    def prec(self) -> int:
        # A negative number literal renders with a sign, which binds like unary minus.
        if self.kind in ("integer", "decimal") and self.value < 0:  # type: ignore[operator]
            return PREC_UNARY
        return PREC_PRIMARY


@dataclass(frozen=True)
class FieldRef:
    """A column reference; ``name`` is the flattened, dotted column name."""

    name: str
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        return quote_name(self.name)

    prec = PREC_PRIMARY


@dataclass(frozen=True)
class Call:
    """A function call; ``name`` is lower case. ``star`` marks ``COUNT(*)``."""

    name: str
    args: tuple[Expr, ...] = ()
    star: bool = False
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        inner = "*" if self.star else ", ".join(a.render() for a in self.args)
        return f"{self.name.upper()}({inner})"

    prec = PREC_PRIMARY


@dataclass(frozen=True)
class Cast:
    """``value::type``."""

    value: Expr
    type_name: str
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        return f"{_wrap(self.value, PREC_PRIMARY)}::{self.type_name}"

    prec = PREC_PRIMARY


@dataclass(frozen=True)
class Unary:
    """``-x`` or ``NOT x``."""

    op: str
    operand: Expr
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        if self.op == "not":
            return "NOT " + _wrap(self.operand, PREC_NOT)
        inner = _wrap(self.operand, PREC_UNARY)
        return "- " + inner if inner.startswith("-") else "-" + inner

    @property
    def prec(self) -> int:
        return PREC_NOT if self.op == "not" else PREC_UNARY


@dataclass(frozen=True)
class Binary:
    """Arithmetic, comparison, ``AND`` and ``OR``."""

    op: str
    left: Expr
    right: Expr
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        prec = _BINARY_PREC[self.op]
        if self.op in COMPARISONS:
            # Comparison operands are arithmetic expressions; comparisons do not chain.
            left, right = _wrap(self.left, PREC_ADD), _wrap(self.right, PREC_ADD)
        else:
            # Left-associative: the right operand needs strictly tighter binding to keep the tree.
            left, right = _wrap(self.left, prec), _wrap(self.right, prec + 1)
        op = self.op.upper() if self.op in ("and", "or") else self.op
        return f"{left} {op} {right}"

    @property
    def prec(self) -> int:
        return _BINARY_PREC[self.op]


@dataclass(frozen=True)
class In:
    value: Expr
    items: tuple[Expr, ...]
    negated: bool = False
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        items = ", ".join(_wrap(i, PREC_ADD) for i in self.items)
        return f"{_wrap(self.value, PREC_ADD)} {'NOT IN' if self.negated else 'IN'} ({items})"

    prec = PREC_PREDICATE


@dataclass(frozen=True)
class IsNull:
    value: Expr
    negated: bool = False
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        return f"{_wrap(self.value, PREC_ADD)} IS {'NOT NULL' if self.negated else 'NULL'}"

    prec = PREC_PREDICATE


@dataclass(frozen=True)
class Like:
    """``LIKE`` (wildcards) or, with ``regex``, ``RLIKE`` (Lucene regular expressions)."""

    value: Expr
    patterns: tuple[Literal, ...]
    negated: bool = False
    regex: bool = False
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def render(self) -> str:
        op = ("NOT " if self.negated else "") + ("RLIKE" if self.regex else "LIKE")
        pats = [p.render() for p in self.patterns]
        rhs = pats[0] if len(pats) == 1 else "(" + ", ".join(pats) + ")"
        return f"{_wrap(self.value, PREC_ADD)} {op} {rhs}"

    prec = PREC_PREDICATE


Expr = Literal | FieldRef | Call | Cast | Unary | Binary | In | IsNull | Like


def _wrap(expr: Expr, min_prec: int) -> str:
    text = expr.render()
    return f"({text})" if expr.prec < min_prec else text


def children(expr: Expr) -> tuple[Expr, ...]:
    """Direct sub-expressions, in source order."""
    if isinstance(expr, Call):
        return expr.args
    if isinstance(expr, Cast):
        return (expr.value,)
    if isinstance(expr, Unary):
        return (expr.operand,)
    if isinstance(expr, Binary):
        return (expr.left, expr.right)
    if isinstance(expr, In):
        return (expr.value, *expr.items)
    if isinstance(expr, (IsNull, Like)):
        return (expr.value,)
    if isinstance(expr, Literal) and expr.kind == "list":
        return tuple(expr.value)  # type: ignore[arg-type]
    if isinstance(expr, Literal) and expr.kind == "map":
        return tuple(v for _, v in expr.value)  # type: ignore[attr-defined]
    return ()


def walk(expr: Expr):
    """Every node of an expression, parents before children."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True)
class Assign:
    """``name = expr`` or a bare ``expr`` whose column is named after its text."""

    name: str | None
    expr: Expr
    # The source text of an unnamed expression: it names the column, so it counts for equality.
    text: str | None = None

    @property
    def column(self) -> str:
        if self.name is not None:
            return self.name
        return self.text if self.text is not None else self.expr.render()

    def render(self) -> str:
        if self.name is None:
            return self.text if self.text is not None else self.expr.render()
        return f"{quote_name(self.name)} = {self.expr.render()}"


@dataclass(frozen=True)
class AggField:
    """One ``STATS`` output: an aggregate expression with an optional ``WHERE`` filter."""

    assign: Assign
    where: Expr | None = None

    def render(self) -> str:
        text = self.assign.render()
        return text + (f" WHERE {self.where.render()}" if self.where is not None else "")


@dataclass(frozen=True)
class NamePattern:
    """A column name in KEEP/DROP/RENAME; ``*`` outside backticks is a wildcard."""

    text: str  # canonical text as written in a query
    regex: str  # anchored Python regex over column names
    wildcard: bool
    pos: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    @property
    def name(self) -> str:
        """The literal column name (only meaningful when not a wildcard)."""
        return _unquote_pattern(self.text)

    def matches(self, column: str) -> bool:
        return re.fullmatch(self.regex, column, re.DOTALL) is not None

    def render(self) -> str:
        return self.text


def _unquote_pattern(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "`":
            j = i + 1
            while j < len(text):
                if text[j] == "`":
                    if text[j + 1 : j + 2] == "`":
                        out.append("`")
                        j += 2
                        continue
                    break
                out.append(text[j])
                j += 1
            i = j + 1
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def name_pattern(name: str) -> NamePattern:
    """A pattern matching exactly ``name`` (no wildcard)."""
    return NamePattern(quote_name(name), re.escape(name), False)


def _source_text(source: str) -> str:
    plain = source and source.lower() != "metadata" and not any(c in source for c in ' \t\r\n,|"`()')
    return source if plain and "//" not in source and "/*" not in source else quote_string(source)


@dataclass(frozen=True)
class From:
    sources: tuple[str, ...]
    metadata: tuple[str, ...] = ()
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        text = "FROM " + ", ".join(_source_text(s) for s in self.sources)
        return text + (" METADATA " + ", ".join(self.metadata) if self.metadata else "")


@dataclass(frozen=True)
class Row:
    fields: tuple[Assign, ...]
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "ROW " + ", ".join(f.render() for f in self.fields)


@dataclass(frozen=True)
class Where:
    condition: Expr
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "WHERE " + self.condition.render()


@dataclass(frozen=True)
class Eval:
    fields: tuple[Assign, ...]
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "EVAL " + ", ".join(f.render() for f in self.fields)


@dataclass(frozen=True)
class Stats:
    aggs: tuple[AggField, ...]
    by: tuple[Assign, ...] = ()
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        text = "STATS"
        if self.aggs:
            text += " " + ", ".join(a.render() for a in self.aggs)
        if self.by:
            text += " BY " + ", ".join(b.render() for b in self.by)
        return text


@dataclass(frozen=True)
class Keep:
    patterns: tuple[NamePattern, ...]
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "KEEP " + ", ".join(p.render() for p in self.patterns)


@dataclass(frozen=True)
class Drop:
    patterns: tuple[NamePattern, ...]
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "DROP " + ", ".join(p.render() for p in self.patterns)


@dataclass(frozen=True)
class Rename:
    pairs: tuple[tuple[NamePattern, NamePattern], ...]  # (old, new)
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "RENAME " + ", ".join(f"{old.render()} AS {new.render()}" for old, new in self.pairs)


@dataclass(frozen=True)
class SortKey:
    expr: Expr
    descending: bool = False
    nulls_first: bool | None = None  # None: the default for the direction

    def render(self) -> str:
        text = self.expr.render() + (" DESC" if self.descending else "")
        if self.nulls_first is not None:
            text += " NULLS FIRST" if self.nulls_first else " NULLS LAST"
        return text


@dataclass(frozen=True)
class Sort:
    keys: tuple[SortKey, ...]
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "SORT " + ", ".join(k.render() for k in self.keys)


@dataclass(frozen=True)
class Limit:
    count: int
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return f"LIMIT {self.count}"


@dataclass(frozen=True)
class MvExpand:
    field: NamePattern
    pos: int = field(default=0, compare=False)

    def render(self) -> str:
        return "MV_EXPAND " + self.field.render()


Command = From | Row | Where | Eval | Stats | Keep | Drop | Rename | Sort | Limit | MvExpand


@dataclass(frozen=True)
class Query:
    """A parsed query: a source command followed by processing commands."""

    commands: tuple[Command, ...]
    source: str = field(default="", compare=False, repr=False)

    def render(self) -> str:
        return "\n| ".join(c.render() for c in self.commands)

    def __str__(self) -> str:
        return self.render()
