"""Recursive-descent KQL parser that follows Kibana's PEG grammar rule for rule.

Each method below is one grammar rule and backtracks the way a PEG does (ordered choice,
greedy repetition). Failures are recorded the way peggy records them, so error messages name
what was expected at the furthest position reached ("Expected "(", value, whitespace but end of
input found"). Named rules (value, fieldName, literal, OR, AND, NOT, whitespace) report their
name rather than their insides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from detection.kql.ast import (
    SPACE_CHARS,
    SPECIAL_CHARS,
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
)
from detection.kql.errors import KqlError

# JavaScript's String.prototype.trim() set, which Kibana applies to unquoted literals.
_JS_TRIM = (
    "\t\n\x0b\x0c\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_HEX = "0123456789abcdefABCDEF"
_STAR = object()  # an unescaped '*' inside an unquoted literal
_RANGE_OPS = (("<=", "lte"), (">=", "gte"), ("<", "lt"), (">", "gt"))

# A value list (``f:(a or b)``) is parsed before its field is applied, as in the grammar.
Partial = Callable[[Value], Node]
T = TypeVar("T")  # a query node, or a value list's partial node


class _Parser:
    def __init__(self, text: str):
        self.s = text
        self.n = len(text)
        self.pos = 0
        self.fail_pos = 0
        self.expected: set[str] = set()
        self.silent = 0
        self.literal_memo: dict[int, tuple[Value | None, int]] = {}
        self.or_memo: dict[int, tuple[Node | None, int]] = {}

    # ----------------------------------------------------------------- failure bookkeeping
    def expect(self, label: str, at: int | None = None) -> None:
        if self.silent:
            return
        at = self.pos if at is None else at
        if at > self.fail_pos:
            self.fail_pos, self.expected = at, {label}
        elif at == self.fail_pos:
            self.expected.add(label)

    def char(self, ch: str) -> bool:
        if self.s.startswith(ch, self.pos):
            self.pos += len(ch)
            return True
        self.expect(f'"{ch}"')
        return False

    def space(self) -> bool:
        if self.pos < self.n and self.s[self.pos] in SPACE_CHARS:
            self.pos += 1
            return True
        self.expect("whitespace")
        return False

    def spaces(self) -> None:
        while self.space():
            pass

    def keyword(self, word: str, label: str, before: bool) -> bool:
        """Or / And (whitespace on both sides) and Not (whitespace after)."""
        start = self.pos
        self.silent += 1
        ok = True
        if before:
            ok = self.space()
            while ok and self.space():
                pass
        if ok:
            ok = self.s[self.pos : self.pos + len(word)].lower() == word
            if ok:
                self.pos += len(word)
                ok = self.space()
                while ok and self.space():
                    pass
        self.silent -= 1
        if not ok:
            self.pos = start
            self.expect(label)
        return ok

    # ----------------------------------------------------------------- query rules
    def start(self) -> Node:
        self.spaces()
        after_space = self.pos
        query = self.or_query()
        if query is None:
            self.pos = after_space
        self.spaces()
        if self.pos < self.n:
            self.expect("end of input")
            raise self.error()
        return query if query is not None else MatchAll(span=(0, self.n))

    def or_query(self) -> Node | None:
        start = self.pos
        if start in self.or_memo:
            node, self.pos = self.or_memo[start]
            return node
        node = self._chain(self.and_query, "or", "OR", Or)
        self.or_memo[start] = (node, self.pos)
        return node

    def and_query(self) -> Node | None:
        return self._chain(self.not_query, "and", "AND", And)

    def _chain(self, item: Callable[[], Node | None], word: str, label: str, cls: type) -> Node | None:
        chain = self._items(item, word, label)
        if chain is None:
            return None
        items, start = chain
        return items[0] if len(items) == 1 else cls(tuple(items), span=(start, self.pos))

    def _items(self, item: Callable[[], T | None], word: str, label: str) -> tuple[list[T], int] | None:
        """``item (word item)*``, both for queries and value lists: the items read and where the
        first starts. A keyword with no item after it is left unread (the caller reports it)."""
        start = self.pos
        head = item()
        if head is None:
            return None
        items = [head]
        while True:
            mark = self.pos
            if not self.keyword(word, label, before=True):
                break
            nxt = item()
            if nxt is None:
                self.pos = mark
                break
            items.append(nxt)
        return items, start

    def not_query(self) -> Node | None:
        start = self.pos
        if self.keyword("not", "NOT", before=False):
            sub = self.sub_query()
            if sub is not None:
                return Not(sub, span=(start, self.pos))
            self.pos = start
        return self.sub_query()

    def sub_query(self) -> Node | None:
        start = self.pos
        if self.char("("):
            self.spaces()
            query = self.or_query()
            if query is not None:
                self.spaces()
                if self.char(")"):
                    return query
            self.pos = start
        return self.nested_query()

    def nested_query(self) -> Node | None:
        start = self.pos
        path = self.field()
        if path is not None:
            self.spaces()
            if self.char(":"):
                self.spaces()
                if self.char("{"):
                    self.spaces()
                    query = self.or_query()
                    if query is not None:
                        self.spaces()
                        if self.char("}"):
                            return Nested(path, query, span=(start, self.pos))
        self.pos = start
        return self.expression()

    def expression(self) -> Node | None:
        start = self.pos
        node = self.field_range()
        if node is not None:
            return node
        self.pos = start
        node = self.field_value()
        if node is not None:
            return node
        self.pos = start
        partial = self.value()
        if partial is None:
            self.pos = start
            return None
        return partial(None)  # type: ignore[arg-type]

    def field_range(self) -> Node | None:
        start = self.pos
        field = self.field()
        if field is None:
            return None
        self.spaces()
        op = None
        for symbol, name in _RANGE_OPS:
            if self.char(symbol):
                op = name
                break
        if op is None:
            return None
        self.spaces()
        value = self.named("literal", self.literal)
        if value is None:
            return None
        return Range(field, op, value, span=(start, self.pos))

    def field_value(self) -> Node | None:
        field = self.field()
        if field is None:
            return None
        self.spaces()
        if not self.char(":"):
            return None
        self.spaces()
        partial = self.list_of_values()
        if partial is None:
            return None
        return partial(field)

    # ----------------------------------------------------------------- value lists
    def list_of_values(self) -> Partial | None:
        start = self.pos
        if self.char("("):
            self.spaces()
            partial = self.or_list()
            if partial is not None:
                self.spaces()
                if self.char(")"):
                    return partial
            self.pos = start
        return self.value()

    def or_list(self) -> Partial | None:
        return self._list_chain(self.and_list, "or", "OR", Or)

    def and_list(self) -> Partial | None:
        return self._list_chain(self.not_list, "and", "AND", And)

    def _list_chain(self, item: Callable[[], Partial | None], word: str, label: str, cls: type) -> Partial | None:
        chain = self._items(item, word, label)
        if chain is None:
            return None
        parts, start = chain
        if len(parts) == 1:
            return parts[0]
        span = (start, self.pos)
        return lambda field: cls(tuple(p(field) for p in parts), span=span)

    def not_list(self) -> Partial | None:
        start = self.pos
        if self.keyword("not", "NOT", before=False):
            inner = self.list_of_values()
            if inner is not None:
                span = (start, self.pos)
                return lambda field: Not(inner(field), span=span)
            self.pos = start
        return self.list_of_values()

    def value(self) -> Partial | None:
        value = self.named("value", self.literal)
        if value is None:
            return None
        return lambda field: _field_value_node(field, value)

    # ----------------------------------------------------------------- literals
    def named(self, label: str, rule: Callable[[], Value | None]) -> Value | None:
        start = self.pos
        self.silent += 1
        result = rule()
        self.silent -= 1
        if result is None:
            self.pos = start
            self.expect(label)
        return result

    def field(self) -> Value | None:
        return self.named("fieldName", self.literal)

    def literal(self) -> Value | None:
        start = self.pos
        if start in self.literal_memo:
            value, self.pos = self.literal_memo[start]
            return value
        value = self.quoted_string()
        if value is None:
            self.pos = start
            value = self.unquoted_literal()
        if value is None:
            self.pos = start
        self.literal_memo[start] = (value, self.pos)
        return value

    def quoted_string(self) -> Literal | None:
        start = self.pos
        s, n = self.s, self.n
        if not self.char('"'):
            return None
        out: list[str] = []
        i = self.pos
        while i < n:
            ch = s[i]
            if ch == "\\" and i + 1 < n:
                nxt = s[i + 1]
                if nxt in "trn":
                    out.append({"t": "\t", "r": "\r", "n": "\n"}[nxt])
                    i += 2
                    continue
                if nxt == "u" and _is_hex4(s, i + 2):
                    out.append(chr(int(s[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                if nxt in '\\"':
                    out.append(nxt)
                    i += 2
                    continue
            if ch == '"':
                self.pos = i + 1
                return Literal("".join(out), quoted=True, span=(start, self.pos))
            out.append(ch)  # any other backslash is an ordinary character inside quotes
            i += 1
        self.pos = n
        self.expect('"\\""')
        return None

    def unquoted_literal(self) -> Value | None:
        start = self.pos
        s, n = self.s, self.n
        pieces: list[object] = []
        i = start
        while i < n:
            ch = s[i]
            if ch == "\\":
                nxt = s[i + 1 : i + 2]
                if nxt and nxt in "trn":
                    pieces.append({"t": "\t", "r": "\r", "n": "\n"}[nxt])
                    i += 2
                    continue
                if nxt and nxt in SPECIAL_CHARS:
                    pieces.append(nxt)
                    i += 2
                    continue
                if nxt == "u" and _is_hex4(s, i + 2):
                    pieces.append(chr(int(s[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                matched = False
                for word in ("or", "and", "not"):
                    end = i + 1 + len(word)
                    if s[i + 1 : end].lower() == word:
                        pieces.append(s[i + 1 : end])  # escaped keywords keep their case
                        i = end
                        matched = True
                        break
                if matched:
                    continue
                break  # a lone backslash cannot start any character
            if ch == "*":
                pieces.append(_STAR)
                i += 1
                continue
            if ch in SPECIAL_CHARS or _keyword_at(s, i):
                break
            pieces.append(ch)
            i += 1
        if not pieces:
            self.pos = start
            return None
        self.pos = i
        return _build_unquoted(pieces, (start, i))

    def error(self) -> KqlError:
        found = "end of input" if self.fail_pos >= self.n else _describe(self.s[self.fail_pos])
        return KqlError(f"Expected {_describe_expected(self.expected)} but {found} found", self.s, self.fail_pos)


def _keyword_at(s: str, i: int) -> bool:
    """The grammar's ``Keyword`` lookahead: ' or ', ' and ' (single spaces) or 'not '."""
    ch = s[i]
    if ch in SPACE_CHARS:
        for word in ("or", "and"):
            end = i + 1 + len(word)
            if s[i + 1 : end].lower() == word and end < len(s) and s[end] in SPACE_CHARS:
                return True
        return False
    return s[i : i + 3].lower() == "not" and i + 3 < len(s) and s[i + 3] in SPACE_CHARS


def _is_hex4(s: str, i: int) -> bool:
    return len(s) >= i + 4 and all(c in _HEX for c in s[i : i + 4])


def _build_unquoted(pieces: list[object], span: tuple[int, int]) -> Value:
    # Kibana joins the characters, trims the result (escapes included), then classifies it.
    parts: list[str] = [""]
    for piece in pieces:
        if piece is _STAR:
            parts.append("")
        else:
            parts[-1] += piece  # type: ignore[operator]
    parts[0] = parts[0].lstrip(_JS_TRIM)
    parts[-1] = parts[-1].rstrip(_JS_TRIM)
    if len(parts) == 1:
        text = parts[0]
        if text == "null":
            return Literal(None, span=span)
        if text == "true":
            return Literal(True, span=span)
        if text == "false":
            return Literal(False, span=span)
        return Literal(text, span=span)
    # When the whole text is whitespace around stars, trimming can empty several parts.
    return Wildcard(tuple(parts), span=span)


def _field_value_node(field: Value | None, value: Value) -> Node:
    start = field.span[0] if field is not None and field.span else (value.span[0] if value.span else 0)
    span = (start, value.span[1] if value.span else start)
    if field is None or (isinstance(field, Literal) and field.value is None):
        # No field, or the field `null`: Kibana sends a full-text query.
        return FreeText(value, span=span)
    if isinstance(value, Wildcard) and value.is_lone:
        if isinstance(field, Wildcard) and field.is_lone:
            return MatchAll(span=span)
        return Exists(field, span=span)
    return Is(field, value, span=span)


def _describe(ch: str) -> str:
    escapes = {"\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}
    return '"' + escapes.get(ch, ch) + '"'


def _describe_expected(expected: set[str]) -> str:
    items = sorted(expected)
    if not items:
        return "a query"
    if len(items) == 1:
        return items[0]
    if len(items) == 2:
        return f"{items[0]} or {items[1]}"
    return ", ".join(items[:-1]) + ", or " + items[-1]


def parse(text: str) -> Node:
    """Parse a KQL query; raise :class:`KqlError` with the position of the first problem."""
    if not isinstance(text, str):
        raise KqlError(f"a KQL query is text, not {type(text).__name__}")
    parser = _Parser(text)
    try:
        return parser.start()
    except RecursionError:
        raise KqlError("query nests too deeply to parse", text, 0) from None
