"""KQL syntax tree: frozen dataclasses that render back to KQL text.

The shape follows Kibana's parser output (``is``/``range``/``exists``/``nested``/``and``/
``or``/``not`` over literal and wildcard values) with two conveniences: ``field:*`` becomes
:class:`Exists`, and a value with no field becomes :class:`FreeText`. Source spans are kept for
error messages but ignored by equality, so ``parse(render(tree)) == tree``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

# Characters the grammar treats as whitespace (``Space`` rule).
SPACE_CHARS = " \t\r\n\u00a0"
# Characters that must be escaped in unquoted literals.
SPECIAL_CHARS = '\\():<>"*{}'

Span = tuple[int, int]


def _span() -> Span | None:
    return field(default=None, compare=False, repr=False)


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class Literal:
    """A plain value. Unquoted ``true``/``false``/``null`` become ``True``/``False``/``None``."""

    value: str | bool | None
    quoted: bool = False
    span: Span | None = _span()

    @property
    def is_quoted(self) -> bool:
        return self.quoted

    @property
    def is_wildcard(self) -> bool:
        return False

    @property
    def text(self) -> str:
        """The value as Elasticsearch would receive it in a string context."""
        if self.value is None:
            return "null"
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        return self.value

    def render(self) -> str:
        if self.quoted:
            return _render_quoted(self.text)
        if not isinstance(self.value, str):
            return self.text
        if self.value == "":
            # Only reachable from an escaped whitespace that the parser trimmed away.
            return "\\t"
        return _render_unquoted([self.value])


@dataclass(frozen=True)
class Wildcard:
    """An unquoted value with at least one unescaped ``*``; ``parts`` are the text between stars."""

    parts: tuple[str, ...]
    span: Span | None = _span()

    is_quoted = False
    quoted = False

    def __post_init__(self) -> None:
        if len(self.parts) < 2:
            raise ValueError("a wildcard has at least two parts (text before and after a '*')")

    @property
    def is_wildcard(self) -> bool:
        return True

    @property
    def is_lone(self) -> bool:
        """Exactly ``*``: means "exists" as a value, "every field" as a field name."""
        return self.parts == ("", "")

    @property
    def text(self) -> str:
        return "*".join(self.parts)

    def render(self) -> str:
        return _render_unquoted(list(self.parts))


Value = Literal | Wildcard


# --------------------------------------------------------------------------- queries


class Node:
    """Base of every query node."""

    span: Span | None

    def render(self) -> str:  # pragma: no cover - every subclass overrides
        raise NotImplementedError

    def children(self) -> tuple[Node, ...]:
        return ()

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class Or(Node):
    items: tuple[Node, ...]
    span: Span | None = _span()

    def children(self) -> tuple[Node, ...]:
        return self.items

    def render(self) -> str:
        return " or ".join(_wrap(c, c.__class__ is Or) for c in self.items)


@dataclass(frozen=True)
class And(Node):
    items: tuple[Node, ...]
    span: Span | None = _span()

    def children(self) -> tuple[Node, ...]:
        return self.items

    def render(self) -> str:
        return " and ".join(_wrap(c, c.__class__ in (Or, And)) for c in self.items)


@dataclass(frozen=True)
class Not(Node):
    item: Node
    span: Span | None = _span()

    def children(self) -> tuple[Node, ...]:
        return (self.item,)

    def render(self) -> str:
        return "not " + _wrap(self.item, self.item.__class__ in (Or, And, Not))


@dataclass(frozen=True)
class Is(Node):
    """``field: value`` (Kibana's ``is`` function)."""

    field: Value
    value: Value
    span: Span | None = _span()

    def render(self) -> str:
        return f"{self.field.render()}:{self.value.render()}"


FieldValue = Is

RANGE_SYMBOLS = {"lt": "<", "lte": "<=", "gt": ">", "gte": ">="}


@dataclass(frozen=True)
class Range(Node):
    """``field < value`` and friends; ``op`` is one of lt, lte, gt, gte."""

    field: Value
    op: str
    value: Value
    span: Span | None = _span()

    def __post_init__(self) -> None:
        if self.op not in RANGE_SYMBOLS:
            raise ValueError(f"unknown range operator {self.op!r}")

    def render(self) -> str:
        return f"{self.field.render()} {RANGE_SYMBOLS[self.op]} {self.value.render()}"


@dataclass(frozen=True)
class Exists(Node):
    """``field:*``."""

    field: Value
    span: Span | None = _span()

    def render(self) -> str:
        return f"{self.field.render()}:*"


@dataclass(frozen=True)
class Nested(Node):
    """``path:{ query }``: the inner query runs once per nested object, names relative to path."""

    path: Value
    query: Node
    span: Span | None = _span()

    def children(self) -> tuple[Node, ...]:
        return (self.query,)

    def render(self) -> str:
        return f"{self.path.render()}:{{ {self.query.render()} }}"


@dataclass(frozen=True)
class FreeText(Node):
    """A value with no field: searched in every field."""

    value: Value
    span: Span | None = _span()

    def render(self) -> str:
        return self.value.render()


@dataclass(frozen=True)
class MatchAll(Node):
    """The empty query and ``*:*``."""

    span: Span | None = _span()

    def render(self) -> str:
        return "*:*"


LEAF_TYPES = (Is, Range, Exists, FreeText, MatchAll)


def walk(node: Node) -> Iterator[Node]:
    """Every node, depth first, parents before children."""
    yield node
    for child in node.children():
        yield from walk(child)


def render(node: Node) -> str:
    return node.render()


# --------------------------------------------------------------------------- rendering helpers


def _wrap(node: Node, needs_parens: bool) -> str:
    text = node.render()
    return f"({text})" if needs_parens else text


def _render_quoted(text: str) -> str:
    out = []
    for ch in text:
        if ch in '\\"':
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _render_unquoted(parts: list[str]) -> str:
    # Escape keywords on the joined text so that a keyword spanning a '*' is still seen.
    return "*".join(_escape_unquoted(p) for p in parts)


def _escape_unquoted(text: str) -> str:
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        low3 = text[i : i + 3].lower()
        after3 = text[i + 3 : i + 4]
        # "not" followed by whitespace (or by whatever follows the literal) ends a literal.
        if low3 == "not" and (after3 == "" or after3 in SPACE_CHARS):
            # "\not" would read as newline + "ot", so escape a lower-case n with \u006e.
            out.append("\\u006e" + text[i + 1 : i + 3] if ch == "n" else "\\" + text[i : i + 3])
            i += 3
            continue
        prev_space = i > 0 and text[i - 1] in SPACE_CHARS
        if prev_space:
            for kw in ("or", "and"):
                end = i + len(kw)
                if text[i:end].lower() == kw and (end == n or text[end] in SPACE_CHARS):
                    out.append("\\" + text[i:end])
                    i = end
                    break
            else:
                kw = ""
            if kw:
                continue
        if ch in SPECIAL_CHARS:
            out.append("\\" + ch)
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\n":
            out.append("\\n")
        else:
            out.append(ch)
        i += 1
    return "".join(out)
