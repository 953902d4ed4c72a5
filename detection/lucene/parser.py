"""A parser for Lucene's classic query syntax as Elasticsearch's ``query_string`` reads it.

Kibana sends a rule's ``language: lucene`` query as ``query_string`` with the default operator
OR, ``analyze_wildcard: true`` and no default field (so a bare term searches every field).
What the parser follows (Lucene classic QueryParser, Elasticsearch query_string reference):

* Operators are upper case only: ``AND``/``&&``, ``OR``/``||``, ``NOT``/``!``; ``+`` requires
  and ``-`` prohibits the next clause. Lower-case ``and`` is a term like any other.
* There is no precedence: each clause gets MUST, SHOULD or MUST_NOT as it is read. ``AND``
  makes the clause before it and the one after it MUST; with the default operator OR, a clause
  with no operator (or after ``OR``) is SHOULD. So ``a AND b OR c`` is ``+a +b c``: c only
  scores. Use parentheses to mean (a AND b) OR c.
* ``field:value``, ``field:"a phrase"``, ``field:(a OR b)`` (the field applies inside),
  ``field:[a TO b]`` / ``{a TO b}`` / mixed brackets with ``*`` for an open end,
  ``field:>10`` / ``>=`` / ``<`` / ``<=``, ``_exists_:field``, ``field:/regex/``, wildcards
  ``*`` and ``?``, and ``\\`` escaping any character. ``^boost`` is accepted and ignored.
* ``field:*`` is an exists query; ``*`` and ``*:*`` match everything; ``*:value`` and a value
  with no field search every field.
* Fuzzy terms (``term~``) and phrase proximity (``"a b"~2``) parse but are not evaluated: they
  raise a "not supported" error at their position.
"""

from __future__ import annotations

import re

from detection.kql.ast import Exists, FreeText, Is, Literal, MatchAll, Node, Range, Value, Wildcard
from detection.lucene.ast import MUST, MUST_NOT, SHOULD, BoolQuery, Clause, Pattern
from detection.lucene.errors import UNSUPPORTED, LuceneError
from detection.lucene.regex import translate_regex

_SPACE = " \t\n\r\u3000"
# Characters that end an unescaped term (besides whitespace).
_TERM_END = set(_SPACE) | set('()[]{}:^~"/')
_STAR, _ONE = object(), object()  # unescaped * and ? inside a term
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CONJ_AND, _CONJ_OR, _CONJ_NONE = "AND", "OR", None
_MOD_REQ, _MOD_NOT, _MOD_NONE = "+", "-", None
_COMPARE = (("<=", "lte"), (">=", "gte"), ("<", "lt"), (">", "gt"))


def parse(text: str) -> Node:
    """Parse query_string text; raises :class:`LuceneError` with the position of the problem."""
    if not text.strip():
        return MatchAll(span=(0, len(text)))
    parser = _Parser(text)
    node = parser.query(None, top=True)
    parser.skip_space()
    if parser.pos < len(text):
        raise parser.error(f"unexpected {text[parser.pos]!r}", "a ')' without a matching '(' - escape it as \\)")
    return node


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    # ------------------------------------------------------------------ helpers
    def error(self, message: str, hint: str | None = None, at: int | None = None, code: str = "LUC001") -> LuceneError:
        return LuceneError(message, self.text, self.pos if at is None else at, hint, code)

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in _SPACE:
            self.pos += 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos:self.pos + n]

    def word(self, word: str) -> bool:
        """Whether the operator ``word`` stands at the cursor as a token of its own."""
        end = self.pos + len(word)
        if self.text[self.pos:end] != word:
            return False
        return end == len(self.text) or self.text[end] in _TERM_END

    # ------------------------------------------------------------------ boolean structure
    def query(self, field: str | None, top: bool = False) -> Node:
        start = self.pos
        clauses: list[Clause] = []
        first: Node | None = None
        count = 0
        while True:
            self.skip_space()
            if self.pos >= len(self.text) or self.peek() == ")":
                break
            conj_at = self.pos
            conj = self.conjunction()
            if conj is not _CONJ_NONE and count == 0:
                raise self.error(f"{self.text[conj_at:self.pos].strip()} needs a clause before it", at=conj_at,
                                 hint="remove the operator, or put a term before it")
            self.skip_space()
            mods = self.modifier()
            self.skip_space()
            if self.pos >= len(self.text) or self.peek() == ")":
                what = "an operator" if conj or mods else "a clause"
                raise self.error(f"the query ends after {what}", "add the clause the operator applies to")
            node = self.clause(field)
            if count == 0 and conj is _CONJ_NONE and mods is _MOD_NONE:
                first = node
            _add_clause(clauses, conj, mods, node)
            count += 1
        if count == 0:
            raise self.error("empty group: '(' must hold at least one clause", "remove the parentheses")
        if count == 1 and first is not None:
            return first
        return BoolQuery(tuple(clauses), span=(start, self.pos))

    def conjunction(self) -> str | None:
        for word, conj in (("AND", _CONJ_AND), ("&&", _CONJ_AND), ("OR", _CONJ_OR), ("||", _CONJ_OR)):
            if (word.isalpha() and self.word(word)) or (not word.isalpha() and self.peek(2) == word):
                self.pos += len(word)
                return conj
        return _CONJ_NONE

    def modifier(self) -> str | None:
        ch = self.peek()
        if ch == "+":
            self.pos += 1
            return _MOD_REQ
        if ch in "-!" and ch:
            self.pos += 1
            return _MOD_NOT
        if self.word("NOT"):
            self.pos += 3
            return _MOD_NOT
        return _MOD_NONE

    # ------------------------------------------------------------------ clauses
    def clause(self, field: str | None) -> Node:
        start = self.pos
        if self.peek() == "(":
            return self.group(field)
        field_name, field_span = None, None
        if self.peek() != '"' and self.peek() not in "[{/":
            save = self.pos
            pieces = self.term_pieces()
            after = self.pos
            self.skip_space()
            if self.peek() == ":" and pieces:
                self.pos += 1
                field_name, field_span = _field_text(pieces), (save, after)
                self.skip_space()
            else:
                self.pos = save
        if field_name is not None:
            if self.pos >= len(self.text) or self.text[self.pos] in _SPACE or self.peek() == ")":
                raise self.error(f"no value after '{field_name}:'", "write field:value; quote values with spaces")
            if field_name == "_exists_":
                return self.exists(start)
            if self.peek() == "(":
                return self.group(field_name if field_name != "*" else None, field_span)
            return self.value((field_name, field_span), start)
        return self.value((field, None) if field is not None else (None, None), start)

    def group(self, field: str | None, field_span: tuple[int, int] | None = None) -> Node:
        open_at = self.pos
        self.pos += 1
        node = self.query(field)
        self.skip_space()
        if self.peek() != ")":
            raise self.error("missing ')'", at=open_at, hint="close the group opened here")
        self.pos += 1
        self.boost()
        return node

    def exists(self, start: int) -> Node:
        at = self.pos
        pieces = self.term_pieces()
        if not pieces:
            raise self.error("_exists_ needs a field name", "write _exists_:field.name")
        self.boost()
        return Exists(_field_value(_field_text(pieces), (at, self.pos)), span=(start, self.pos))

    def value(self, field: tuple[str | None, tuple[int, int] | None], start: int) -> Node:
        name, field_span = field
        ch = self.peek()
        if ch == '"':
            return self.phrase(name, field_span, start)
        if ch in "[{":
            return self.range(name, field_span, start)
        if ch == "/":
            return self.regexp(name, field_span, start)
        at = self.pos
        pieces = self.term_pieces()
        if not pieces:
            raise self.error(f"unexpected {ch!r}", "escape special characters with a backslash")
        end = self.pos
        if self.peek() == "~":
            raise self.error("fuzzy terms (term~) are not supported by this engine", at=self.pos, code=UNSUPPORTED,
                             hint="spell out the values you mean: field:(a OR b)")
        self.boost()
        return _term(name, field_span, pieces, (at, end), (start, end), self.text)

    def term_pieces(self) -> list:
        """Characters of a term up to its end; unescaped * and ? become markers."""
        pieces: list = []
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\":
                if self.pos + 1 >= len(text):
                    raise self.error("the query ends with a lone backslash", "escape it as \\\\")
                pieces.append(text[self.pos + 1])
                self.pos += 2
                continue
            if ch in _TERM_END:
                break
            if not pieces and ch in "+-!":
                break
            pieces.append(_STAR if ch == "*" else _ONE if ch == "?" else ch)
            self.pos += 1
        return pieces

    def phrase(self, field: str | None, field_span: tuple[int, int] | None, start: int) -> Node:
        open_at = self.pos
        text, self.pos = _quoted(self.text, self.pos, self.error)
        end = self.pos
        if self.peek() == "~":
            self.pos += 1
            m = _NUMBER.match(self.text, self.pos)
            slop = m.group() if m else "0"
            self.pos = m.end() if m else self.pos
            if float(slop) != 0:
                raise self.error("phrase proximity (\"...\"~N) is not supported by this engine", at=end,
                                 code=UNSUPPORTED, hint="match the exact phrase, or combine terms with AND")
        self.boost()
        value = Literal(text, quoted=True, span=(open_at, end))
        if field is None or field == "*":
            return FreeText(value, span=(start, end))
        return Is(_field_value(field, field_span), value, span=(start, end))

    def range(self, field: str | None, field_span: tuple[int, int] | None, start: int) -> Node:
        open_at = self.pos
        inclusive_low = self.text[self.pos] == "["
        self.pos += 1
        self.skip_space()
        low, low_at = self.range_bound()
        self.skip_space()
        if not self.word("TO"):
            raise self.error("a range needs TO between its bounds", "write field:[low TO high]")
        self.pos += 2
        self.skip_space()
        high, high_at = self.range_bound()
        self.skip_space()
        close = self.peek()
        if close not in ("]", "}") or not close:
            raise self.error("unterminated range: a range ends with ] (inclusive) or } (exclusive)",
                             at=self.pos if close else open_at, hint="write field:[low TO high]")
        inclusive_high = close == "]"
        self.pos += 1
        end = self.pos
        self.boost()
        if field is None or field == "*":
            raise self.error("a range needs a field", at=open_at, hint="write field:[low TO high]")
        fvalue = _field_value(field, field_span)
        span = (start, end)
        if low is None and high is None:
            return Exists(fvalue, span=span)
        parts: list[Node] = []
        if low is not None:
            parts.append(Range(fvalue, "gte" if inclusive_low else "gt", Literal(low, span=(low_at, low_at + 1)), span=span))
        if high is not None:
            parts.append(Range(fvalue, "lte" if inclusive_high else "lt", Literal(high, span=(high_at, high_at + 1)), span=span))
        if len(parts) == 1:
            return parts[0]
        return BoolQuery(tuple(Clause(MUST, p) for p in parts), span=span)

    def range_bound(self) -> tuple[str | None, int]:
        at = self.pos
        if self.peek() == '"':
            text, self.pos = _quoted(self.text, self.pos, self.error)
            return text, at
        chars = []
        while self.pos < len(self.text) and self.text[self.pos] not in _SPACE and self.text[self.pos] not in "]}":
            chars.append(self.text[self.pos])
            self.pos += 1
        if not chars:
            raise self.error("a range bound is missing", "write field:[low TO high]; * leaves an end open")
        bound = "".join(chars)
        return (None if bound == "*" else bound), at

    def regexp(self, field: str | None, field_span: tuple[int, int] | None, start: int) -> Node:
        open_at = self.pos
        self.pos += 1
        chars = []
        while True:
            if self.pos >= len(self.text):
                raise self.error("unterminated regular expression", at=open_at,
                                 hint="close it with '/', or escape a '/' that is part of a value as \\/")
            ch = self.text[self.pos]
            if ch == "\\" and self.peek(2) == "\\/":
                chars.append("/")
                self.pos += 2
                continue
            if ch == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos:self.pos + 2])
                self.pos += 2
                continue
            if ch == "/":
                break
            chars.append(ch)
            self.pos += 1
        self.pos += 1
        end = self.pos
        self.boost()
        source = "".join(chars)
        regex = translate_regex(source, self.text, open_at + 1)
        fvalue = _field_value(field, field_span) if field not in (None, "*") else None
        return Pattern(fvalue, regex, source, "regexp", span=(start, end))

    def boost(self) -> None:
        if self.peek() == "^":
            self.pos += 1
            m = _NUMBER.match(self.text, self.pos)
            if not m:
                raise self.error("'^' needs a number (a boost)", "escape a literal caret as \\^")
            self.pos = m.end()


def _add_clause(clauses: list[Clause], conj: str | None, mods: str | None, node: Node) -> None:
    """The classic parser's rule (default operator OR): AND makes the previous clause and this
    one MUST unless prohibited; + makes this one MUST, -/NOT/! MUST_NOT, otherwise SHOULD."""
    if clauses and conj == _CONJ_AND and clauses[-1].occur != MUST_NOT:
        clauses[-1] = Clause(MUST, clauses[-1].query)
    prohibited = mods == _MOD_NOT
    required = mods == _MOD_REQ or (conj == _CONJ_AND and not prohibited)
    occur = MUST_NOT if prohibited else MUST if required else SHOULD
    clauses.append(Clause(occur, node))


def _quoted(text: str, pos: int, error) -> tuple[str, int]:
    """The unescaped contents of a double-quoted string starting at ``pos`` and the end offset."""
    chars = []
    i = pos + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(chars), i + 1
        chars.append(ch)
        i += 1
    raise error("unterminated quoted phrase", "close the phrase with '\"', or escape a quote in it as \\\"", at=pos)


def _field_text(pieces: list) -> str:
    return "".join("*" if p is _STAR else "?" if p is _ONE else p for p in pieces)


def _field_value(name: str, span: tuple[int, int] | None) -> Value:
    """A field name; ``*`` in it makes a field pattern (``event.*``)."""
    if "*" in name:
        return Wildcard(tuple(name.split("*")), span=span)
    return Literal(name, span=span)


def _split_stars(pieces: list) -> list[str]:
    parts, current = [], []
    for p in pieces:
        if p is _STAR:
            parts.append("".join(current))
            current = []
        else:
            current.append("?" if p is _ONE else p)
    parts.append("".join(current))
    return parts


def _term(field: str | None, field_span: tuple[int, int] | None, pieces: list, value_span: tuple[int, int],
          span: tuple[int, int], text: str) -> Node:
    everywhere = field is None or field == "*"
    stars = sum(1 for p in pieces if p is _STAR)
    if stars == len(pieces):  # "*" (or "**"): exists / match all
        if everywhere:
            return MatchAll(span=span)
        return Exists(_field_value(field, field_span), span=span)
    if any(p is _ONE for p in pieces):
        fvalue = None if everywhere else _field_value(field, field_span)
        regex = "".join(".*" if p is _STAR else "." if p is _ONE else re.escape(p) for p in pieces)
        return Pattern(fvalue, regex, text[value_span[0]:value_span[1]], "wildcard", span=span)
    if not stars and not everywhere:
        plain = "".join(pieces)
        for symbol, op in _COMPARE:
            # Elasticsearch's own one-sided ranges: field:>10, field:<=2024-01-01
            if plain.startswith(symbol) and len(plain) > len(symbol):
                bound = Literal(plain[len(symbol):], span=(value_span[0] + len(symbol), value_span[1]))
                return Range(_field_value(field, field_span), op, bound, span=span)
    if stars:
        value: Value = Wildcard(tuple(_split_stars(pieces)), span=value_span)
    else:
        value = Literal("".join(pieces), span=value_span)
    if everywhere:
        return FreeText(value, span=span)
    return Is(_field_value(field, field_span), value, span=span)
