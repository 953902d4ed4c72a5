"""ES|QL tokens, read on demand.

ES|QL's lexer changes mode with the command: index patterns after ``FROM`` and column name
patterns after ``KEEP``/``DROP``/``RENAME`` are read by dedicated scanners, everything else by
the expression scanner. The parser asks for the kind of token it expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from detection.esql.errors import EsqlError

_OPERATORS = (
    "==",
    "=~",
    "!=",
    "<=",
    ">=",
    "::",
    "<",
    ">",
    "=",
    ":",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ".",
    "|",
    "?",
)
_IDENT = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_]+")
_NUMBER = re.compile(
    r"(?P<dec>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)|(?P<int>\d+)"
)
_SOURCE_STOP = frozenset(' \t\r\n,|"`()')
_PATTERN_CHAR = re.compile(r"[A-Za-z0-9_@.*]")
_PARAM = re.compile(r"\?\??(?:[A-Za-z_][A-Za-z0-9_]*|\d+)?")


@dataclass(frozen=True)
class Token:
    """``kind``: ident, qident, string, triple, int, decimal, op, param or eof."""

    kind: str
    text: str
    value: object
    pos: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.text in ops


class Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self._peeked: Token | None = None

    # ----------------------------------------------------------------- shared helpers

    def error(self, message: str, offset: int, hint: str | None = None) -> EsqlError:
        return EsqlError(message, self.text, offset, hint)

    def skip_space(self) -> None:
        """Skip whitespace and comments (``//`` to end of line, nestable ``/* */``)."""
        text, i = self.text, self.pos
        while i < len(text):
            c = text[i]
            if c in " \t\r\n":
                i += 1
            elif text.startswith("//", i):
                j = text.find("\n", i)
                i = len(text) if j < 0 else j + 1
            elif text.startswith("/*", i):
                depth, j = 1, i + 2
                while depth and j < len(text):
                    if text.startswith("/*", j):
                        depth, j = depth + 1, j + 2
                    elif text.startswith("*/", j):
                        depth, j = depth - 1, j + 2
                    else:
                        j += 1
                if depth:
                    raise self.error("unterminated comment", i, "close the block comment with */")
                i = j
            else:
                break
        self.pos = i

    # ----------------------------------------------------------------- expression tokens

    def peek(self) -> Token:
        if self._peeked is None:
            self._peeked = self._scan()
        return self._peeked

    def next(self) -> Token:
        token = self.peek()
        self._peeked = None
        self.pos = token.end
        return token

    def peek_after(self) -> Token:
        """The token after the next one (no state change)."""
        saved_pos, saved_peek = self.pos, self._peeked
        self.next()
        token = self.peek()
        self.pos, self._peeked = saved_pos, saved_peek
        return token

    def _reset(self) -> None:
        if self._peeked is not None:
            self.pos = self._peeked.pos
            self._peeked = None

    def _scan(self) -> Token:
        self.skip_space()
        text, i = self.text, self.pos
        if i >= len(text):
            return Token("eof", "", None, i, i)
        c = text[i]
        if c == '"':
            return self._string(i)
        if c == "`":
            return self._quoted_ident(i)
        if c.isdigit() or (c == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            m = _NUMBER.match(text, i)
            if m:
                kind = "decimal" if m["dec"] else "int"
                return Token(kind, m.group(), m.group(), i, m.end())
        if c.isascii() and (c.isalpha() or c in "_@"):
            m = _IDENT.match(text, i)
            if m:
                return Token("ident", m.group(), m.group(), i, m.end())
            raise self.error(
                f"'{c}' alone is not a valid identifier", i, "quote unusual column names with backticks"
            )
        if c == "?":
            m = _PARAM.match(text, i)
            assert m is not None
            return Token("param", m.group(), m.group(), i, m.end())
        for op in _OPERATORS:
            if text.startswith(op, i):
                return Token("op", op, op, i, i + len(op))
        raise self.error(f"unexpected character '{c}'", i)

    def _string(self, start: int) -> Token:
        text = self.text
        if text.startswith('"""', start):
            close = text.find('"""', start + 3)
            newline = min((p for p in (text.find("\n", start), text.find("\r", start)) if p >= 0), default=-1)
            if close < 0 or (0 <= newline < close):
                raise self.error(
                    "unterminated triple-quoted string",
                    start,
                    'triple-quoted strings end with """ on the same line',
                )
            end = close + 3
            # Up to two more quotes right after the closing ones belong to the value.
            while end < len(text) and text[end] == '"' and end - close < 5:
                end += 1
            value = text[start + 3 : end - 3]
            return Token("triple", text[start:end], value, start, end)
        out, i = [], start + 1
        escapes = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
        while i < len(text):
            c = text[i]
            if c == '"':
                return Token("string", text[start : i + 1], "".join(out), start, i + 1)
            if c in "\r\n":
                break
            if c == "\\":
                nxt = text[i + 1 : i + 2]
                if nxt not in escapes:
                    raise self.error(
                        f"invalid escape sequence '\\{nxt}' in string",
                        i,
                        'use \\\\ for a backslash, or a triple-quoted string """...""" where backslashes are literal',
                    )
                out.append(escapes[nxt])
                i += 2
                continue
            out.append(c)
            i += 1
        raise self.error("unterminated string", start, 'close the string with " on the same line')

    def _quoted_ident(self, start: int) -> Token:
        text, i, out = self.text, start + 1, []
        while i < len(text):
            if text[i] == "`":
                if text.startswith("``", i):
                    out.append("`")
                    i += 2
                    continue
                if not out:
                    raise self.error("empty quoted identifier", start)
                return Token("qident", text[start : i + 1], "".join(out), start, i + 1)
            out.append(text[i])
            i += 1
        raise self.error("unterminated quoted identifier", start, "close it with a backtick `")

    # ----------------------------------------------------------------- mode scanners

    def scan_source(self) -> Token | None:
        """One index pattern after FROM (bare or double-quoted), or None at a delimiter."""
        self._reset()
        self.skip_space()
        text, i = self.text, self.pos
        if i >= len(text):
            return None
        if text[i] == '"':
            token = self._string(i)
            self.pos = token.end
            return Token("source", token.text, token.value, token.pos, token.end)
        j = i
        while j < len(text) and text[j] not in _SOURCE_STOP and not text.startswith(("//", "/*"), j):
            j += 1
        if j == i:
            return None
        self.pos = j
        return Token("source", text[i:j], text[i:j], i, j)

    def scan_pattern(self) -> Token | None:
        """A column name pattern: bare parts, backticked parts and ``*``, with no spaces."""
        self._reset()
        self.skip_space()
        text, i = self.text, self.pos
        j = i
        while j < len(text):
            if text[j] == "`":
                j = self._quoted_ident(j).end
            elif _PATTERN_CHAR.match(text, j):
                j += 1
            else:
                break
        if j == i:
            return None
        self.pos = j
        return Token("pattern", text[i:j], text[i:j], i, j)

    def at_end_of_command(self) -> bool:
        token = self.peek()
        return token.kind == "eof" or token.is_op("|")
